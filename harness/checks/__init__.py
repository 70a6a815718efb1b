"""Checks: pure functions of observations that return a CheckResult. One module per failure mode."""

from harness.checks import determinism, heartbeat, latency, retry, signals, time_skip
from harness.checks.determinism import restart_replay
from harness.checks.heartbeat import longrun_heartbeat
from harness.checks.latency import schedule_to_start
from harness.checks.retry import non_retryable, retry_outage, retry_policy
from harness.checks.signals import signals_concurrent
from harness.checks.static_audit import static_audit
from harness.checks.time_skip import longrun_time_skip

__all__ = [
    "determinism", "latency", "retry", "restart_replay", "schedule_to_start", "non_retryable", "retry_outage",
    "retry_policy", "static_audit", "heartbeat", "longrun_heartbeat", "signals", "signals_concurrent",
    "time_skip", "longrun_time_skip",
]
