"""An in-process asyncio TCP proxy that injects network faults, with Toxiproxy's semantics.

A `FaultProxy` sits between a workload and one dependency (a database, an HTTP API, the Temporal
frontend). With no toxic it is a transparent byte pipe that counts connections and bytes. `apply()` cuts
every existing connection and then lets one `Toxic` govern the new ones: `down` closes the listener,
`timeout` swallows data, `reset_peer` answers with a TCP RST (at once, without dialling the upstream, when its
timeout is 0: every call is accepted, counted and refused, where `down` leaves refusals uncounted), `latency` and `bandwidth` shape the stream in
both directions. Whether a connection is affected is drawn once per connection against the toxic's
`toxicity`. `stream` limits a toxic to one direction, as in Toxiproxy: with `downstream`, `timeout` and `reset_peer`
let each request reach the upstream and lose its answer (swallowed, or the caller is reset when the answer starts or
`timeout_ms` after):
the dependency acted, the caller saw a failure. `remove()` (or leaving `fault()`) restores a clean pass-through on
the same port. With a `RequestLedger`, the HTTP requests forwarded (and whether their answers got back) are recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass

from harness.faults.ledger import ConnectionLedger, RequestLedger
from harness.faults.toxics import TOXIC_KINDS, Toxic, ToxicKind, affects, bandwidth_delay, bandwidth_slices, chunk_delay

__all__ = ["TOXIC_KINDS", "FaultProxy", "ProxyStats", "Toxic", "ToxicKind", "affects", "bandwidth_delay", "bandwidth_slices", "chunk_delay"]

_log = logging.getLogger(__name__)

_READ_SIZE = 64 * 1024
_QUEUED_CHUNKS = 64  # per direction; beyond this the reader waits, so a slow toxic back-pressures the sender
_CONNECT_TIMEOUT_S = 5.0
_CLOSE_GRACE_S = 1.0
_PROBE_TIMEOUT_S = 2.0


@dataclass
class ProxyStats:
    """Counters of one proxy; `affected` restarts at 0 each time a fault is applied."""

    connections: int = 0  # accepted client connections, total
    active: int = 0  # currently open
    bytes_up: int = 0  # client -> upstream, forwarded
    bytes_down: int = 0  # upstream -> client, forwarded
    cut: int = 0  # existing connections closed because a fault started
    affected: int = 0  # connections the current/last toxic applied to
    upstream_errors: int = 0  # connections whose upstream could not be reached
    answers_lost: int = 0  # connections whose answer a downstream timeout/reset_peer kept from the client

    def snapshot(self) -> dict[str, int]:
        return asdict(self)


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            # linger on with a zero timeout turns the close into an RST instead of a FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _close(writer: asyncio.StreamWriter) -> None:
    """Flush what is still buffered (briefly), then close; a peer that stopped reading just gets dropped."""
    try:
        with contextlib.suppress(OSError, TimeoutError):
            writer.transport.set_write_buffer_limits(0)
            await asyncio.wait_for(writer.drain(), _CLOSE_GRACE_S)
    finally:
        # abort(), unlike close(), never waits on the buffer and is a no-op on a transport already lost
        writer.transport.abort()


async def _discard(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(OSError):
        while await reader.read(_READ_SIZE):
            pass


class FaultProxy:
    """A TCP proxy in front of one upstream; see the module docstring."""

    def __init__(
        self, name: str, upstream_host: str, upstream_port: int, *, listen_host: str = "127.0.0.1", listen_port: int = 0,
        seed: int | None = None, ledger: RequestLedger | None = None,
    ) -> None:
        self.name = name
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.listen_host = listen_host
        self.stats = ProxyStats()
        self.ledger = ledger
        self._port = listen_port
        self._rng = random.Random(seed)
        self._toxic: Toxic | None = None
        self._server: asyncio.Server | None = None
        self._running = False
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}  # task -> its client's writer
        self._held: set[asyncio.Task[None]] = set()  # connections a timeout/reset_peer toxic is holding

    def __repr__(self) -> str:
        return f"FaultProxy({self.name!r}, :{self._port} -> {self.upstream_host}:{self.upstream_port}, toxic={self._toxic})"

    @property
    def port(self) -> int:
        return self._port

    @property
    def toxic(self) -> Toxic | None:
        return self._toxic

    async def start(self) -> int:
        if not self._running:
            self._running = True
            if self._toxic is None or self._toxic.kind != "down":
                await self._listen()
        return self._port

    async def stop(self) -> None:
        self._running = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self._cut(list(self._connections))
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def apply(self, toxic: Toxic) -> None:
        """Cut the existing connections, then let `toxic` govern new ones (replacing any active toxic)."""
        self._toxic = toxic
        self.stats.affected = 0
        existing = list(self._connections)  # taken before any await: later accepts already meet `toxic`
        server = None
        if toxic.kind == "down":
            server, self._server = self._server, None
            if server is not None:
                server.close()
        await self._cut(existing, count=True)
        if server is not None:
            await server.wait_closed()
        elif self._running and self._server is None:
            await self._listen()

    async def remove(self) -> None:
        """Back to a clean pass-through: re-listen after `down`, close connections held by timeout/reset_peer."""
        self._toxic = None
        if self._running and self._server is None:
            await self._listen()
        await self._cut(list(self._held))

    @contextlib.asynccontextmanager
    async def fault(self, toxic: Toxic) -> AsyncIterator[ProxyStats]:
        await self.apply(toxic)
        try:
            yield self.stats
        finally:
            await self.remove()

    async def probe_refused(self) -> bool:
        """True when a fresh connection to the proxy's port is refused (a probe that gets in counts as a connection)."""
        host = "127.0.0.1" if self.listen_host in ("", "0.0.0.0", "::") else self.listen_host
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a Ctrl-C that lands just as the
            # (instant) refusal arrives, and the run would carry on through an interrupt.
            async with asyncio.timeout(_PROBE_TIMEOUT_S):
                _, writer = await asyncio.open_connection(host, self._port)
        except ConnectionRefusedError:
            return True
        except (OSError, TimeoutError):
            return False
        await _close(writer)
        return False

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._on_accept, self.listen_host, self._port, reuse_address=True)
        self._port = self._server.sockets[0].getsockname()[1]

    async def _cut(self, tasks: list[asyncio.Task[None]], *, count: bool = False) -> None:
        writers = [self._connections[t] for t in tasks if t in self._connections]
        for task in tasks:
            if not task.done() and not task.cancelling():
                task.cancel()
                if count:
                    self.stats.cut += 1
        await asyncio.gather(*tasks, return_exceptions=True)
        for writer in writers:  # a task cancelled before its first step never ran its cleanup
            writer.transport.abort()

    def _on_accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        toxic = self._toxic
        if toxic is not None and toxic.kind != "down" and affects(self._rng, toxic.toxicity):
            self.stats.affected += 1
        else:
            toxic = None
        self.stats.connections += 1
        self.stats.active += 1
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer, toxic), name=f"{self.name}-connection")
        self._connections[task] = writer
        if toxic is not None and toxic.kind in ("timeout", "reset_peer") and not toxic.loses_answers():
            self._held.add(task)  # a toxic that only loses answers holds a connection once it lost one (_lose)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._connections.pop(task, None)
        self._held.discard(task)
        self.stats.active -= 1
        if not task.cancelled() and (error := task.exception()) is not None:
            _log.warning("%s: connection handler failed: %r", self.name, error)

    async def _serve(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter, toxic: Toxic | None) -> None:
        """One client connection, start to end; `toxic` is the toxic it was chosen for, if any."""
        upstream: asyncio.StreamWriter | None = None
        graceful = True  # False when cut: drop at once instead of flushing
        ledger = self.ledger.connection() if self.ledger is not None else None
        holds = toxic is not None and toxic.kind in ("timeout", "reset_peer") and not toxic.loses_answers()
        try:
            if holds and toxic.kind == "reset_peer" and toxic.timeout_ms == 0:
                graceful = False  # accept and reset at once, never reaching the upstream: a counted refusal
                _reset(client)
                return
            try:
                upstream_reader, upstream = await asyncio.wait_for(
                    asyncio.open_connection(self.upstream_host, self.upstream_port), _CONNECT_TIMEOUT_S
                )
            except (OSError, TimeoutError):
                self.stats.upstream_errors += 1
                return
            if holds:
                await self._hold(client_reader, upstream_reader, toxic)
                if toxic.kind == "reset_peer":
                    graceful = False
                    _reset(client)
                return
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._forward(client_reader, upstream, toxic, ledger, upstream=True))
                    group.create_task(self._forward(upstream_reader, client, toxic, ledger, upstream=False))
            except* OSError:
                pass  # either peer went away mid-stream; the connection is over
            except* _AnswerReset:
                graceful = False
        except asyncio.CancelledError:
            graceful = False
            raise
        finally:
            try:
                if ledger is not None:
                    ledger.closed()
            finally:
                for writer in filter(None, (client, upstream)):
                    if graceful:
                        await _close(writer)
                    else:
                        writer.transport.abort()

    async def _hold(self, client_reader: asyncio.StreamReader, upstream_reader: asyncio.StreamReader, toxic: Toxic) -> None:
        """Swallow data both ways until the client leaves or the toxic's timeout passes (0 with `timeout`: until cut)."""
        seconds = toxic.timeout_ms / 1000 if toxic.timeout_ms or toxic.kind == "reset_peer" else None
        if seconds == 0:
            return
        upstream_drain = asyncio.create_task(_discard(upstream_reader))
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_discard(client_reader), seconds)
        finally:
            upstream_drain.cancel()
            await asyncio.gather(upstream_drain, return_exceptions=True)

    async def _forward(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, toxic: Toxic | None, ledger: ConnectionLedger | None,
        *, upstream: bool,
    ) -> None:
        """Copy one direction. A separate reader task stamps each chunk on arrival, so latency is added once per
        chunk (not accumulated) while this single writer keeps the chunks in order. A connection no toxic governs
        (none ever will: applying one cuts it) is copied without that hop, so the idle proxy costs next to nothing."""
        if toxic is None:
            while chunk := await reader.read(_READ_SIZE):
                self._pass(chunk, writer, ledger, upstream=upstream)
                await writer.drain()
            self._ended(writer, ledger, upstream=upstream)
            return
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(_QUEUED_CHUNKS)
        lost = False  # an answer of this connection was kept from the client
        reset_at: float | None = None  # when a downstream reset_peer with a timeout resets the client

        async def read_side() -> None:
            with contextlib.suppress(OSError):  # a peer that went away ends the stream (a pending reset still comes)
                while chunk := await reader.read(_READ_SIZE):
                    await queue.put((loop.time(), chunk))
            await queue.put(None)

        async with asyncio.TaskGroup() as group:
            group.create_task(read_side())
            while (item := await _next_chunk(queue, reset_at, writer)) is not None:
                arrived, chunk = item
                live = toxic if toxic is not None and self._toxic is toxic else None  # remove() lifts it from live links
                if not upstream and toxic is not None and (lost or (live is not None and live.loses_answers())):
                    self.stats.answers_lost += not lost
                    if not lost and toxic.kind == "reset_peer" and toxic.timeout_ms:
                        reset_at = loop.time() + toxic.timeout_ms / 1000  # as Toxiproxy: the timeout runs from the answer's start
                    lost = True  # the rest of a broken answer is lost too, even once the toxic is lifted
                    self._lose(chunk, toxic, writer, ledger)
                    continue
                shaping = live if live is not None and live.shapes(upstream=upstream) else None
                if shaping is not None and shaping.kind == "latency":
                    await asyncio.sleep(max(0.0, arrived + chunk_delay(shaping, self._rng) - loop.time()))
                rate = shaping.rate_kbps if shaping is not None and shaping.kind == "bandwidth" else 0
                for piece in bandwidth_slices(chunk, rate) if rate else [chunk]:
                    if rate:
                        await asyncio.sleep(bandwidth_delay(len(piece), rate))
                    self._pass(piece, writer, ledger, upstream=upstream)
                    await writer.drain()
            self._ended(writer, ledger, upstream=upstream)

    def _pass(self, piece: bytes, writer: asyncio.StreamWriter, ledger: ConnectionLedger | None, *, upstream: bool) -> None:
        """Write one piece on and account for it (the caller drains)."""
        writer.write(piece)
        if upstream:
            self.stats.bytes_up += len(piece)
            if ledger is not None:
                ledger.sent(piece)
        else:
            self.stats.bytes_down += len(piece)
            if ledger is not None:
                ledger.answered(piece, delivered=True)

    @staticmethod
    def _ended(writer: asyncio.StreamWriter, ledger: ConnectionLedger | None, *, upstream: bool) -> None:
        if upstream and ledger is not None:
            ledger.caller_left()
        if writer.can_write_eof():
            writer.write_eof()

    def _lose(self, chunk: bytes, toxic: Toxic, client: asyncio.StreamWriter, ledger: ConnectionLedger | None) -> None:
        """An answer that a downstream toxic keeps from the client: swallowed (timeout) or the client reset (reset_peer)."""
        if ledger is not None:
            ledger.answered(chunk, delivered=False)
        if toxic.kind == "timeout" or toxic.timeout_ms:  # the answer is broken now: remove() closes the connection
            self._held.update(task for task, writer in self._connections.items() if writer is client)
        if toxic.kind == "reset_peer" and not toxic.timeout_ms:
            _reset(client)
            raise _AnswerReset


async def _next_chunk(
    queue: asyncio.Queue[tuple[float, bytes] | None], reset_at: float | None, client: asyncio.StreamWriter
) -> tuple[float, bytes] | None:
    """The next chunk to forward (None at the end of the stream); once `reset_at` (loop time) passes, the client is
    reset instead, even if the stream ended before."""
    if reset_at is None:
        return await queue.get()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout_at(reset_at):
            if (item := await queue.get()) is not None:
                return item
            await asyncio.Event().wait()  # the upstream finished: the reset still comes at its time
    _reset(client)
    raise _AnswerReset


class _AnswerReset(Exception):
    """Ends a connection whose client was reset as its answer arrived."""
