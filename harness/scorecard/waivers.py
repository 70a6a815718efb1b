"""Applying the team's waivers to a run's checks: pure functions of the checks, the waivers and today's date.

A waiver never changes a status. It is recorded on the FAIL it covers (`CheckResult.waivers`), and the verdict rule
(verdict.py) decides what the recorded waivers are worth: an unexpired one that covers the whole failure turns NO-GO
into GO-WITH-WAIVERS, an expired one counts as the failure it covered. ERROR, NO_DATA and unfinished scenarios cannot
be waived: only a FAIL is a verdict on the app.

Matching: a waiver with the check's id and no scope covers the whole check. Scoped waivers cover a FAIL only
together, when their scopes include every one of the check's `subjects` (the workflow and activity types the
failure concerns); a check that names no subjects can only be waived whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from harness.scorecard.model import CheckResult, Status, WaiverRef
from harness.scorecard.verdict import covers, waived

if TYPE_CHECKING:
    from harness.config.waivers import Waiver

WHOLE_CHECK = "whole check"


def waiver_ref(waiver: Waiver, today: date) -> WaiverRef:
    """The waiver as the scorecard records it, judged on `today`."""
    return WaiverRef(
        check=waiver.check, scope=waiver.scope, reason=waiver.reason, owner=waiver.owner, ticket=waiver.ticket,
        expires=waiver.expires.isoformat(), expired=today >= waiver.expires,
    )


def matching(check: CheckResult, waivers: Sequence[Waiver]) -> list[Waiver]:
    """The waivers that cover `check` (expired ones included: the verdict rule judges them)."""
    if check.status != Status.FAIL:
        return []
    mine = [w for w in waivers if w.check == check.id and (w.scope is None or w.scope in check.subjects)]
    return mine if covers([w.scope for w in mine], check.subjects) else []


def apply_waivers(checks: Sequence[CheckResult], waivers: Sequence[Waiver], today: date) -> list[CheckResult]:
    """The checks with the waivers that cover them recorded; statuses unchanged."""
    return [
        check.model_copy(update={"waivers": [waiver_ref(w, today) for w in found]}) if (found := matching(check, waivers)) else check
        for check in checks
    ]


def unused_waivers(checks: Sequence[CheckResult], waivers: Sequence[Waiver], today: date) -> list[WaiverRef]:
    """Waivers that covered no failure of this run (checks as returned by apply_waivers): stale, or not matching."""
    used = {(w.check, w.scope) for check in checks for w in check.waivers}
    return [waiver_ref(w, today) for w in waivers if (w.check, w.scope) not in used]


def why_unused(waiver: WaiverRef, checks: Sequence[CheckResult]) -> str:
    """One sentence on why a waiver covered nothing, so the team knows whether to remove or fix it."""
    mine = [c for c in checks if c.id == waiver.check]
    if not mine:
        return f"{waiver.check} did not run in this run"
    failed = [c for c in mine if c.status == Status.FAIL]
    if not failed:
        statuses = sorted({c.status.value for c in mine})
        if {"ERROR", "NO_DATA"} & set(statuses):
            return f"{waiver.check} ended {'/'.join(statuses)}: only a FAIL can be waived, a check without a verdict never is"
        return f"{waiver.check} did not fail ({'/'.join(statuses)}): remove the waiver"
    if waiver.scope is None:
        return f"{waiver.check} failed, but the waiver did not apply"
    named = sorted({s for c in failed for s in c.subjects})
    if not named:
        return f"{waiver.check} names no workflow or activity type for its failure: only a waiver without scope covers it"
    if waiver.scope not in named:
        return f"{waiver.check} failed for {', '.join(named)}, not {waiver.scope}"
    return f"covers only part of the failure: {waiver.check} also fails for {', '.join(s for s in named if s != waiver.scope)}"


def waiver_note(check: CheckResult) -> str:
    """How a FAIL stands with its waivers, the same in every format: `WAIVED (PAY-123, expires 2026-12-31)`,
    `WAIVER EXPIRED (PAY-123 expired on 2026-11-01)`, or '' when no waiver covers it."""
    if not check.waivers:
        return ""
    if waived(check):
        return "WAIVED (" + "; ".join(f"{w.ticket}, expires {w.expires}" for w in check.waivers if not w.expired) + ")"
    return "WAIVER EXPIRED (" + "; ".join(f"{w.ticket} expired on {w.expires}" for w in check.waivers if w.expired) + ")"


def recorded_waivers(checks: Sequence[CheckResult]) -> list[WaiverRef]:
    """Every waiver recorded on a check, each once, in check order."""
    return list({(w.check, w.scope): w for check in checks for w in check.waivers}.values())
