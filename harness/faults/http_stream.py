"""Frame the HTTP/1.x messages of one byte stream as it passes the proxy, without buffering bodies.

`MessageReader.feed(data)` returns the messages whose last byte `data` completed: the start line, the headers
and a SHA-256 of the body (Content-Length, chunked, or for a response without either, everything up to the close).
A stream that is not HTTP/1.x (TLS, HTTP/2, a database protocol) or that switches protocols stops being read:
`opaque` turns true and the bytes keep flowing untouched, since the proxy forwards whatever it reads.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

MAX_HEAD_BYTES = 64 * 1024
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"})
_NO_BODY_STATUS = frozenset({204, 304})


@dataclass(frozen=True)
class Message:
    """One HTTP message, framed."""

    start_line: str
    headers: tuple[tuple[str, str], ...]
    body_sha256: str
    body_bytes: int

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def method(self) -> str:
        return self.start_line.split(" ", 1)[0]

    @property
    def target(self) -> str:
        parts = self.start_line.split(" ")
        return parts[1] if len(parts) > 1 else ""

    @property
    def status(self) -> int:
        parts = self.start_line.split(" ")
        return int(parts[1]) if len(parts) > 1 and _digits(parts[1]) else 0


@dataclass
class _Body:
    mode: Literal["length", "chunked", "until_close"]
    remaining: int = 0  # length: bytes left; chunked: bytes left in the current chunk
    stage: Literal["size", "data", "data_end", "trailers"] = "size"
    digest: object = field(default_factory=hashlib.sha256)
    size: int = 0


class MessageReader:
    """Frames requests (`kind="request"`) or responses (`kind="response"`) of one connection, in order."""

    def __init__(self, kind: Literal["request", "response"]) -> None:
        self.kind = kind
        self.opaque = False
        self._buffer = bytearray()
        self._head: tuple[str, tuple[tuple[str, str], ...]] | None = None
        self._body: _Body | None = None
        self._request_methods: deque[str] = deque()  # responses to HEAD have no body

    def expect_response_to(self, method: str) -> None:
        """Tell a response reader the method of the next request on the connection."""
        self._request_methods.append(method)

    def feed(self, data: bytes) -> list[Message]:
        if self.opaque:
            return []
        self._buffer += data
        done: list[Message] = []
        while not self.opaque:
            message = self._step()
            if message is None:
                break
            done.append(message)
        return done

    @property
    def pending_status(self) -> int | None:
        """The status of a response whose head arrived and whose body did not (yet): what the dependency answered."""
        if self.kind != "response" or self._head is None:
            return None
        parts = self._head[0].split(" ")
        return int(parts[1]) if len(parts) > 1 and _digits(parts[1]) else None

    def close(self) -> list[Message]:
        """The stream ended: a response read until the close is complete now."""
        if self.opaque or self._body is None or self._body.mode != "until_close":
            return []
        return [self._finish()]

    def _step(self) -> Message | None:
        if self._head is None and not self._read_head():
            return None
        if self._body is None:
            return self._finish()
        return self._finish() if self._read_body(self._body) else None

    def _read_head(self) -> bool:
        while self._buffer.startswith(b"\r\n"):  # tolerated between messages
            del self._buffer[:2]
        if self._buffer == b"\r":  # half of such a CRLF: the rest is in the next read
            return False
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES or (self._buffer and not self._plausible_start()):
                self._give_up()
            return False
        try:
            lines = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
            self._give_up()
            return False
        del self._buffer[: end + 4]
        start, headers = lines[0], tuple(_header(line) for line in lines[1:] if line)
        if not self._valid_start(start) or any(h is None for h in headers):
            self._give_up()
            return False
        self._head = (start, headers)  # type: ignore[assignment]
        self._body = self._body_of(start, headers)  # type: ignore[arg-type]
        return self._head is not None  # None: its framing could not be read (Content-Length: abc), reading stopped

    def _plausible_start(self) -> bool:
        """Whether the bytes so far can begin an HTTP/1.x message (a TLS hello or an HTTP/2 preface cannot)."""
        if self.kind == "response":
            n = min(7, len(self._buffer))
            return bytes(self._buffer[:n]) == b"HTTP/1."[:n]
        word, space, _ = bytes(self._buffer[:8]).decode("latin-1").partition(" ")
        return word in _METHODS if space else any(m.startswith(word) for m in _METHODS)

    def _valid_start(self, start: str) -> bool:
        parts = start.split(" ")
        if self.kind == "response":
            return len(parts) >= 2 and parts[0].startswith("HTTP/1.") and _digits(parts[1])
        return len(parts) == 3 and parts[0] in _METHODS and parts[2].startswith("HTTP/1.")

    def _body_of(self, start: str, headers: tuple[tuple[str, str], ...]) -> _Body | None:
        values = {key.lower(): value.strip() for key, value in headers}
        if self.kind == "response":
            status = int(start.split(" ")[1])
            interim = 100 <= status < 200 and status != 101  # 100 Continue, 103 Early Hints: the final answer follows
            method = (self._request_methods[0] if interim else self._request_methods.popleft()) if self._request_methods else ""
            if status == 101 or (method == "CONNECT" and 200 <= status < 300):
                self.opaque = True  # the connection is another protocol from here on
            if status < 200 or status in _NO_BODY_STATUS or method == "HEAD":
                return None
        if "chunked" in values.get("transfer-encoding", "").lower():
            return _Body("chunked")
        if "content-length" in values:
            try:
                length = int(values["content-length"])
            except ValueError:
                self._give_up()
                return None
            return _Body("length", remaining=length) if length > 0 else None
        return _Body("until_close") if self.kind == "response" else None

    def _read_body(self, body: _Body) -> bool:
        """Consume what the buffer holds of the body; True when the body is complete."""
        if body.mode == "until_close":
            self._take(body, len(self._buffer))
            return False
        if body.mode == "length":
            self._take(body, min(body.remaining, len(self._buffer)))
            return body.remaining == 0
        return self._read_chunked(body)

    def _read_chunked(self, body: _Body) -> bool:
        while True:
            if body.stage in ("size", "trailers", "data_end"):
                end = self._buffer.find(b"\r\n")
                if end < 0:
                    if len(self._buffer) > MAX_HEAD_BYTES:
                        self._give_up()
                    return False
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 2]
                if body.stage == "data_end":
                    body.stage = "size"
                elif body.stage == "trailers":
                    if not line:
                        return True
                else:
                    try:
                        body.remaining = int(line.split(b";", 1)[0].strip() or b"x", 16)
                    except ValueError:
                        self._give_up()
                        return False
                    body.stage = "data" if body.remaining else "trailers"
            else:
                self._take(body, min(body.remaining, len(self._buffer)))
                if body.remaining:
                    return False
                body.stage = "data_end"

    def _take(self, body: _Body, count: int) -> None:
        body.digest.update(self._buffer[:count])  # type: ignore[attr-defined]
        body.size += count
        body.remaining -= count if body.mode != "until_close" else 0
        del self._buffer[:count]

    def _finish(self) -> Message:
        assert self._head is not None
        start, headers = self._head
        body = self._body
        digest = (body.digest if body is not None else hashlib.sha256()).hexdigest()  # type: ignore[attr-defined]
        self._head, self._body = None, None
        return Message(start, headers, digest, body.size if body is not None else 0)

    def _give_up(self) -> None:
        self.opaque = True
        self._buffer.clear()
        self._head, self._body = None, None


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes latin-1 superscripts, which int() refuses."""
    return text.isascii() and text.isdigit()


def _header(line: str) -> tuple[str, str] | None:
    name, colon, value = line.partition(":")
    if not colon or not name or name != name.strip():
        return None
    return name, value.strip()
