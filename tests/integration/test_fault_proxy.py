"""The fault proxy over real loopback sockets, in front of an echo server started here (no Temporal needed)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from harness.faults.proxy import FaultProxy, Toxic

pytestmark = pytest.mark.integration

WAIT_S = 5.0  # bound on every wait for something that should happen promptly


class EchoServer:
    """Echoes every byte back; tracks its handler tasks so teardown leaves nothing behind."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task] = set()
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._echo(reader, writer))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _echo(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest_asyncio.fixture
async def echo() -> AsyncIterator[EchoServer]:
    server = EchoServer()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def proxy(echo: EchoServer) -> AsyncIterator[FaultProxy]:
    async with FaultProxy("echo", "127.0.0.1", echo.port, seed=7) as started:
        yield started


class Client:
    """A test client; always closed by the `clients` fixture."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def roundtrip(self, payload: bytes, timeout: float = WAIT_S) -> float:
        started = time.monotonic()
        self.writer.write(payload)
        await self.writer.drain()
        echoed = await asyncio.wait_for(self.reader.readexactly(len(payload)), timeout)
        assert echoed == payload
        return time.monotonic() - started

    async def closed_by_peer(self, timeout: float = WAIT_S) -> bool:
        """True when the peer closed (EOF or reset) within `timeout`; False when still open."""
        try:
            return await asyncio.wait_for(self.reader.read(65536), timeout) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False


@pytest_asyncio.fixture
async def clients() -> AsyncIterator[Callable]:
    opened: list[Client] = []

    async def connect(port: int) -> Client:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), WAIT_S)
        opened.append(Client(reader, writer))
        return opened[-1]

    yield connect
    for client in opened:
        client.writer.transport.abort()
    await asyncio.sleep(0)


async def until(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_pass_through_counts_bytes_and_connections(proxy: FaultProxy, clients) -> None:
    client = await clients(proxy.port)
    await client.roundtrip(b"hello")
    await client.roundtrip(b"x" * 100_000)
    await until(lambda: proxy.stats.bytes_down == 100_005)
    assert proxy.stats.bytes_up == 100_005
    assert proxy.stats.connections == 1 and proxy.stats.active == 1
    second = await clients(proxy.port)
    await second.roundtrip(b"again")
    client.writer.close()
    second.writer.close()
    await until(lambda: proxy.stats.active == 0)
    assert proxy.stats.connections == 2 and proxy.stats.cut == 0 and proxy.stats.upstream_errors == 0


async def test_down_refuses_cuts_and_comes_back_on_the_same_port(proxy: FaultProxy, clients) -> None:
    port = proxy.port
    existing = await clients(port)
    await existing.roundtrip(b"before")
    await proxy.apply(Toxic("down", toxicity=0.0))  # toxicity does not soften `down`
    assert proxy.toxic == Toxic("down", toxicity=0.0)
    assert await proxy.probe_refused()
    with pytest.raises(ConnectionRefusedError):
        await clients(port)
    assert proxy.stats.cut == 1
    assert await existing.closed_by_peer()
    await proxy.remove()
    assert proxy.port == port and proxy.toxic is None
    assert not await proxy.probe_refused()
    await (await clients(port)).roundtrip(b"after")


async def test_apply_cuts_keep_alive_connections_so_they_meet_the_fault(proxy: FaultProxy, clients) -> None:
    old = await clients(proxy.port)
    await old.roundtrip(b"warm")
    await proxy.apply(Toxic("latency", latency_ms=300))
    assert proxy.stats.cut == 1 and proxy.stats.affected == 0
    assert await old.closed_by_peer()
    assert await (await clients(proxy.port)).roundtrip(b"slow") >= 0.25
    assert proxy.stats.affected == 1


async def test_timeout_zero_holds_the_connection_until_removed(proxy: FaultProxy, clients) -> None:
    await proxy.apply(Toxic("timeout"))
    held = await clients(proxy.port)
    held.writer.write(b"anyone there?")
    await held.writer.drain()
    assert not await held.closed_by_peer(timeout=0.5)  # nothing echoed, nothing closed
    assert proxy.stats.active == 1 and proxy.stats.affected == 1 and proxy.stats.bytes_up == 0
    await proxy.remove()
    assert await held.closed_by_peer()
    await (await clients(proxy.port)).roundtrip(b"clean again")


async def test_timeout_closes_the_connection_after_the_delay(proxy: FaultProxy, clients) -> None:
    await proxy.apply(Toxic("timeout", timeout_ms=300))
    started = time.monotonic()
    client = await clients(proxy.port)
    client.writer.write(b"dropped")
    await client.writer.drain()
    assert await client.closed_by_peer(timeout=10.0)
    assert time.monotonic() - started >= 0.25
    assert proxy.stats.bytes_up == 0 and proxy.stats.bytes_down == 0


@pytest.mark.parametrize("timeout_ms", [0, 200])
async def test_reset_peer_resets_the_connection(proxy: FaultProxy, clients, timeout_ms: int) -> None:
    await proxy.apply(Toxic("reset_peer", timeout_ms=timeout_ms))
    started = time.monotonic()
    client = await clients(proxy.port)
    client.writer.write(b"ping")
    with contextlib.suppress(ConnectionError):
        await client.writer.drain()
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(client.reader.read(100), WAIT_S)
    assert time.monotonic() - started >= timeout_ms / 1000 * 0.8
    assert proxy.stats.affected == 1


@pytest.mark.parametrize("timeout_ms", [0, 400])
async def test_downstream_reset_peer_lets_the_request_through_and_resets_the_caller_its_timeout_after_the_answer_starts(
    proxy: FaultProxy, clients, timeout_ms: int
) -> None:
    await proxy.apply(Toxic("reset_peer", stream="downstream", timeout_ms=timeout_ms))
    client = await clients(proxy.port)
    client.writer.write(b"ping")
    await client.writer.drain()
    started = time.monotonic()
    with pytest.raises(ConnectionResetError):
        assert await asyncio.wait_for(client.reader.read(100), WAIT_S) == b""  # never the echo
    waited = time.monotonic() - started
    assert (waited >= 0.3) if timeout_ms else (waited < 0.3)
    assert (proxy.stats.bytes_up, proxy.stats.bytes_down, proxy.stats.answers_lost) == (4, 0, 1)


async def test_reset_peer_without_a_timeout_refuses_every_call_it_counts_even_with_the_upstream_gone(
    echo: EchoServer, clients
) -> None:
    async with FaultProxy("echo", "127.0.0.1", echo.port) as proxy:
        await echo.stop()  # nothing to dial: the proxy answers on its own
        await proxy.apply(Toxic("reset_peer"))
        for _ in range(3):
            client = await clients(proxy.port)
            with pytest.raises(ConnectionResetError):
                await asyncio.wait_for(client.reader.read(100), WAIT_S)
        assert (proxy.stats.connections, proxy.stats.affected, proxy.stats.upstream_errors) == (3, 3, 0)


async def test_latency_delays_round_trips(proxy: FaultProxy, clients) -> None:
    await proxy.apply(Toxic("latency", latency_ms=300))
    client = await clients(proxy.port)
    assert await client.roundtrip(b"slow") >= 0.25
    assert proxy.stats.affected == 1


async def test_latency_with_toxicity_zero_affects_nobody(proxy: FaultProxy, clients) -> None:
    await proxy.apply(Toxic("latency", latency_ms=300, toxicity=0.0))
    for _ in range(3):
        await (await clients(proxy.port)).roundtrip(b"fast")
    assert proxy.stats.affected == 0


async def test_toxicity_picks_some_connections(echo: EchoServer, clients) -> None:
    async with FaultProxy("echo", "127.0.0.1", echo.port, seed=11) as proxy:
        await proxy.apply(Toxic("latency", latency_ms=1, toxicity=0.5))
        for _ in range(30):
            await (await clients(proxy.port)).roundtrip(b"x")
        assert 0 < proxy.stats.affected < 30


async def test_latency_with_jitter_keeps_order(proxy: FaultProxy, clients) -> None:
    await proxy.apply(Toxic("latency", latency_ms=40, jitter_ms=35))
    client = await clients(proxy.port)
    messages = [f"message {i:03d};".encode() for i in range(40)]
    for message in messages:
        client.writer.write(message)
        await client.writer.drain()
        await asyncio.sleep(0.005)
    expected = b"".join(messages)
    assert await asyncio.wait_for(client.reader.readexactly(len(expected)), 20.0) == expected


async def test_removing_latency_lifts_it_from_live_connections(proxy: FaultProxy, clients) -> None:
    await proxy.apply(Toxic("latency", latency_ms=2000))
    client = await clients(proxy.port)
    await proxy.remove()
    assert await client.roundtrip(b"quick") < 1.5  # far below the 4 s a delayed round trip would take


async def test_bandwidth_limits_throughput(proxy: FaultProxy, clients) -> None:
    await proxy.apply(Toxic("bandwidth", rate_kbps=8))
    client = await clients(proxy.port)
    assert await client.roundtrip(b"b" * 16 * 1024, timeout=30.0) >= 1.5


async def test_fault_context_removes_the_toxic_when_the_body_raises(proxy: FaultProxy, clients) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with proxy.fault(Toxic("down")) as stats:
            assert stats is proxy.stats
            assert await proxy.probe_refused()
            raise RuntimeError("boom")
    assert proxy.toxic is None
    assert not await proxy.probe_refused()
    await (await clients(proxy.port)).roundtrip(b"up")


async def test_fault_context_removes_the_toxic_when_cancelled(proxy: FaultProxy, clients) -> None:
    entered = asyncio.Event()

    async def hold_fault() -> None:
        async with proxy.fault(Toxic("timeout")):
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(hold_fault())
    await asyncio.wait_for(entered.wait(), WAIT_S)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, WAIT_S)
    assert proxy.toxic is None
    await (await clients(proxy.port)).roundtrip(b"up")


async def test_unreachable_upstream_closes_the_client_and_is_counted(clients) -> None:
    with socket.socket() as placeholder:  # a port nobody listens on
        placeholder.bind(("127.0.0.1", 0))
        dead_port = placeholder.getsockname()[1]
    async with FaultProxy("nowhere", "127.0.0.1", dead_port) as proxy:
        for expected_errors in (1, 2):
            client = await clients(proxy.port)
            assert await client.closed_by_peer()
            await until(lambda n=expected_errors: proxy.stats.upstream_errors == n)
        await until(lambda: proxy.stats.active == 0)
        assert not await proxy.probe_refused()


async def test_stop_closes_every_connection(echo: EchoServer, clients) -> None:
    proxy = FaultProxy("echo", "127.0.0.1", echo.port)
    await proxy.start()
    plain = await clients(proxy.port)
    await plain.roundtrip(b"hi")
    await proxy.apply(Toxic("timeout"))
    held = await clients(proxy.port)
    await until(lambda: proxy.stats.active == 1)
    await proxy.stop()
    assert proxy.stats.active == 0
    assert await held.closed_by_peer()
    assert await proxy.probe_refused()
    await proxy.stop()  # idempotent
    await until(lambda: not echo.tasks)  # the proxy closed its upstream side too
