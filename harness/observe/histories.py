"""Fetch workflow histories, keep them as JSON files, and summarise them into WorkflowRecords."""

from __future__ import annotations

from pathlib import Path

from temporalio.api.enums.v1 import EventType, TimeoutType, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowHistory

from harness.observe.model import TaskFailure, WorkflowRecord

_CLOSE_STATUS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "COMPLETED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "FAILED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "TIMED_OUT",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "CANCELED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "TERMINATED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "CONTINUED_AS_NEW",
}


_ENDING_TYPE = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "WorkflowTimeout",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "Canceled",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "Terminated",
}


def root_cause(failure: Failure) -> Failure:
    while failure.HasField("cause"):
        failure = failure.cause
    return failure


def failure_type(failure: Failure) -> str:
    """The innermost cause's error type: an application error's `type`, else the failure's kind (a timeout with its
    timeout type), so `ActivityError -> ApplicationError(PaymentDeclined)` classes as PaymentDeclined."""
    failure = root_cause(failure)
    kind = failure.WhichOneof("failure_info")
    if kind == "application_failure_info" and failure.application_failure_info.type:
        return failure.application_failure_info.type
    if kind == "timeout_failure_info":
        return "Timeout:" + TimeoutType.Name(failure.timeout_failure_info.timeout_type).removeprefix("TIMEOUT_TYPE_")
    if kind is None:
        return "Unknown"
    return kind.removesuffix("_failure_info").title().replace("_", "")  # e.g. ChildWorkflowExecution, Canceled


async def fetch(client: Client, workflow_id: str, run_id: str | None = None) -> WorkflowHistory:
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()


MAX_FAMILY = 200
"""Histories fetched per started workflow at most (its runs and its children's), so a runaway fan-out stays bounded."""


def relatives(history: WorkflowHistory) -> list[tuple[str, str | None]]:
    """(workflow id, run id) of the run this one continued (continue-as-new, retry or cron: its previous run) and of
    each child workflow it started (run id None: the child's latest run, whose own chain is then followed)."""
    found: list[tuple[str, str | None]] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            previous = event.workflow_execution_started_event_attributes.continued_execution_run_id
            if previous:
                found.append((history.workflow_id, previous))
        elif event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
            found.append((event.child_workflow_execution_started_event_attributes.workflow_execution.workflow_id, None))
    return found


async def fetch_family(client: Client, workflow_id: str, limit: int = MAX_FAMILY) -> list[WorkflowHistory]:
    """The workflow's latest run first, then every earlier run of its chain and every child workflow it (or a child)
    started, with their runs: the activities of a fan-out or of a continued run live in those histories."""
    family = [await fetch(client, workflow_id)]
    seen = {(workflow_id, None)}
    todo = relatives(family[0])
    while todo and len(family) < limit:
        key = todo.pop(0)
        if key in seen:
            continue
        seen.add(key)
        history = await fetch(client, *key)
        family.append(history)
        todo.extend(relatives(history))
    return family


def summarise(history: WorkflowHistory, history_file: str | None = None) -> WorkflowRecord:
    workflow_type, run_id, status, failure_message, failure_kind, cause = "", "", "RUNNING", None, None, None
    started_at = closed_at = None
    identities: list[str] = []
    failures: list[TaskFailure] = []
    for event in history.events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            attrs = event.workflow_execution_started_event_attributes
            workflow_type, run_id = attrs.workflow_type.name, attrs.original_execution_run_id
            started_at = event.event_time.ToMicroseconds() / 1e6
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            identities.append(event.workflow_task_completed_event_attributes.identity)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            attrs = event.workflow_task_failed_event_attributes
            failures.append(
                TaskFailure(
                    event_id=event.event_id,
                    cause=WorkflowTaskFailedCause.Name(attrs.cause).removeprefix("WORKFLOW_TASK_FAILED_CAUSE_"),
                    message=attrs.failure.message,
                    identity=attrs.identity,
                )
            )
        elif kind in _CLOSE_STATUS:
            status, closed_at = _CLOSE_STATUS[kind], event.event_time.ToMicroseconds() / 1e6
            failure_kind = _ENDING_TYPE.get(kind)
            if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
                cause = event.workflow_execution_terminated_event_attributes.reason
            if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
                failure = event.workflow_execution_failed_event_attributes.failure
                failure_message, failure_kind, cause = failure.message, failure_type(failure), root_cause(failure).message
    return WorkflowRecord(
        workflow_id=history.workflow_id,
        run_id=run_id,
        workflow_type=workflow_type,
        status=status,
        event_count=len(history.events),
        task_identities=tuple(identities),
        task_failures=tuple(failures),
        failure_message=failure_message,
        history_file=history_file,
        started_at=started_at,
        closed_at=closed_at,
        failure_type=failure_kind,
        failure_cause=cause,
    )


def safe_name(workflow_id: str) -> str:
    """A file name for a workflow id: anything outside [A-Za-z0-9-_.] becomes '_', and it is never hidden."""
    name = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in workflow_id)
    return f"_{name}" if name.startswith(".") else name


def write(history: WorkflowHistory, out_dir: Path, relative_dir: str = "histories", run_id: str = "") -> str:
    """Write the history as Temporal's JSON (replayable by any SDK, openable in the UI); return its relative path.
    `run_id` names an earlier run of a chain, so it does not overwrite the latest run's file."""
    folder = out_dir / relative_dir
    folder.mkdir(parents=True, exist_ok=True)
    name = safe_name(history.workflow_id + (f"-run-{run_id}" if run_id else "")) + ".json"
    (folder / name).write_text(history.to_json(), encoding="utf-8")
    return f"{relative_dir}/{name}"
