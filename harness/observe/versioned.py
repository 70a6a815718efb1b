"""What a workflow's history says about the Worker Deployment Versions that ran it (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import WorkflowHistory

from harness.observe.histories import summarise
from harness.observe.model import VersionedRun


def versioned_run(history: WorkflowHistory, group: str, builds: Mapping[str, str], history_file: str | None = None) -> VersionedRun:
    """`builds`: worker identity -> build id of the version it runs."""
    scheduled: dict[int, float] = {}
    versions: list[str] = []
    nondeterminism: list[str] = []
    waits: list[tuple[str, float]] = []
    for event in history.events:
        kind, at = event.event_type, event.event_time.ToDatetime().timestamp()
        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            scheduled[event.event_id] = at
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            attrs = event.workflow_task_started_event_attributes
            if (build := builds.get(attrs.identity)) and attrs.scheduled_event_id in scheduled:
                waits.append((build, round(max(0.0, at - scheduled[attrs.scheduled_event_id]), 4)))
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            if (build := builds.get(event.workflow_task_completed_event_attributes.identity)) and build not in versions[-1:]:
                versions.append(build)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            attrs = event.workflow_task_failed_event_attributes
            if build := builds.get(attrs.identity):
                if build not in versions[-1:]:
                    versions.append(build)
                if attrs.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR and build not in nondeterminism:
                    nondeterminism.append(build)
    record = summarise(history)
    latency = record.closed_at - record.started_at if record.closed_at and record.started_at else None
    return VersionedRun(
        workflow_id=history.workflow_id, workflow_type=record.workflow_type, group=group, status=record.status, versions=tuple(versions),
        nondeterminism_on=tuple(nondeterminism), task_waits=tuple(waits),
        latency_s=round(latency, 3) if latency is not None else None, history_file=history_file,
    )
