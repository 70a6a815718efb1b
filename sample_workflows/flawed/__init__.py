"""Flawed variants of the order app. Each plants exactly one failure mode; see its module docstring."""
