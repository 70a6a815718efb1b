"""The checks no scenario kind owns, in scorecard order: the static audit before the scenarios' checks, the alert
checks after them, and the checks of `readiness watch`. Each scenario kind declares its own (harness.scenarios.kind);
harness.scenarios.registry puts the two together into every check id a run can produce."""

from harness.checks import alert_firing, alert_rules, static_audit, watch

BEFORE_SCENARIOS = (static_audit.CHECK_ID,)
AFTER_SCENARIOS = (alert_rules.STATIC_ID, alert_firing.CHECK_ID, alert_rules.RUNBOOKS_ID)
ALERT_CHECKS = AFTER_SCENARIOS
"""Written together by the runner's alert step (as ERROR together when it fails)."""
WATCH = watch.CHECK_IDS
