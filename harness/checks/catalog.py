"""The checks no scenario kind owns, in scorecard order: the static audit before the scenarios' checks, the checks of
every history and the alert checks after them, and the checks of `readiness watch`. Each scenario kind declares its
own (harness.scenarios.kind); harness.scenarios.registry puts the two together into every check id a run can produce."""

from harness.checks import alert_firing, alert_rules, idempotency, policies, static_audit, watch

BEFORE_SCENARIOS = (static_audit.CHECK_ID,)
FROM_EVERY_HISTORY = (policies.CHECK_ID,)
"""Judged on every history the run collected (and the workflow code), whichever scenario produced it."""
ALERT_CHECKS = (alert_rules.STATIC_ID, alert_firing.CHECK_ID, alert_rules.RUNBOOKS_ID)
"""Written together by the runner's alert step (as ERROR together when it fails)."""
FROM_THE_LEDGER = (idempotency.CHECK_ID,)
"""Judged on every request the `http:` dependencies received during the run (tied to its histories)."""
AFTER_SCENARIOS = (*FROM_EVERY_HISTORY, *FROM_THE_LEDGER, *ALERT_CHECKS)
WATCH = watch.CHECK_IDS
