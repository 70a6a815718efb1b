"""Checks: pure functions of observations that return a CheckResult. One module per failure mode."""

from harness.checks.determinism import restart_replay

__all__ = ["restart_replay"]
