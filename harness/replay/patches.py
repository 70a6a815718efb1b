"""Patch retirement: for every patch id in the code or in the histories, what is safe to do with it now (pure).

A patch goes through three steps: `if workflow.patched(id)` (both branches), then `workflow.deprecate_patch(id)` (only
the new branch; allowed once no open workflow started before the patch), then no call at all (allowed once no open
workflow carries the live marker `patched()` wrote; a deprecated marker replays against code without the call).
Closed histories within retention matter only to replaying them (the nightly replay): they are counted apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from harness.replay import corpus

CLOSING_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}


@dataclass(frozen=True)
class HistoryMarkers:
    """What one history says about patches."""

    workflow_id: str
    workflow_type: str
    open: bool
    started_at: datetime
    live: frozenset[str]
    """Patch ids whose marker `workflow.patched()` wrote."""
    deprecated: frozenset[str]
    """Patch ids whose marker `workflow.deprecate_patch()` wrote."""
    recorded_at: dict[str, datetime] = field(default_factory=dict)
    """Patch id -> when its marker was recorded: the new code was running by then."""


def read(history: WorkflowHistory) -> HistoryMarkers:
    markers = corpus.patch_markers(history)
    recorded_at: dict[str, datetime] = {}
    for event in history.events:
        found = corpus.patch_markers(WorkflowHistory(history.workflow_id, [event])) if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED else []
        for patch_id, _ in found:
            recorded_at.setdefault(patch_id, event.event_time.ToDatetime())
    return HistoryMarkers(
        workflow_id=history.workflow_id,
        workflow_type=corpus.workflow_type(history),
        open=history.events[-1].event_type not in CLOSING_EVENTS,
        started_at=history.events[0].event_time.ToDatetime(),
        live=frozenset(p for p, deprecated in markers if not deprecated),
        deprecated=frozenset(p for p, deprecated in markers if deprecated),
        recorded_at=recorded_at,
    )


@dataclass(frozen=True)
class PatchAdvice:
    patch_id: str
    in_code: str
    """`patched`, `deprecated` (deprecate_patch) or `none`."""
    first_marker_at: str | None
    """When the earliest of its markers was recorded (the patch was out by then, as far as these histories show)."""
    open_with_live_marker: int
    open_started_before: int
    """Open workflows of the types that record the marker, without it, started before `first_marker_at` (every open
    workflow when no history has it yet)."""
    closed_with_live_marker: int
    closed_started_before: int
    action: str
    """`deprecate`, `remove`, `retired`, `wait` or `broken`."""
    advice: str

    def to_dict(self) -> dict:
        return asdict(self)


def _counts(patch_id: str, histories: list[HistoryMarkers]) -> tuple[datetime | None, dict[str, int]]:
    carrying = [h for h in histories if patch_id in h.live | h.deprecated]
    # when the patch went out: its first marker (a workflow that started before the deploy records it too, later)
    first = min((h.recorded_at.get(patch_id, h.started_at) for h in carrying), default=None)
    types = {h.workflow_type for h in carrying}  # a patch lives in the types that record it (all, before any does)
    before = [
        h for h in histories
        if patch_id not in h.live | h.deprecated and (first is None or h.started_at < first) and (not types or h.workflow_type in types)
    ]
    live = [h for h in histories if patch_id in h.live]
    return first, {
        "open_with_live_marker": sum(h.open for h in live), "closed_with_live_marker": sum(not h.open for h in live),
        "open_started_before": sum(h.open for h in before), "closed_started_before": sum(not h.open for h in before),
    }


def _advise(patch_id: str, in_code: str, n: dict[str, int]) -> tuple[str, str]:
    if in_code == "patched":
        if n["open_started_before"]:
            return "wait", f"not yet: {n['open_started_before']} open workflows started before the patch and take the old branch"
        note = (f"; {n['closed_started_before']} closed histories within retention started before it and will no longer "
                "replay (drop them from the replay corpus)") if n["closed_started_before"] else ""
        return "deprecate", f"remove the pre-patch branch: replace workflow.patched({patch_id!r}) by workflow.deprecate_patch({patch_id!r}){note}"
    if in_code == "deprecated":
        if n["open_with_live_marker"]:
            return "wait", (f"not yet: {n['open_with_live_marker']} open workflows carry the live marker patched() wrote; "
                            f"keep deprecate_patch({patch_id!r}) until they close")
        note = (f"; {n['closed_with_live_marker']} closed histories within retention carry the live marker and will no "
                "longer replay") if n["closed_with_live_marker"] else ""
        return "remove", f"remove workflow.deprecate_patch({patch_id!r}){note}"
    if n["open_with_live_marker"]:
        return "broken", (f"{n['open_with_live_marker']} open workflows carry the live marker, but the code calls neither "
                          f"patched({patch_id!r}) nor deprecate_patch({patch_id!r}): they fail on replay. Put "
                          f"workflow.deprecate_patch({patch_id!r}) back until they close")
    if n["closed_with_live_marker"]:
        return "retired", (f"removed from the code; {n['closed_with_live_marker']} closed histories within retention carry "
                           "its live marker and no longer replay against this code")
    return "retired", "removed from the code, and no open workflow needs it"


def advise(histories: list[HistoryMarkers], patched: set[str], deprecated: set[str], complete: bool = True) -> list[PatchAdvice]:
    """One row per patch id in the code or in the histories, sorted by id. `complete` False: the histories are a cut
    sample (a listing that hit its limit), so nothing is declared safe to retire from them."""
    seen = {p for h in histories for p in h.live | h.deprecated}
    rows = []
    for patch_id in sorted(seen | patched | deprecated):
        in_code = "patched" if patch_id in patched else "deprecated" if patch_id in deprecated else "none"
        first, counts = _counts(patch_id, histories)
        action, text = _advise(patch_id, in_code, counts)
        if not complete and action in ("deprecate", "remove"):
            action, text = "wait", f"not judged: the listing hit its limit, so older open workflows may be missing ({text} once a full listing agrees)"
        rows.append(PatchAdvice(patch_id, in_code, first.isoformat() if first else None, **counts, action=action, advice=text))
    return rows
