"""Name why a history did not replay, from the error the SDK gave (pure; unit-tested on real SDK messages).

    nondeterminism  the code issued other commands than the history recorded (TMPRL1100)
    sandbox         workflow code touched something the sandbox restricts (time, I/O, ...)
    unregistered    the history's workflow type is not among the replayed classes
    error           anything else the workflow code raised while replaying
    hash_order      replays under one PYTHONHASHSEED and not another (decided by `combine`, not here)
"""

from __future__ import annotations

import re

KINDS = ("nondeterminism", "sandbox", "unregistered", "error", "hash_order")

_CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')
_FAILURE_TYPE = re.compile(r'r#type: "([^"]*)"')
_EVENT_ID = re.compile(r"HistoryEvent\(id: (\d+)|\bevent[ _]id[:= ]+(\d+)", re.IGNORECASE)


def short_message(message: str) -> str:
    """The SDK core wraps replay errors in a Rust debug dump; keep the human sentence inside it."""
    match = _CORE_MESSAGE.search(message)
    text = match.group(1).replace('\\"', '"').replace("\\'", "'") if match else message
    return text.strip()[:500]


def classify(error_class: str, raw_message: str) -> tuple[str, str, int | None]:
    """(kind, human message, diverging event id or None) of one replay failure."""
    failure_type = (_FAILURE_TYPE.search(raw_message) or [None, ""])[1]
    if error_class == "NondeterminismError" or "TMPRL1100" in raw_message:
        kind = "nondeterminism"
    elif "RestrictedWorkflowAccessError" in (error_class, failure_type):
        kind = "sandbox"
    elif failure_type == "NotFoundError" and "not registered" in raw_message:
        kind = "unregistered"
    else:
        kind = "error"
    event = _EVENT_ID.search(raw_message)
    event_id = int(event.group(1) or event.group(2)) if event else None
    return kind, short_message(raw_message), event_id
