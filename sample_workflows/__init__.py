"""A small, well-built order-processing app used to exercise the harness.

`orders` is the app that should get GO; `flawed/` holds variants that each plant one known
failure mode and should get NO-GO on exactly the check that covers it.
"""
