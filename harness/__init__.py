"""Production-readiness harness for Temporal workflows."""

__version__ = "0.1.0"
