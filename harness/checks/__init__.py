"""Checks: pure functions of observations that return a CheckResult. One module per failure mode."""

from harness.checks.determinism import restart_replay
from harness.checks.static_audit import static_audit

__all__ = ["restart_replay", "static_audit"]
