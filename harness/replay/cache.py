"""Binary copies of the histories the first pass parsed, for the later passes to read instead of the JSON.

Parsing a history's JSON into protobuf is a quarter of a replay's time; reading the protobuf back is a
hundredth of it. The first pass's processes write one `History` file per history file (named after its
path) into the run's scratch folder; a later pass's processes read it. An entry that is missing, cut short
or not a history (a disk that filled up, a process killed mid-pass) is not an error: the caller loads the
JSON again, so every outcome is the same with or without the cache.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from google.protobuf.message import DecodeError
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory


class HistoryCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def entry(self, path: Path) -> Path:
        return self.folder / (hashlib.sha1(str(path).encode()).hexdigest() + ".pb")

    def save(self, path: Path, history: WorkflowHistory) -> None:
        """Written whole or not at all (renamed into place); a failure to write only loses the shortcut."""
        entry = self.entry(path)
        partial = entry.with_suffix(f".{os.getpid()}.partial")
        try:
            partial.write_bytes(History(events=history.events).SerializeToString())
            os.replace(partial, entry)
        except OSError:
            partial.unlink(missing_ok=True)

    def load(self, path: Path) -> WorkflowHistory | None:
        """The history saved for `path`, or None when there is no usable entry."""
        try:
            events = History.FromString(self.entry(path).read_bytes()).events
        except (OSError, DecodeError):
            return None
        if not events or events[0].event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            return None
        workflow_id = events[0].workflow_execution_started_event_attributes.workflow_id
        return WorkflowHistory(workflow_id or path.stem, events)
