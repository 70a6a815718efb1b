"""Supervise the app's worker processes: start, confirm polling, SIGKILL, restart, scrape metrics, stop."""

from __future__ import annotations

import asyncio
import signal as signals
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from harness import processes, worker_main
from harness.config.models import WorkerConfig
from harness.errors import ProcessError
from harness.observe import metrics
from harness.observe.model import KillRecord, RolloutStep
from harness.profiles import BUILT_IN, Profile, write_targets
from harness.replay import HASH_SEEDS

POLL_READY_TIMEOUT_S = 45.0
PORT_RETRIES = 2
PORT_TAKEN = "Address already in use"
"""What the SDK says when the metrics port a worker was given is already bound."""
STOP_GRACE_S = 10.0
"""A replaced worker gets this long to finish its tasks on SIGTERM, as a deploy's termination grace period."""


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
        run_id: str,
        profile: Profile = BUILT_IN["local"],
        scrape_job: str = "temporal-workers",
    ) -> None:
        self._configs = workers
        self._run_id = run_id
        self._client = client
        self._task_queue = task_queue
        self._base_env = base_env
        self._app_path = app_path
        self._log_dir = log_dir
        self._generation = 0
        self._profile = profile
        self._scrape_job = scrape_job
        self.running: list[WorkerProcess] = []

    @property
    def configs(self) -> list[WorkerConfig]:
        """The workers this supervisor runs (a deploy replaces them)."""
        return list(self._configs)

    @property
    def app_path(self) -> Path:
        return self._app_path

    async def __aenter__(self) -> WorkerSupervisor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop_all()

    async def start_all(self) -> list[WorkerProcess]:
        """Start every configured worker and return once each one is seen polling the task queue."""
        started = await self._launch([(config, index) for config in self._configs for index in range(config.count)])
        self._publish_targets()
        return started

    async def _launch(self, slots: list[tuple[WorkerConfig, int]], app_path: Path | None = None) -> list[WorkerProcess]:
        """Spawn a worker per slot and wait until each polls. A worker whose metrics port was taken between choosing
        it and binding it (another process on the machine got there first) is started again on a new port."""
        known = await task_queue_pollers(self._client, self._task_queue)
        started = []
        for config, index in slots:
            worker = await self._spawn(config, index, app_path)
            self.running.append(worker)  # registered at once, so a later failure still stops it
            started.append(worker)
        for attempt in range(PORT_RETRIES + 1):
            outcomes = await asyncio.gather(*(self._wait_polling(w, known) for w in started), return_exceptions=True)
            lost = [w for w, o in zip(started, outcomes, strict=True) if isinstance(o, BaseException)]
            if not lost:
                return started
            retry = attempt < PORT_RETRIES and all(PORT_TAKEN in processes.tail(w.log_path) for w in lost)
            if not retry:
                raise next(o for o in outcomes if isinstance(o, BaseException))
            for worker in lost:
                await processes.stop(worker.proc)
                self.running.remove(worker)
                again = await self._spawn(worker.config, worker.index, app_path)
                self.running.append(again)
                started[started.index(worker)] = again
        return started

    async def _spawn(self, config: WorkerConfig, index: int, app_path: Path | None = None) -> WorkerProcess:
        identity = f"{config.name}-{index}-g{self._generation}-{self._run_id}"
        metrics_port = processes.free_port() if config.python else None
        env = {**self.worker_env(config, app_path), worker_main.IDENTITY_ENV: identity}
        if config.python:
            env[worker_main.SPEC_ENV] = config.python.model_dump_json()
            env[worker_main.METRICS_PORT_ENV] = str(metrics_port)
            env[worker_main.METRICS_HOST_ENV] = self._profile.metrics_host
            argv = [sys.executable, "-m", "harness.worker_main"]
        else:
            argv = [part.replace("{python}", sys.executable) for part in config.command or []]
        log_path = self._log_dir / f"{identity}.log"
        try:
            proc = await processes.spawn(argv, env=env, log_path=log_path, cwd=app_path or self._app_path)
        except OSError as exc:
            raise ProcessError(f"cannot start worker {identity} ({argv[0]}): {exc}") from exc
        return WorkerProcess(config, index, self._generation, identity, metrics_port, log_path, proc)

    def worker_env(self, config: WorkerConfig, app_path: Path | None = None) -> dict[str, str]:
        """The environment a worker of `config` runs in (also used to replay its histories). The hash seed is
        pinned to replay's first pass, so a set-order bug shows as `hash_order` instead of a random failure."""
        return {
            **self._base_env,
            "PYTHONHASHSEED": str(HASH_SEEDS[0]),
            **config.env,
            "TEMPORAL_TASK_QUEUE": self._task_queue,
            "PYTHONPATH": _python_path(app_path or self._app_path, self._base_env.get("PYTHONPATH")),
        }

    async def _wait_polling(self, worker: WorkerProcess, known_before: set[str]) -> None:
        """Python workers report their own pollers on their metrics port; an external worker must show
        up on the server as a poller identity that was not there before it started."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + POLL_READY_TIMEOUT_S
        while loop.time() < deadline:
            if worker.proc.returncode is not None:
                raise ProcessError(
                    f"worker {worker.identity} exited with code {worker.proc.returncode} before polling:\n"
                    f"{processes.tail(worker.log_path)}"
                )
            if await self._is_polling(worker, known_before):
                return
            await asyncio.sleep(0.2)
        raise ProcessError(
            f"worker {worker.identity} was not seen polling task queue {self._task_queue!r} within "
            f"{POLL_READY_TIMEOUT_S:.0f}s:\n{processes.tail(worker.log_path)}"
        )

    async def _is_polling(self, worker: WorkerProcess, known_before: set[str]) -> bool:
        if worker.metrics_port is None:
            return bool(await task_queue_pollers(self._client, self._task_queue) - known_before)
        samples, errors = await metrics.scrape({worker.identity: worker.metrics_port}, phase="startup", timeout=1.0)
        return not errors and metrics.total(samples, "temporal_num_pollers", poller_type="workflow_task") >= 1

    def _publish_targets(self) -> None:
        """List the live workers for Prometheus (compose profile). A kill leaves the file alone, as a crash would: the
        dead targets stay listed and show as down until the restart replaces them."""
        if self._profile.prometheus_targets:
            write_targets(self._profile.prometheus_targets, self.metrics_endpoints(), self._profile.scrape_host, self._scrape_job)

    def metrics_endpoints(self) -> dict[str, int]:
        """{worker identity: metrics port} of the running Python workers."""
        return {w.identity: w.metrics_port for w in self.running if w.metrics_port}

    async def kill_all(self, signal_name: str = "SIGKILL", timeout: float = 10.0) -> list[KillRecord]:
        """Send `signal_name` to every running worker's process group (a wrapper such as `sh -c` or
        `go run` and the worker under it die together, as on a crashed node) and confirm each one died of it."""
        sig = signals.Signals[signal_name]
        running, self.running = self.running, []
        alive_before = [w.proc.returncode is None for w in running]
        for worker in running:
            processes.signal_group(worker.proc, sig)
        records = []
        for worker, alive in zip(running, alive_before, strict=True):
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
                    confirmed=alive and returncode is not None and _died_of(returncode, sig),
                )
            )
        await asyncio.gather(*(processes.stop(w.proc) for w in running))  # whatever survived, and group leftovers
        return records

    async def roll_to(self, workers: list[WorkerConfig], app_path: Path, batch: int | None, pause: float = 0.0) -> list[RolloutStep]:
        """Replace every running worker by `workers` run from `app_path`, as a deploy does. Rolling (`batch` N): start N
        new workers, confirm them polling, then stop N old ones (SIGTERM, a graceful shutdown), and so on. All at once
        (`batch` None): stop every old worker, then start the new ones. Later restarts run the new version. An old worker
        stays in `running` until it is stopped, so a rollout cut short leaves nothing `stop_all` does not see."""
        self._generation += 1
        old = list(self.running)
        slots = [(config, index) for config in workers for index in range(config.count)]
        size = batch or max(len(old), len(slots))
        steps: list[RolloutStep] = []
        if batch is None:
            steps.append(await self._rollout_step([], old, app_path))
            old = []
        while slots or old:
            starting, slots = slots[:size], slots[size:]
            stopping, old = (old[:size], old[size:]) if batch is not None else ([], [])
            if not slots:  # the last step stops whatever old workers are left
                stopping, old = stopping + old, []
            steps.append(await self._rollout_step(starting, stopping, app_path))
            if pause and (slots or old):
                await asyncio.sleep(pause)
        self._configs, self._app_path = workers, app_path
        self._publish_targets()
        return [s for s in steps if s.started or s.stopped]

    async def _rollout_step(self, starting: list[tuple[WorkerConfig, int]], stopping: list[WorkerProcess], app_path: Path) -> RolloutStep:
        started = await self._launch(starting, app_path)
        self._publish_targets()
        codes = await asyncio.gather(*(processes.stop(w.proc, grace=STOP_GRACE_S) for w in stopping))
        self.running = [w for w in self.running if w not in stopping]
        self._publish_targets()
        return RolloutStep(
            at=time.time(), started=tuple(w.identity for w in started),
            stopped=tuple(f"{w.identity} (exit {code})" for w, code in zip(stopping, codes, strict=True)),
        )

    async def restart_all(self) -> list[WorkerProcess]:
        self._generation += 1
        return await self.start_all()

    async def stop_all(self) -> None:
        running, self.running = self.running, []
        self._publish_targets()
        await asyncio.gather(*(processes.stop(w.proc) for w in running))


def _died_of(returncode: int, sig: signals.Signals) -> bool:
    # SIGKILL cannot be handled: the exit code must say so. A worker may exit cleanly on SIGTERM/SIGINT.
    return returncode == -sig if sig == signals.SIGKILL else returncode in (-sig, 0, 128 + sig, 130)


def _python_path(app_path: Path, existing: str | None) -> str:
    return str(app_path) + (f":{existing}" if existing else "")
