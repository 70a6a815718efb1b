"""History files: find them (streamed, never listed into memory all at once) and load one.

Accepted formats, all JSON: `temporal workflow show -o json` and the SDKs' `to_json()` (proto JSON, an
object with `events`), the Temporal UI's download (PascalCase enum names, or a bare list of events), and the
harness's own captures (proto JSON).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from google.protobuf.json_format import ParseError
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from harness.errors import ConfigError
from harness.replay import protojson

PATCH_MARKER = "core_patch"


def check_paths(paths: Sequence[Path]) -> None:
    for path in paths:
        if not (path.is_file() or path.is_dir()):
            raise ConfigError("no such history file or folder", file=str(path))


def discover(paths: Sequence[Path]) -> Iterator[Path]:
    """Every `*.json` under the given files and folders, in a stable order; hidden files and folders are skipped
    (the harness keeps its run reports for a capture in `.run/`)."""
    for path in paths:
        if path.is_file():
            yield path
            continue
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.endswith(".json") and not name.startswith("."):
                    yield Path(folder) / name


def load(path: Path) -> WorkflowHistory:
    """One history; ConfigError naming the file when it is unreadable, not JSON or not a workflow history."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason}", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", file=str(path)) from None
    except RecursionError:
        raise ConfigError("JSON nested too deeply to be a workflow history", file=str(path)) from None
    if isinstance(data, list):
        data = {"events": data}
    if not isinstance(data, dict) or not isinstance(data.get("events"), list) or not data["events"]:
        raise ConfigError(
            "expected a workflow history (a JSON object with a non-empty `events` list, as written by "
            "`temporal workflow show -o json` or the UI's download)", file=str(path),
        )
    parsed = protojson.parse(data)
    try:
        history = WorkflowHistory(path.stem, parsed.events) if parsed is not None else WorkflowHistory.from_json(path.stem, data)
    except (ParseError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ConfigError(f"not a Temporal history: {str(exc)[:300]}", file=str(path)) from None
    first = history.events[0]
    if first.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        raise ConfigError("the first event is not WorkflowExecutionStarted (a truncated history?)", file=str(path))
    if problem := sequence_problem(history):
        raise ConfigError(f"not a history the server could have written: {problem}", file=str(path))
    workflow_id = first.workflow_execution_started_event_attributes.workflow_id
    return WorkflowHistory(workflow_id, history.events) if workflow_id else history


_WFT_STARTED = EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
_AFTER_WFT_STARTED = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
}


def _name(event_type: int) -> str:
    return EventType.Name(event_type).removeprefix("EVENT_TYPE_") if event_type in EventType.values() else str(event_type)


def sequence_problem(history: WorkflowHistory) -> str | None:
    """What makes the event sequence one the server never writes, or None. The SDK's replayer does not report such a
    history: its history poller dies and the replay waits forever (no run id in the start event, events out of
    order, a workflow task start followed by anything but its completion, failure or timeout)."""
    events = history.events
    if not events[0].workflow_execution_started_event_attributes.original_execution_run_id:
        return "the WorkflowExecutionStarted event has no originalExecutionRunId (the run id replay keys on)"
    for index, event in enumerate(events):
        if event.event_id != index + 1:
            return f"event {index + 1} has id {event.event_id} (events are numbered 1, 2, 3... in order)"
        if event.event_type != _WFT_STARTED:
            continue
        if index + 1 < len(events) and (after := events[index + 1]).event_type not in _AFTER_WFT_STARTED:
            return (
                f"event {after.event_id} ({_name(after.event_type)}) follows the start of a workflow task, which only its "
                "completion, failure or timeout (or the workflow's termination or timeout) can follow"
            )
    return None


def has_workflow_task(history: WorkflowHistory) -> bool:
    """False for a history the workflow code has not run on yet (only its start, e.g. while a start delay runs)."""
    return any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED for e in history.events)


def workflow_type(history: WorkflowHistory) -> str:
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name


def patch_markers(history: WorkflowHistory) -> list[tuple[str, bool]]:
    """(patch id, deprecated) of every `workflow.patched()` / `deprecate_patch()` marker in the history."""
    markers = []
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
            continue
        attrs = event.marker_recorded_event_attributes
        if attrs.marker_name != PATCH_MARKER:
            continue
        payloads = [p for key in ("patch-data", "patch_data") if key in attrs.details for p in attrs.details[key].payloads]
        try:
            data = json.loads(payloads[0].data) if payloads else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            markers.append((data["id"], bool(data.get("deprecated"))))
    return markers
