"""What the time-skip scenario observes: each workflow's end state, the restarts, the timeline as it ran; and how
far a workflow has got, read from its history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent

from harness.observe.model import KillRecord, ReplayOutcome, WorkflowRecord

CLOSED, STUCK, BUSY, IDLE = "closed", "stuck", "busy", "idle"
_CLOSE_EVENTS = frozenset({
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
})
_ACTIVITY_CLOSE_ATTRIBUTES = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}
_NONDETERMINISM = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
REPEATED_FAILURES = 2
"""Workflow-task failures in a row after which a workflow counts as stuck (a non-determinism failure counts at once)."""


def progress(events: Sequence[HistoryEvent]) -> str:
    """`closed`; `stuck` (its workflow task keeps failing: retrying cannot heal a non-determinism failure);
    `busy` (a workflow task or an activity is waiting to run or running); `idle` (waiting for a timer or a message)."""
    task_open, failures_in_a_row, nondeterministic = False, 0, False
    open_activities: set[int] = set()
    for event in events:
        kind = event.event_type
        if kind in _CLOSE_EVENTS:
            return CLOSED
        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            task_open = True
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            task_open, failures_in_a_row, nondeterministic = False, 0, False
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failures_in_a_row += 1
            nondeterministic = event.workflow_task_failed_event_attributes.cause == _NONDETERMINISM
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            open_activities.add(event.event_id)
        elif kind in _ACTIVITY_CLOSE_ATTRIBUTES:
            open_activities.discard(getattr(event, _ACTIVITY_CLOSE_ATTRIBUTES[kind]).scheduled_event_id)
    if nondeterministic or failures_in_a_row >= REPEATED_FAILURES:
        return STUCK
    return BUSY if task_open or open_activities else IDLE


@dataclass(frozen=True)
class WorkflowEnd:
    """One workflow's end state, as the scenario read it from the test server."""

    workflow_id: str
    status: str
    """COMPLETED, FAILED, ... or RUNNING when it was still open at the end."""
    progress: str
    """closed, stuck, busy or idle (see `progress`)."""
    result: Any = None
    """The decoded result (dicts and lists) when it completed."""
    queries: Mapping[str, Any] = field(default_factory=dict)
    """{query name: decoded answer} of the queries that answered."""
    errors: tuple[str, ...] = ()
    """What went wrong on the way: unanswered queries, undelivered signals, violations reported by the `check` callable."""


@dataclass(frozen=True)
class RestartRecord:
    """One `restart_workers` step of the timeline."""

    kills: tuple[KillRecord, ...]
    open_workflows: tuple[str, ...]
    """Workflow ids still open (mid-wait) when the workers were killed."""
    restarted_identities: tuple[str, ...]
    at_workflow_s: float
    """Workflow time of the restart, in seconds since the workflows started."""


@dataclass(frozen=True)
class TimelineRecord:
    """One timeline step as it ran."""

    step: str
    """e.g. `skip 10d`, `restart workers`, `signal upgrade`, `run to the end`."""
    workflow_time_s: float
    """Test-server time after the step, in seconds since the workflows started."""
    wall_s: float
    """Wall-clock seconds the step took."""
    note: str = ""


@dataclass(frozen=True)
class TimeSkipObservations:
    """What the time-skip scenario saw."""

    scenario: str
    started: tuple[str, ...]
    ends: tuple[WorkflowEnd, ...]
    workflows: tuple[WorkflowRecord, ...]
    replays: tuple[ReplayOutcome, ...]
    restarts: tuple[RestartRecord, ...]
    timeline: tuple[TimelineRecord, ...]
    workflow_time_s: float
    """Test-server time at the end minus at the start: the workflow time the run covered."""
    wall_time_s: float
    """Wall-clock seconds from the first workflow start to the end of the run."""
    explanations: dict[str, dict] = field(default_factory=dict)
    """Workflow id -> its first non-determinism failure explained (harness.replay.explain)."""
    family_of: dict[str, str] = field(default_factory=dict)
    """Child workflow id -> the started workflow it belongs to (`workflows` and `replays` hold every run of each
    started workflow and of every child it started)."""


def duration_label(seconds: float) -> str:
    """'10d', '1.5d', '36h' or '30s': how a timeline duration reads."""
    if seconds >= 86400:
        return f"{seconds / 86400:g}d"
    if seconds >= 3600:
        return f"{seconds / 3600:g}h"
    return f"{seconds:g}s"
