"""Checks: pure functions of observations that return a CheckResult. One module per failure mode.

A scenario kind's checks have one signature, `(observations, spec, config) -> CheckResult`, and are listed by the
kind (harness.scenarios.kind); the checks no kind owns are listed in `catalog`."""
