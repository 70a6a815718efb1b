"""Supervise the app's worker processes: start, confirm polling, SIGKILL, restart, scrape metrics, stop."""

from __future__ import annotations

import asyncio
import signal as signals
import sys
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from harness import processes, worker_main
from harness.config.models import WorkerConfig
from harness.errors import ProcessError
from harness.observe.model import KillRecord

POLL_READY_TIMEOUT_S = 45.0


@dataclass
class WorkerProcess:
    config: WorkerConfig
    index: int
    generation: int
    identity: str
    metrics_port: int | None
    log_path: Path
    proc: asyncio.subprocess.Process

    @property
    def label(self) -> str:
        return f"{self.config.name}-{self.index}"


async def task_queue_pollers(client: Client, task_queue: str) -> set[str]:
    """Identities the server lists as polling the task queue for workflow tasks."""
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return {poller.identity for poller in response.pollers}


class WorkerSupervisor:
    """Owns every worker process of a run. Use as an async context manager: exit stops them all."""

    def __init__(
        self,
        workers: list[WorkerConfig],
        *,
        client: Client,
        task_queue: str,
        base_env: dict[str, str],
        app_path: Path,
        log_dir: Path,
    ) -> None:
        self._configs = workers
        self._client = client
        self._task_queue = task_queue
        self._base_env = base_env
        self._app_path = app_path
        self._log_dir = log_dir
        self._generation = 0
        self.running: list[WorkerProcess] = []

    async def __aenter__(self) -> WorkerSupervisor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop_all()

    async def start_all(self) -> list[WorkerProcess]:
        """Start every configured worker and return once each one is seen polling the task queue."""
        known = await task_queue_pollers(self._client, self._task_queue)
        started = []
        for config in self._configs:
            for index in range(config.count):
                started.append(await self._spawn(config, index))
        self.running.extend(started)
        await asyncio.gather(*(self._wait_polling(w, known) for w in started))
        return started

    async def _spawn(self, config: WorkerConfig, index: int) -> WorkerProcess:
        identity = f"{config.name}-{index}-g{self._generation}"
        metrics_port = processes.free_port() if config.python else None
        env = {
            **self._base_env,
            **config.env,
            "TEMPORAL_TASK_QUEUE": self._task_queue,
            worker_main.IDENTITY_ENV: identity,
            "PYTHONPATH": _python_path(self._app_path, self._base_env.get("PYTHONPATH")),
        }
        if config.python:
            env[worker_main.SPEC_ENV] = config.python.model_dump_json()
            env[worker_main.METRICS_PORT_ENV] = str(metrics_port)
            argv = [sys.executable, "-m", "harness.worker_main"]
        else:
            argv = [part.replace("{python}", sys.executable) for part in config.command or []]
        log_path = self._log_dir / f"{identity}.log"
        try:
            proc = await processes.spawn(argv, env=env, log_path=log_path, cwd=self._app_path)
        except OSError as exc:
            raise ProcessError(f"cannot start worker {identity} ({argv[0]}): {exc}") from exc
        return WorkerProcess(config, index, self._generation, identity, metrics_port, log_path, proc)

    async def _wait_polling(self, worker: WorkerProcess, known_before: set[str]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + POLL_READY_TIMEOUT_S
        while loop.time() < deadline:
            if worker.proc.returncode is not None:
                raise ProcessError(
                    f"worker {worker.identity} exited with code {worker.proc.returncode} before polling:\n"
                    f"{processes.tail(worker.log_path)}"
                )
            pollers = await task_queue_pollers(self._client, self._task_queue)
            # Python workers poll under the identity we gave them; external ones show up as a new identity.
            if worker.identity in pollers or (worker.config.command and pollers - known_before):
                return
            await asyncio.sleep(0.2)
        raise ProcessError(
            f"worker {worker.identity} was not seen polling task queue {self._task_queue!r} within "
            f"{POLL_READY_TIMEOUT_S:.0f}s:\n{processes.tail(worker.log_path)}"
        )

    def metrics_endpoints(self) -> dict[str, int]:
        """{worker identity: metrics port} of the running Python workers."""
        return {w.identity: w.metrics_port for w in self.running if w.metrics_port}

    async def kill_all(self, signal_name: str = "SIGKILL", timeout: float = 10.0) -> list[KillRecord]:
        """Send `signal_name` to every running worker and confirm each one died of it."""
        sig = signals.Signals[signal_name]
        records = []
        for worker in self.running:
            alive_before = worker.proc.returncode is None
            if alive_before:
                processes.signal_process(worker.proc, sig)
            try:
                returncode = await asyncio.wait_for(worker.proc.wait(), timeout)
            except asyncio.TimeoutError:
                returncode = None
            records.append(
                KillRecord(
                    worker=worker.label,
                    identity=worker.identity,
                    pid=worker.proc.pid,
                    signal=signal_name,
                    returncode=returncode,
                    confirmed=alive_before and returncode is not None and _died_of(returncode, sig),
                )
            )
        for worker in self.running:
            if worker.proc.returncode is None:
                await processes.stop(worker.proc)
        self.running = []
        return records

    async def restart_all(self) -> list[WorkerProcess]:
        self._generation += 1
        return await self.start_all()

    async def stop_all(self) -> None:
        running, self.running = self.running, []
        await asyncio.gather(*(processes.stop(w.proc) for w in running))


def _died_of(returncode: int, sig: signals.Signals) -> bool:
    # SIGKILL cannot be handled: the exit code must say so. A worker may exit cleanly on SIGTERM/SIGINT.
    return returncode == -sig if sig == signals.SIGKILL else returncode in (-sig, 0, 128 + sig, 130)


def _python_path(app_path: Path, existing: str | None) -> str:
    return str(app_path) + (f":{existing}" if existing else "")
