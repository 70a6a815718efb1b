"""The verdict rule, in one place.

- NO-GO when any check FAILs: the system showed a production failure mode.
- Otherwise INCONCLUSIVE when any check is ERROR or NO_DATA, or a scenario could not finish: absence of
  evidence is never a pass.
- Otherwise GO (WARN and SKIPPED are listed, but do not block).
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.scorecard.model import CheckResult, ScenarioSummary, Status, Verdict

EXIT_CODES = {Verdict.GO: 0, Verdict.NO_GO: 1, Verdict.INCONCLUSIVE: 3}


def decide(checks: Sequence[CheckResult], scenarios: Sequence[ScenarioSummary]) -> tuple[Verdict, str]:
    failed = [c.id for c in checks if c.status == Status.FAIL]
    if failed:
        return Verdict.NO_GO, f"failed: {', '.join(failed)}"
    broken = [s.name for s in scenarios if s.status != "completed"]
    unknown = [f"{c.id} ({c.status.value})" for c in checks if c.status in (Status.ERROR, Status.NO_DATA)]
    if broken or unknown:
        parts = ([f"scenario not completed: {', '.join(broken)}"] if broken else []) + (
            [f"no verdict from: {', '.join(unknown)}"] if unknown else []
        )
        return Verdict.INCONCLUSIVE, "; ".join(parts)
    if not checks:
        return Verdict.INCONCLUSIVE, "no check ran"
    return Verdict.GO, f"{sum(c.status == Status.PASS for c in checks)} of {len(checks)} checks passed"
