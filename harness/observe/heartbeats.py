"""Observations of the longrun-heartbeat scenario, and the pure reading of histories and heartbeat logs behind them.

When a worker dies mid-attempt the server learns it only from a timeout: the heartbeat timeout (if the activity
has one and heartbeats), else the start-to-close timeout. History shows when: the retry's `ActivityTaskStarted`
(attempt + 1) carries the timeout as `last_failure`, and the server scheduled that retry one backoff interval after
it noticed; when retrying has ended, `ActivityTaskTimedOut` is written at the moment it noticed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from harness.observe.activities import ActivityRecord, activities
from harness.observe.model import HeartbeatCall, KillRecord, WorkflowRecord

HOW = {
    "HEARTBEAT": "heartbeat timeout",
    "START_TO_CLOSE": "start-to-close timeout",
    "SCHEDULE_TO_CLOSE": "schedule-to-close timeout",
    "SCHEDULE_TO_START": "schedule-to-start timeout",
}
NOT_DETECTED = "not detected within detection_timeout"


@dataclass(frozen=True)
class Detection:
    """When and how the server noticed that an attempt was lost."""

    at: float
    """Epoch seconds."""
    how: str
    """A value of HOW, or `closed` when the activity left the pending list without a known timeout."""
    source: str
    """Where `at` comes from (history event, or the pending-activity polling)."""


@dataclass(frozen=True)
class KilledAttempt:
    """One activity attempt that was running when every worker was killed."""

    workflow_id: str
    activity_id: str
    activity_type: str
    attempt: int
    heartbeat_timeout_s: float
    """0: the activity has no heartbeat timeout."""
    start_to_close_s: float
    schedule_to_close_s: float
    """0: no bound of its own."""
    retry_backoff_s: float
    """The policy's wait after this attempt failed, before the retry was scheduled."""
    long: bool
    """Its start-to-close timeout is above the scenario's long_activity_bound."""
    heartbeats_before_kill: int
    """heartbeat() calls the worker logged for this attempt before the kill (Python workers only)."""
    server_heartbeat_seen: bool
    """The server had recorded a heartbeat of this attempt when the workers were killed."""
    detected: bool
    detection_s: float | None = None
    """Seconds from the kill until the server noticed the attempt was lost."""
    detected_by: str = NOT_DETECTED
    source: str = ""
    polled_detection_s: float | None = None
    """The same, from polling the pending activity (last_attempt_complete_time, or when the attempt changed)."""
    polled_source: str = ""
    history_file: str | None = None

    @property
    def heartbeats(self) -> bool:
        return self.heartbeats_before_kill > 0 or self.server_heartbeat_seen


@dataclass(frozen=True)
class HeartbeatCadence:
    """How often one activity type really called heartbeat(), next to its heartbeat timeout."""

    activity_type: str
    heartbeat_timeout_s: float
    calls: int
    max_interval_s: float | None
    """Largest gap between two calls of the same attempt; None with fewer than two calls in any attempt."""


@dataclass(frozen=True)
class LongrunObservations:
    """What the longrun-heartbeat scenario saw."""

    scenario: str
    started: tuple[str, ...]
    kills: tuple[KillRecord, ...]
    killed_at: float | None
    """Epoch seconds the kill signal was sent; None when the scenario never got to the kill."""
    long_activity_bound_s: float
    detection_timeout_s: float
    in_flight: tuple[KilledAttempt, ...]
    """Every activity attempt running at the kill (long or not)."""
    cadences: tuple[HeartbeatCadence, ...]
    workflows: tuple[WorkflowRecord, ...]

    @property
    def kill_confirmed(self) -> bool:
        return bool(self.kills) and all(k.confirmed for k in self.kills) and self.killed_at is not None


def _seconds(event: HistoryEvent) -> float:
    return event.event_time.ToMicroseconds() / 1e6


def timeout_type(failure) -> str | None:
    while failure is not None and failure.ByteSize():
        if failure.HasField("timeout_failure_info"):
            return TimeoutType.Name(failure.timeout_failure_info.timeout_type).removeprefix("TIMEOUT_TYPE_")
        failure = failure.cause if failure.HasField("cause") else None
    return None


def scheduled(history: WorkflowHistory) -> dict[str, ActivityRecord]:
    """{activity id: the activity's timeouts, policy and outcome} of one workflow."""
    return {r.activity_id: r for r in activities(history)}


def detection_from_history(history: WorkflowHistory, activity_id: str, attempt: int) -> Detection | None:
    """When the server noticed that attempt `attempt` of `activity_id` was lost, as its history shows it:
    the retry's start minus the policy's backoff (an upper bound: it includes the retry's wait for a worker),
    or the ActivityTaskTimedOut event when retrying ended there."""
    record = scheduled(history).get(activity_id)
    scheduled_id = next(
        (e.event_id for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
         and e.activity_task_scheduled_event_attributes.activity_id == activity_id),
        None,
    )
    if record is None or scheduled_id is None:
        return None
    timed_out = None
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attrs = event.activity_task_started_event_attributes
            kind = timeout_type(attrs.last_failure)
            if attrs.scheduled_event_id == scheduled_id and attrs.attempt == attempt + 1 and kind:
                backoff = record.policy.interval_after(attempt)
                return Detection(
                    _seconds(event) - backoff, HOW.get(kind, kind),
                    f"history: attempt {attempt + 1} started (event {event.event_id}) minus the {backoff:g}s retry backoff",
                )
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            attrs = event.activity_task_timed_out_event_attributes
            if attrs.scheduled_event_id == scheduled_id:
                kind = timeout_type(attrs.failure) or "UNSPECIFIED"
                timed_out = Detection(_seconds(event), HOW.get(kind, kind), f"history: ActivityTaskTimedOut (event {event.event_id})")
    return timed_out


def heartbeat_cadence(calls: Iterable[HeartbeatCall], timeouts: dict[tuple[str, str], tuple[str, float]]) -> tuple[HeartbeatCadence, ...]:
    """Per (activity type, heartbeat timeout): calls seen and the largest gap between calls of one attempt.
    `timeouts` maps (workflow id, activity id) to (activity type, heartbeat timeout) from history; calls of
    other activities are ignored."""
    by_attempt: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for call in calls:
        if (call.workflow_id, call.activity_id) in timeouts:
            by_attempt[(call.workflow_id, call.activity_id, call.attempt)].append(call.at)
    counts: dict[tuple[str, float], int] = defaultdict(int)
    gaps: dict[tuple[str, float], list[float]] = defaultdict(list)
    for (workflow_id, activity_id, _), times in by_attempt.items():
        key = timeouts[(workflow_id, activity_id)]
        times.sort()
        counts[key] += len(times)
        gaps[key].extend(b - a for a, b in zip(times, times[1:], strict=False))
    return tuple(
        HeartbeatCadence(activity_type, timeout, counts[(activity_type, timeout)], max(gaps[(activity_type, timeout)], default=None))
        for activity_type, timeout in sorted(counts)
    )


def heartbeats_before(calls: Sequence[HeartbeatCall], workflow_id: str, activity_id: str, attempt: int, before: float) -> int:
    return sum(1 for c in calls if (c.workflow_id, c.activity_id, c.attempt) == (workflow_id, activity_id, attempt) and c.at <= before)
