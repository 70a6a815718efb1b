"""Fault injection: a TCP fault proxy for dependencies and an activity-fault interceptor for Python workers."""
