"""Every retry policy and timeout a history shows, whatever scenario (or production run) produced it.

- activities: `ActivityTaskScheduled` holds the effective policy (server defaults filled in);
- local activities: `MarkerRecorded` (`core_local_activity` from the Core-based SDKs: Python, TypeScript, .NET, Ruby)
  holds the activity type, the attempt it reached and its failure, but never its policy;
- child workflows: `StartChildWorkflowExecutionInitiated` holds the policy the parent gave, if any, and timeouts;
- the workflow itself: `WorkflowExecutionStarted` holds its own policy, execution and run timeouts and cron schedule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from harness.observe.activities import RetryPolicyView, activities, local_activity_marker


@dataclass(frozen=True)
class PolicySighting:
    """One scheduled activity, local activity, child workflow or workflow run, as its history records it."""

    kind: str
    """activity, local_activity, child_workflow or workflow."""
    name: str
    workflow_type: str
    """The workflow that scheduled it (for `workflow`: the workflow type itself)."""
    policy: RetryPolicyView | None
    """None: no retry policy (a workflow or child that does not retry), or not recorded (local activities)."""
    bounds: tuple[float, float, float]
    """schedule-to-close, start-to-close, heartbeat (workflows: execution, run, 0) in seconds; 0 = none."""
    attempt: int = 0
    """The attempt it reached, where history records it (activities, local activities)."""
    failed: bool = False
    cron: str = ""


def _seconds(duration) -> float:
    return duration.ToTimedelta().total_seconds()


def _policy(rp) -> RetryPolicyView:
    return RetryPolicyView(
        initial_interval_s=_seconds(rp.initial_interval), backoff_coefficient=rp.backoff_coefficient,
        maximum_interval_s=_seconds(rp.maximum_interval), maximum_attempts=rp.maximum_attempts,
        non_retryable_error_types=tuple(sorted(rp.non_retryable_error_types)),
    )


def sightings(history: WorkflowHistory) -> list[PolicySighting]:
    """What one history shows; empty for a history that does not start with WorkflowExecutionStarted."""
    events = list(history.events)
    if not events or events[0].event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        return []
    start = events[0].workflow_execution_started_event_attributes
    workflow_type = start.workflow_type.name
    found = [PolicySighting(
        "workflow", workflow_type, workflow_type, _policy(start.retry_policy) if start.HasField("retry_policy") else None,
        (_seconds(start.workflow_execution_timeout), _seconds(start.workflow_run_timeout), 0.0), attempt=start.attempt,
        cron=start.cron_schedule,
    )]
    for record in activities(history):
        policy = dataclasses.replace(record.policy, non_retryable_error_types=tuple(sorted(record.policy.non_retryable_error_types)))
        found.append(PolicySighting(
            "activity", record.activity_type, workflow_type, policy,
            (record.schedule_to_close_s, record.start_to_close_s, record.heartbeat_s), attempt=record.attempts,
            failed=record.outcome in ("failed", "timed_out"),
        ))
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            attrs = event.marker_recorded_event_attributes
            if (marker := local_activity_marker(attrs)) is not None:
                found.append(PolicySighting(
                    "local_activity", marker["activity_type"], workflow_type, None, (0.0, 0.0, 0.0), attempt=marker["attempt"],
                    failed=attrs.HasField("failure"),
                ))
        elif event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            attrs = event.start_child_workflow_execution_initiated_event_attributes
            found.append(PolicySighting(
                "child_workflow", attrs.workflow_type.name, workflow_type,
                _policy(attrs.retry_policy) if attrs.HasField("retry_policy") else None,
                (_seconds(attrs.workflow_execution_timeout), _seconds(attrs.workflow_run_timeout), 0.0), cron=attrs.cron_schedule,
            ))
    return found


def all_sightings(histories: Iterable[WorkflowHistory]) -> tuple[PolicySighting, ...]:
    return tuple(s for history in histories for s in sightings(history))
