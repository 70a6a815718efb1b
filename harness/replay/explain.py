"""Explain a non-determinism failure: what the history recorded at the diverging event, what the new code issued
instead, and the `workflow.patched(...)` guard that makes the change safe (pure; tested on the SDK's real messages).

The SDK says only one line, e.g. "Activity type of scheduled event 'reserve_inventory' does not match activity type
of activity command 'screen_order'". Read with the history, that line names both sides of the divergence.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from harness.replay import corpus

_TYPE_MISMATCH = re.compile(
    r"(Activity|Child workflow|Timer) (type|id) of (?:scheduled|started|initiated) event '([^']*)' does not match "
    r"\w+ (?:type|id) of (?:[\w ]*?)command '([^']*)'",
    re.IGNORECASE,
)
_MACHINE = re.compile(r"(\w+(?: \w+)*?) machine does not handle this event", re.IGNORECASE)
_NO_COMMAND = re.compile(r"No command scheduled for event", re.IGNORECASE)
_PATCH_REMOVED = re.compile(r"patch marker encountered for change ([^,]+), but there is no corresponding change command", re.IGNORECASE)
_EVENT_ID = re.compile(r"HistoryEvent\(id: (\d+)|event_id: (\d+)")

MACHINE_COMMANDS = {
    "timer": "started a timer", "activity": "scheduled an activity", "local activity": "ran a local activity",
    "child workflow": "started a child workflow", "complete workflow": "completed the workflow",
    "fail workflow": "failed the workflow", "continue as new": "continued as new", "cancel workflow": "cancelled the workflow",
    "signal external": "signalled another workflow", "cancel external": "cancelled another workflow",
    "upsert search attributes": "upserted search attributes", "modify workflow properties": "modified the workflow's memo",
    "patch": "called workflow.patched()", "update": "accepted an update", "nexus operation": "started a Nexus operation",
}
COMMAND_EVENTS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "ScheduleActivityTask",
    EventType.EVENT_TYPE_TIMER_STARTED: "StartTimer",
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: "StartChildWorkflowExecution",
    EventType.EVENT_TYPE_MARKER_RECORDED: "RecordMarker",
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: "SignalExternalWorkflowExecution",
    EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: "RequestCancelExternalWorkflowExecution",
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "UpsertWorkflowSearchAttributes",
    EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: "ModifyWorkflowProperties",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "CompleteWorkflowExecution",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "FailWorkflowExecution",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "ContinueAsNewWorkflowExecution",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "CancelWorkflowExecution",
}
"""History events that a workflow command wrote, and the command's name."""
SHOWN_BEFORE = 6
"""Recorded commands shown before the diverging one."""


@dataclass(frozen=True)
class Explanation:
    diverging_event: int | None
    """Id of the history event the new code did not reproduce, when found."""
    recorded: str
    """The command the history recorded there, e.g. `ScheduleActivityTask reserve_inventory (event 5)`."""
    issued: str
    """What the new code did instead, e.g. `ScheduleActivityTask screen_order`."""
    recorded_commands: tuple[str, ...]
    """The recorded commands up to the diverging one (the last few), in history order."""
    guard: str
    """The change made safe: code with `workflow.patched(...)` around the new path."""

    def to_dict(self) -> dict:
        return asdict(self)


def describe(event: HistoryEvent) -> str:
    """One recorded command: its name and what it names."""
    name = COMMAND_EVENTS.get(event.event_type, EventType.Name(event.event_type).removeprefix("EVENT_TYPE_"))
    detail = ""
    if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        detail = f" {event.activity_task_scheduled_event_attributes.activity_type.name}"
    elif event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
        seconds = event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
        detail = f" {seconds:g}s"
    elif event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        detail = f" {event.start_child_workflow_execution_initiated_event_attributes.workflow_type.name}"
    elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
        markers = corpus.patch_markers(WorkflowHistory("", [event]))
        marker = event.marker_recorded_event_attributes.marker_name
        detail = f" patch {markers[0][0]!r}" + (" (deprecated)" if markers[0][1] else "") if markers else f" {marker}"
    return f"{name}{detail} (event {event.event_id})"


def _command_events(history: WorkflowHistory) -> list[HistoryEvent]:
    return [e for e in history.events if e.event_type in COMMAND_EVENTS]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "change"


def _guard(change_id: str, new: str, old: str) -> str:
    return (
        f"if workflow.patched({change_id!r}):\n    ...  # new code: {new}\nelse:\n    ...  # old code, kept for the "
        f"workflows already running it: {old}\n"
        f"(once no open workflow started before the change, `readiness patches` says when to deprecate_patch({change_id!r}))"
    )


def _find(
    commands: list[HistoryEvent], event_id: int | None, kind: str = "", name: str = "", *, by_id: bool = False
) -> HistoryEvent | None:
    """The recorded command the SDK names: by event id, else the one of its kind with that name (or id)."""
    if event_id is not None:
        return next((e for e in commands if e.event_id == event_id), None)
    found = _candidates(commands, kind, name, by_id=by_id)
    return found[0] if len(found) == 1 else None


def _candidates(commands: list[HistoryEvent], kind: str, name: str, *, by_id: bool = False) -> list[HistoryEvent]:
    found = []
    for event in commands:
        if kind == "activity" and event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            if name == (attrs.activity_id if by_id else attrs.activity_type.name):
                found.append(event)
        if kind == "child workflow" and event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            if name in (event.start_child_workflow_execution_initiated_event_attributes.workflow_type.name,
                        event.start_child_workflow_execution_initiated_event_attributes.workflow_id):
                found.append(event)
        if kind == "timer" and event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            if event.timer_started_event_attributes.timer_id == name:
                found.append(event)
    return found


def _patch_marker(commands: list[HistoryEvent], patch_id: str) -> HistoryEvent | None:
    return next((e for e in commands if corpus.patch_markers(WorkflowHistory("", [e])) == [(patch_id, False)]), None)


def explain(history: WorkflowHistory, message: str) -> Explanation | None:
    """The divergence the SDK's non-determinism `message` describes, read against `history`; None when the message
    is not one this knows (the SDK's own text is then all there is)."""
    commands = _command_events(history)
    found = _EVENT_ID.search(message)
    event_id = int(found.group(1) or found.group(2)) if found else None
    if match := _PATCH_REMOVED.search(message):
        patch_id = match.group(1).strip()
        event = _patch_marker(commands, patch_id)
        issued = f"no workflow.patched({patch_id!r}) call: the code no longer asks for the patch this workflow recorded"
        guard = (
            f"keep `workflow.patched({patch_id!r})` (or `workflow.deprecate_patch({patch_id!r})` once every workflow "
            f"started before the patch has closed) until no open or retained workflow carries its marker; "
            f"`readiness patches` says when it can go"
        )
        return _build(commands, event, issued, guard)
    if match := _TYPE_MISMATCH.search(message):
        kind, field, recorded_name, issued_name = match.group(1).lower(), match.group(2), match.group(3), match.group(4)
        event = _find(commands, event_id, kind, recorded_name, by_id=field == "id")
        noun = {"activity": "ScheduleActivityTask", "child workflow": "StartChildWorkflowExecution", "timer": "StartTimer"}[kind]
        issued = f"{noun} {issued_name}"
        guard = _guard(_slug(issued_name), issued, f"{noun} {recorded_name}")
        if event is None and len(several := _candidates(commands, kind, recorded_name, by_id=field == "id")) > 1:
            ids = ", ".join(str(e.event_id) for e in several)
            return _build(commands, several[-1], issued, guard, recorded=f"{noun} {recorded_name} (one of events {ids}: the SDK does not say which)")
        return _build(commands, event, issued, guard)
    if match := _MACHINE.search(message):
        machine = match.group(1).lower()
        event = _find(commands, event_id)
        issued = MACHINE_COMMANDS.get(machine, f"issued a {machine} command")
        old = describe(event) if event else "the recorded command"
        return _build(commands, event, f"{issued} where the history recorded {old}", _guard("change-id", issued, old))
    if _NO_COMMAND.search(message):
        event = _find(commands, event_id)
        old = describe(event) if event else "the recorded command"
        issued = "no command (the code skipped this step, or replaced it with a local activity or a side effect)"
        guard = (
            f"if not workflow.patched('change-id'):\n    ...  # old code, kept for the workflows already running it: {old}\n"
            "(the new path skips it)"
        )
        return _build(commands, event, issued, guard)
    return None


def _build(commands: list[HistoryEvent], event: HistoryEvent | None, issued: str, guard: str, recorded: str = "") -> Explanation:
    """`recorded` given: `event` is only the last candidate (the command list is shown up to it), not the known one."""
    upto = commands.index(event) + 1 if event is not None else len(commands)
    shown = commands[max(0, upto - SHOWN_BEFORE - 1):upto]
    return Explanation(
        diverging_event=event.event_id if event is not None and not recorded else None,
        recorded=recorded or (describe(event) if event is not None else "(not found in the history)"),
        issued=issued,
        recorded_commands=tuple(describe(e) for e in shown),
        guard=guard,
    )
