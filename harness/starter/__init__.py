"""`readiness init`: read an app's workflow code and write a starter config and scenario files."""
