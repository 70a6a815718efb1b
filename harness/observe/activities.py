"""Read activities and task latencies out of workflow histories (any SDK language wrote them).

`ActivityTaskScheduled` carries the effective retry policy and timeouts after the server filled in its
defaults. `ActivityTaskStarted` is written when the activity closes; its time is the real start of the last
attempt and it carries `attempt` and `last_failure`. So schedule-to-start is exact when attempt == 1, and the
times of earlier attempts are reconstructed from the policy (see `attempt_times`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType, RetryState, TimeoutType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory


@dataclass(frozen=True)
class RetryPolicyView:
    """The effective retry policy of one scheduled activity (server defaults already applied)."""

    initial_interval_s: float
    backoff_coefficient: float
    maximum_interval_s: float
    maximum_attempts: int
    """0 means unlimited."""
    non_retryable_error_types: tuple[str, ...]

    def interval_after(self, attempt: int) -> float:
        """Seconds the server waits after attempt `attempt` (1-based) fails before the next one."""
        interval = self.initial_interval_s * self.backoff_coefficient ** (attempt - 1)
        return min(interval, self.maximum_interval_s) if self.maximum_interval_s > 0 else interval


@dataclass(frozen=True)
class ActivityRecord:
    """One logical activity (all its attempts) of one workflow."""

    workflow_id: str
    activity_id: str
    activity_type: str
    scheduled_at: float
    """Epoch seconds of ActivityTaskScheduled (the first attempt's schedule time)."""
    policy: RetryPolicyView
    schedule_to_close_s: float
    """0 means no bound of its own: none was set, or the server filled in the workflow's own timeout."""
    start_to_close_s: float
    heartbeat_s: float
    attempts: int
    """Attempts made: the final attempt number, or 0 when no attempt has started or closed yet."""
    last_started_at: float | None = None
    closed_at: float | None = None
    outcome: str = "open"
    """completed, failed, timed_out, canceled or open."""
    failure_type: str = ""
    """Error type of the final failure (ApplicationError type, or the timeout type)."""
    retry_state: str = ""
    """Why retrying stopped, e.g. NON_RETRYABLE_FAILURE or MAXIMUM_ATTEMPTS_REACHED."""
    last_failure: str = ""
    """Message of the failure before the last attempt (attempt > 1)."""
    schedule_to_start_s: float | None = None
    """Exact only when attempts == 1; None otherwise."""
    local: bool = False
    """A local activity, read from its marker: attempts are exact, the policy is the code's (history has none), and
    `last_started_at` is when the marker was recorded, just after the last attempt ended (it does not say when it began)."""


@dataclass(frozen=True)
class TaskLatency:
    """Schedule-to-start of one task: how long it waited in the task queue for a worker."""

    kind: str
    """workflow or activity (schedule-to-start), or workflow_execution (a workflow task's started-to-completed)."""
    scheduled_at: float
    latency_s: float


def _seconds(event: HistoryEvent) -> float:
    return event.event_time.ToMicroseconds() / 1e6


def _policy(attrs) -> RetryPolicyView:
    rp = attrs.retry_policy
    return RetryPolicyView(
        initial_interval_s=rp.initial_interval.ToTimedelta().total_seconds(),
        backoff_coefficient=rp.backoff_coefficient,
        maximum_interval_s=rp.maximum_interval.ToTimedelta().total_seconds(),
        maximum_attempts=rp.maximum_attempts,
        non_retryable_error_types=tuple(rp.non_retryable_error_types),
    )


def _failure_type(failure) -> str:
    if failure.HasField("timeout_failure_info"):
        return TimeoutType.Name(failure.timeout_failure_info.timeout_type).removeprefix("TIMEOUT_TYPE_")
    if failure.HasField("application_failure_info"):
        return failure.application_failure_info.type or "ApplicationError"
    return failure.message[:80]


_CLOSE = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: ("completed", "activity_task_completed_event_attributes"),
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: ("failed", "activity_task_failed_event_attributes"),
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: ("timed_out", "activity_task_timed_out_event_attributes"),
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: ("canceled", "activity_task_canceled_event_attributes"),
}


def activities(history: WorkflowHistory) -> list[ActivityRecord]:
    """Every activity the workflow scheduled, with its policy, attempts and outcome."""
    scheduled: dict[int, dict] = {}
    workflow_timeout = 0.0
    for event in history.events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            started = event.workflow_execution_started_event_attributes
            timeouts = (started.workflow_run_timeout, started.workflow_execution_timeout)
            workflow_timeout = min((t.ToTimedelta().total_seconds() for t in timeouts if t.ToTimedelta()), default=0.0)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            schedule_to_close = attrs.schedule_to_close_timeout.ToTimedelta().total_seconds()
            if workflow_timeout and schedule_to_close >= workflow_timeout:
                schedule_to_close = 0.0  # the server capped an unset bound at the workflow's timeout
            scheduled[event.event_id] = dict(
                workflow_id=history.workflow_id,
                activity_id=attrs.activity_id,
                activity_type=attrs.activity_type.name,
                scheduled_at=_seconds(event),
                policy=_policy(attrs),
                schedule_to_close_s=schedule_to_close,
                start_to_close_s=attrs.start_to_close_timeout.ToTimedelta().total_seconds(),
                heartbeat_s=attrs.heartbeat_timeout.ToTimedelta().total_seconds(),
                attempts=0,
            )
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attrs = event.activity_task_started_event_attributes
            row = scheduled.get(attrs.scheduled_event_id)
            if row is not None:
                row.update(attempts=attrs.attempt, last_started_at=_seconds(event), last_failure=attrs.last_failure.message)
                if attrs.attempt == 1:
                    row["schedule_to_start_s"] = max(0.0, _seconds(event) - row["scheduled_at"])
        elif kind in _CLOSE:
            outcome, field = _CLOSE[kind]
            attrs = getattr(event, field)
            row = scheduled.get(attrs.scheduled_event_id)
            if row is None:
                continue
            row.update(outcome=outcome, closed_at=_seconds(event))
            if kind in (EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT):
                row["failure_type"] = _failure_type(attrs.failure)
                row["retry_state"] = RetryState.Name(attrs.retry_state).removeprefix("RETRY_STATE_")
            if row["attempts"] == 0 and kind == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
                row["attempts"] = 1  # timed out before any attempt started (schedule-to-start)
    return [ActivityRecord(**row) for row in scheduled.values()]


LOCAL_ACTIVITY_MARKERS = ("core_local_activity", "LocalActivity")
"""Core-based SDKs (Python, TypeScript, .NET, Ruby), and the Go SDK's marker name (its details carry ActivityType / Attempt)."""
TEMPORAL_DEFAULT_POLICY = RetryPolicyView(1.0, 2.0, 100.0, 0, ())


def local_activity_marker(attrs) -> dict | None:
    """The details of a local-activity marker (activity_type, attempt, original_schedule_time...); None
    for any other marker or unreadable details."""
    if attrs.marker_name not in LOCAL_ACTIVITY_MARKERS or "data" not in attrs.details or not attrs.details["data"].payloads:
        return None
    try:
        data = json.loads(attrs.details["data"].payloads[0].data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    name, attempt = data.get("activity_type") or data.get("ActivityType"), data.get("attempt") or data.get("Attempt") or 1
    return {**data, "activity_type": name, "attempt": attempt} if isinstance(name, str) and isinstance(attempt, int) else None


def _timestamp(value: object, default: float) -> float:
    if isinstance(value, dict) and isinstance(value.get("seconds"), int):
        return value["seconds"] + value.get("nanos", 0) / 1e9
    return default


def local_activities(history: WorkflowHistory, policies: Mapping[str, RetryPolicyView] | None = None) -> list[ActivityRecord]:
    """Every local activity the workflow ran, from its markers: exact attempts, the first schedule time the marker
    records, the marker's own time as the completion, and the policy the code gives it (`policies` by activity type;
    Temporal's default otherwise)."""
    found = []
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
            continue
        attrs = event.marker_recorded_event_attributes
        data = local_activity_marker(attrs)
        if data is None:
            continue
        completed = _seconds(event)  # recorded by the workflow task the completion woke (the marker's complete_time is not reliable)
        found.append(ActivityRecord(
            workflow_id=history.workflow_id, activity_id=f"local-{data.get('seq', data.get('activity_id', event.event_id))}",
            activity_type=data["activity_type"], scheduled_at=min(completed, _timestamp(data.get("original_schedule_time"), completed)),
            policy=(policies or {}).get(data["activity_type"], TEMPORAL_DEFAULT_POLICY), schedule_to_close_s=0.0,
            start_to_close_s=0.0, heartbeat_s=0.0, attempts=data["attempt"], last_started_at=completed, closed_at=completed,
            outcome="failed" if attrs.HasField("failure") else "completed",
            failure_type=_failure_type(attrs.failure) if attrs.HasField("failure") else "", local=True,
        ))
    return found


def task_latencies(history: WorkflowHistory) -> list[TaskLatency]:
    """Workflow-task schedule-to-start for every workflow task, activity schedule-to-start for first attempts."""
    scheduled_at: dict[int, float] = {}
    started_at: dict[int, float] = {}
    found: list[TaskLatency] = []
    for event in history.events:
        kind = event.event_type
        if kind in (EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED):
            scheduled_at[event.event_id] = _seconds(event)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            sid = event.workflow_task_started_event_attributes.scheduled_event_id
            started_at[event.event_id] = _seconds(event)
            if sid in scheduled_at:
                found.append(TaskLatency("workflow", scheduled_at[sid], max(0.0, _seconds(event) - scheduled_at[sid])))
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            start = started_at.get(event.workflow_task_completed_event_attributes.started_event_id)
            if start is not None:
                found.append(TaskLatency("workflow_execution", start, max(0.0, _seconds(event) - start)))
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attrs = event.activity_task_started_event_attributes
            if attrs.attempt == 1 and attrs.scheduled_event_id in scheduled_at:
                start = scheduled_at[attrs.scheduled_event_id]
                found.append(TaskLatency("activity", start, max(0.0, _seconds(event) - start)))
    return found


def attempt_times(record: ActivityRecord) -> list[float]:
    """Start time of every attempt, oldest first. The first is the schedule time and the last is exact;
    the ones in between are back-computed from the last start with the policy's intervals, assuming the
    failed attempts themselves were short (a refused or reset connection). A timed-out attempt is counted
    with its start-to-close timeout."""
    if record.attempts <= 0:
        return []
    if record.attempts == 1 or record.last_started_at is None:
        return [record.last_started_at if record.last_started_at is not None else record.scheduled_at]
    times = [record.last_started_at]
    failed_duration = record.start_to_close_s if "StartToClose timeout" in record.last_failure else 0.0
    for attempt in range(record.attempts - 1, 1, -1):
        times.append(max(record.scheduled_at, times[-1] - record.policy.interval_after(attempt) - failed_duration))
    times.append(record.scheduled_at)
    return sorted(times)
