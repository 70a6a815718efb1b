"""Checks: pure functions of observations that return a CheckResult. One module per failure mode."""

from harness.checks import determinism, latency, retry
from harness.checks.determinism import restart_replay
from harness.checks.latency import schedule_to_start
from harness.checks.retry import non_retryable, retry_outage, retry_policy
from harness.checks.static_audit import static_audit

__all__ = [
    "determinism", "latency", "retry", "restart_replay", "schedule_to_start", "non_retryable", "retry_outage",
    "retry_policy", "static_audit",
]
