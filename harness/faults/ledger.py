"""The side-effect ledger: every HTTP request that reached a dependency through its proxy, with who sent it.

A dependency declared with `http:` gets a `RequestLedger` on its `FaultProxy`. Each connection's bytes are framed
(`http_stream`) as they are forwarded, and each request is recorded when its last byte has gone to the dependency:
method, path, the configured idempotency header, a hash of the body, the activity attempt that sent it (the
`X-Readiness-Attempt` header that the harness's Python workers add, see `request_tags`), the scenario running, and
whether the dependency's answer was passed on to the caller (a fault can lose it after the dependency acted, and
a caller killed meanwhile has closed its side).
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from harness.faults.http_stream import Message, MessageReader

_log = logging.getLogger(__name__)
TAG_HEADER = "X-Readiness-Attempt"
TAG_ENV = "READINESS_TAG_REQUESTS"
"""Set for the workers when a dependency keeps a ledger: they tag each request an activity attempt sends."""
_TAG_FIELDS = ("workflow_id", "run_id", "activity_id", "activity_type", "attempt")


def format_tag(workflow_id: str, run_id: str, activity_id: str, activity_type: str, attempt: int) -> str:
    values = (workflow_id, run_id, activity_id, activity_type, str(attempt))
    return ";".join(f"{name}={quote(value, safe='')}" for name, value in zip(_TAG_FIELDS, values))


def parse_tag(value: str | None) -> dict[str, Any] | None:
    """The attempt a tag names, or None when it is absent or malformed."""
    if not value:
        return None
    pairs = dict(part.partition("=")[::2] for part in value.split(";"))
    if set(pairs) != set(_TAG_FIELDS) or not pairs["attempt"].isdigit():
        return None
    tag: dict[str, Any] = {name: unquote(pairs[name]) for name in _TAG_FIELDS}
    tag["attempt"] = int(pairs["attempt"])
    return tag


@dataclass
class RequestLedger:
    """The requests one dependency received, in arrival order (JSON-ready dicts)."""

    dependency: str
    idempotency_header: str
    scenario: str = ""
    """Set by the runner to the scenario in progress; recorded with each request."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    opaque_connections: int = 0
    """Connections whose bytes were not HTTP/1.x (TLS, HTTP/2, ...): forwarded, not recorded."""
    _connections: int = 0

    def connection(self) -> ConnectionLedger:
        self._connections += 1
        return ConnectionLedger(self, self._connections)

    def record(self, message: Message, connection: int) -> dict[str, Any]:
        entry = {
            "seq": len(self.requests) + 1,
            "at": round(time.time(), 4),
            "scenario": self.scenario,
            "connection": connection,
            "method": message.method,
            "path": message.target.split("?", 1)[0],
            "idempotency_key": message.header(self.idempotency_header),
            "body_sha256": message.body_sha256[:16],
            "body_bytes": message.body_bytes,
            "attempt": parse_tag(message.header(TAG_HEADER)),
            "status": None,
            "answer_delivered": None,
        }
        self.requests.append(entry)
        return entry

    @classmethod
    def merged(cls, ledgers: list[RequestLedger]) -> RequestLedger:
        """One dependency's ledgers from several proxy sets (one per scenario lane) as one, in arrival order;
        connection numbers stay distinct."""
        first = ledgers[0]
        whole = cls(first.dependency, first.idempotency_header)
        entries: list[dict[str, Any]] = []
        for ledger in ledgers:
            entries += [{**entry, "connection": entry["connection"] + whole._connections} for entry in ledger.requests]
            whole._connections += ledger._connections
            whole.opaque_connections += ledger.opaque_connections
        entries.sort(key=lambda entry: entry["at"])  # stable: one lane's requests keep their order
        whole.requests = [{**entry, "seq": seq} for seq, entry in enumerate(entries, 1)]
        return whole

    def write(self, path: Path) -> None:
        """One JSON object per line, written whole (to a temporary name, then renamed)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_text("".join(json.dumps(entry, sort_keys=True) + "\n" for entry in self.requests), encoding="utf-8")
        partial.replace(path)


class ConnectionLedger:
    """One client connection: requests as they are forwarded, answers matched to them in order."""

    def __init__(self, ledger: RequestLedger, number: int) -> None:
        self._ledger = ledger
        self._number = number
        self._requests = MessageReader("request")
        self._responses = MessageReader("response")
        self._waiting: deque[dict[str, Any]] = deque()
        self._answer_lost = False
        self._caller_gone = False

    def caller_left(self) -> None:
        """The caller closed its side (a killed worker's sockets close too): what is answered now reaches nobody."""
        self._caller_gone = True

    def sent(self, data: bytes) -> None:
        """Bytes that were written to the dependency."""
        try:
            for message in self._requests.feed(data):
                self._responses.expect_response_to(message.method)
                self._waiting.append(self._ledger.record(message, self._number))
        except Exception:  # noqa: BLE001 - recording must never break the traffic it watches
            self._stop_reading("request")

    def answered(self, data: bytes, *, delivered: bool) -> None:
        """Bytes the dependency answered with; `delivered` False when a fault kept them from the caller."""
        self._answer_lost |= not delivered or self._caller_gone
        try:
            self._settle(self._responses.feed(data))
        except Exception:  # noqa: BLE001
            self._stop_reading("response")

    def _stop_reading(self, side: str) -> None:
        _log.warning("%s: could not read a %s on connection %d; the rest of it is forwarded unrecorded",
                     self._ledger.dependency, side, self._number, exc_info=True)
        self._requests.opaque = self._responses.opaque = True

    def closed(self) -> None:
        self._settle(self._responses.close())
        if self._waiting:  # an answer cut short still says what the dependency did
            self._waiting[0]["status"] = self._responses.pending_status
        for entry in self._waiting:  # the dependency never answered, or the caller never got the whole answer
            entry["answer_delivered"] = False
        self._waiting.clear()
        if self._requests.opaque or self._responses.opaque:
            self._ledger.opaque_connections += 1

    def _settle(self, responses: list[Message]) -> None:
        for response in responses:
            if 100 <= response.status < 200 and response.status != 101:
                continue  # an interim answer; the request's own answer is still to come
            if not self._waiting:
                break
            entry = self._waiting.popleft()
            entry["status"] = response.status
            entry["answer_delivered"] = not self._answer_lost
            self._answer_lost = False
