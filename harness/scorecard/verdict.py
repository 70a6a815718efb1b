"""The verdict rule, in one place.

- NO-GO when any check FAILs and no unexpired waiver covers it: the system showed a production failure mode.
  An expired waiver counts as the failure it covered.
- Otherwise INCONCLUSIVE when any check is ERROR or NO_DATA, or a scenario could not finish: absence of
  evidence is never a pass, and cannot be waived.
- Otherwise GO-WITH-WAIVERS when a FAIL was waived, else GO (WARN and SKIPPED are listed, but do not block).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harness.scorecard.model import CheckResult, ScenarioSummary, Status, Verdict

EXIT_CODES = {Verdict.GO: 0, Verdict.GO_WITH_WAIVERS: 0, Verdict.NO_GO: 1, Verdict.INCONCLUSIVE: 3}


def covers(scopes: Iterable[str | None], subjects: Sequence[str]) -> bool:
    """Waivers with these scopes cover a FAIL about `subjects`: one has no scope (the whole check), or together
    they name every subject (a FAIL that names no subject can only be waived whole)."""
    scopes = set(scopes)
    return None in scopes or (bool(subjects) and set(subjects) <= scopes)


def waived(check: CheckResult) -> bool:
    """A FAIL covered by its unexpired waivers."""
    return check.status == Status.FAIL and covers([w.scope for w in check.waivers if not w.expired], check.subjects)


def _waived_part(checks: Sequence[CheckResult]) -> str:
    """`waived: retry.policy (PAY-123, expires 2026-12-31)`, or '' when nothing was waived."""
    named = [
        f"{c.id} ({'; '.join(f'{w.ticket}, expires {w.expires}' for w in c.waivers if not w.expired)})" for c in checks if waived(c)
    ]
    return f"waived: {', '.join(dict.fromkeys(named))}" if named else ""


def decide(checks: Sequence[CheckResult], scenarios: Sequence[ScenarioSummary]) -> tuple[Verdict, str]:
    unwaived = [c for c in checks if c.status == Status.FAIL and not waived(c)]
    if unwaived:
        plain = [c.id for c in unwaived if not any(w.expired for w in c.waivers)]
        lapsed = [
            f"{c.id}: waiver {w.ticket} expired on {w.expires}" for c in unwaived for w in c.waivers if w.expired
        ]
        return Verdict.NO_GO, "; ".join(([f"failed: {', '.join(plain)}"] if plain else []) + lapsed)
    waived_part = _waived_part(checks)
    broken = [s.name for s in scenarios if s.status != "completed"]
    unknown = [f"{c.id} ({c.status.value})" for c in checks if c.status in (Status.ERROR, Status.NO_DATA)]
    if broken or unknown:
        parts = ([f"scenario not completed: {', '.join(broken)}"] if broken else []) + (
            [f"no verdict from: {', '.join(unknown)}"] if unknown else []
        )
        return Verdict.INCONCLUSIVE, "; ".join(parts + ([waived_part] if waived_part else []))
    if not checks:
        return Verdict.INCONCLUSIVE, "no check ran"
    passed = f"{sum(c.status == Status.PASS for c in checks)} of {len(checks)} checks passed"
    if waived_part:
        return Verdict.GO_WITH_WAIVERS, f"{passed}; {waived_part}"
    return Verdict.GO, passed
