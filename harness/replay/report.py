"""Pure: merge the two hash-seed passes, judge the patch lifecycle, and render the replay report (JSON, JUnit)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace

from harness.observe.model import ReplayOutcome
from harness.scorecard.render import xml_safe

SCHEMA_VERSION = "1.1"  # 1.1: results[].explanation


def combine(first: ReplayOutcome, second: ReplayOutcome | None, seeds: tuple[int, ...]) -> ReplayOutcome:
    """One outcome per history from both passes. A history that replays in one pass and not in the other is
    `hash_order`: the code iterates a set (or otherwise depends on str hashing), so a worker restart in
    production can take another branch. When both passes fail, the first pass's kind stands (the failures
    may differ for other reasons, such as state outside the workflow that the first pass changed)."""
    if second is None or first.ok == second.ok:
        return first
    good, bad, failing = (seeds[0], seeds[1], second) if first.ok else (seeds[1], seeds[0], first)
    message = f"replays with PYTHONHASHSEED={good} but not with PYTHONHASHSEED={bad}: {failing.error_message}"
    return replace(failing, kind="hash_order", error_message=message[:1000])


@dataclass
class PatchTally:
    """Patch markers seen across the corpus: id -> number of histories with a live / a deprecated marker."""

    live: Counter = field(default_factory=Counter)
    deprecated: Counter = field(default_factory=Counter)

    def add(self, markers: Iterable[tuple[str, bool]]) -> None:
        for patch_id, is_deprecated in set(map(tuple, markers)):
            (self.deprecated if is_deprecated else self.live)[patch_id] += 1


def patch_lifecycle(
    tally: PatchTally, code_patched: Iterable[str], code_deprecated: Iterable[str], unavailable: str | None = None
) -> dict:
    """Patch ids still live in histories that the code no longer calls (those histories cannot replay), and
    patches the code deprecates while live markers remain (removing the deprecate_patch call too early breaks them)."""
    patched, deprecated = set(code_patched), set(code_deprecated)
    in_histories = {p: {"live": tally.live[p], "deprecated": tally.deprecated[p]} for p in sorted({*tally.live, *tally.deprecated})}
    if unavailable:
        return {"in_histories": in_histories, "unavailable": unavailable, "removed_while_in_histories": [], "deprecated_while_live": []}
    removed = [
        {"patch_id": p, "histories": n, "problem": f"{n} histories carry the live marker of patch '{p}', but the code "
         f"calls neither workflow.patched('{p}') nor workflow.deprecate_patch('{p}'): those workflows fail on replay. "
         f"Put the patched() call back (or deprecate_patch('{p}')) until they are closed and past retention."}
        for p, n in sorted(tally.live.items()) if p not in patched and p not in deprecated
    ]
    still_live = [
        {"patch_id": p, "histories": tally.live[p], "problem": f"the code deprecates patch '{p}' while "
         f"{tally.live[p]} histories still carry its live marker: keep deprecate_patch('{p}') until those "
         "workflows are closed and past retention, then remove it."}
        for p in sorted(deprecated) if tally.live[p]
    ]
    return {
        "in_histories": in_histories,
        "in_code": {"patched": sorted(patched), "deprecated": sorted(deprecated)},
        "removed_while_in_histories": removed,
        "deprecated_while_live": still_live,
    }


@dataclass(frozen=True)
class ReplayReport:
    outcomes: tuple[ReplayOutcome, ...]
    workflows: tuple[str, ...]
    seeds: tuple[int, ...]
    jobs: int
    duration_s: float
    patches: dict

    @property
    def failed(self) -> list[ReplayOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def by_kind(self) -> dict[str, int]:
        return dict(sorted(Counter(o.kind for o in self.failed).items()))

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "workflows": list(self.workflows),
            "hash_seeds": list(self.seeds),
            "jobs": self.jobs,
            "duration_s": round(self.duration_s, 2),
            "summary": {"histories": len(self.outcomes), "replayed": len(self.outcomes) - len(self.failed),
                        "failed": len(self.failed), "by_kind": self.by_kind()},
            "patches": self.patches,
            "results": [asdict(o) for o in self.outcomes],
        }


def to_json(report: ReplayReport) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def to_junit(report: ReplayReport) -> str:
    """One test case per history (classname = workflow type), a `failure` typed with the classification."""
    failures = str(len(report.failed))
    suites = ET.Element("testsuites", name="readiness replay", tests=str(len(report.outcomes)), failures=failures, errors="0")
    suite = ET.SubElement(
        suites, "testsuite", name="readiness.replay", tests=str(len(report.outcomes)), failures=failures,
        errors="0", skipped="0", time=f"{report.duration_s:.2f}",
    )
    for o in report.outcomes:
        case = ET.SubElement(suite, "testcase", classname=o.workflow_type or "unknown", name=xml_safe(f"{o.workflow_id} ({o.run_id})"), file=xml_safe(o.path))
        if not o.ok:
            where = f" at event {o.event_id}" if o.event_id else ""
            message = xml_safe(f"{o.kind}{where}: {o.error_message}"[:1000])
            failure = ET.SubElement(case, "failure", type=o.kind or "error", message=message)
            failure.text = xml_safe(json.dumps(asdict(o), indent=2))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
