"""Locust users that start Temporal workflows; loaded only by Locust processes (`locust -f` this file).

Importing locust monkey-patches the process with gevent, so the Temporal client cannot live on the gevent hub.
Each process that runs users keeps one asyncio event loop on a native thread, holding one Temporal client.
A user greenlet hands that loop a coroutine and waits on a gevent AsyncResult; the loop reports finished
coroutines through a gevent async watcher (thread-safe to signal), so waiting never blocks the hub and never
polls. Successful starts are appended to `ids-<pid>.txt` by the loop thread, so a start that completes while
its user is being stopped is still recorded (and still reported to Locust). The harness reads the spec from READINESS_LOAD_SPEC and the
output folder from READINESS_LOAD_DIR; stage, pacing and CSV logic live in pure modules next to this one.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import os
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import gevent
from gevent import monkey
from gevent.event import AsyncResult
from locust import LoadTestShape, User, events, task
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC
from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile

from harness.load.shape import next_slot, pacing_interval, stage_at, total_duration, users_at
from harness.load.spec import SPEC_ENV, WORK_DIR_ENV, LoadSpec

SPEC = LoadSpec.from_json(os.environ[SPEC_ENV])
WORK_DIR = Path(os.environ[WORK_DIR_ENV])
PROCESS_TAG = f"p{os.getpid()}.{uuid.uuid4().hex[:4]}"  # in workflow ids; unique across machines too
SPAWN_RATE = 100.0  # users per second (Locust warns above 100); a larger stage spawns its users within a second
DRAIN_TIMEOUT_S = 3.0
CONNECT_TIMEOUT_S = 15.0
REQUEST_TYPE = "temporal"
CONNECT_FAILED_EXIT_CODE = 2

logger = logging.getLogger(__name__)


class AsyncioBridge:
    """One asyncio loop on a native thread; greenlets submit coroutines and wait for them cooperatively."""

    def __init__(self) -> None:
        self._loop = asyncio.SelectorEventLoop(monkey.get_original("selectors", "DefaultSelector")())
        self._finished: collections.deque[tuple[AsyncResult, Any, BaseException | None]] = collections.deque()
        self._waiting: set[AsyncResult] = set()  # hub thread only
        self._in_flight: set[asyncio.Task] = set()  # loop thread only
        self._closed = False
        self._watcher = gevent.get_hub().loop.async_()  # created and started on the hub's thread
        self._watcher.start(self._deliver)
        self._stopped = monkey.get_original("_thread", "allocate_lock")()
        self._stopped.acquire()
        monkey.get_original("_thread", "start_new_thread")(self._run_loop, ())

    def _run_loop(self) -> None:
        try:
            self._loop.run_forever()
        finally:
            self._stopped.release()

    def submit(self, coro) -> AsyncResult:
        """Run `coro` on the loop; the returned AsyncResult's `get()` yields to other greenlets until it is done."""
        if self._closed:
            coro.close()
            raise RuntimeError("the asyncio bridge is closed")
        result = AsyncResult()
        self._waiting.add(result)
        self._loop.call_soon_threadsafe(self._start, coro, result)
        return result

    def _start(self, coro, result: AsyncResult) -> None:  # loop thread
        future = self._loop.create_task(coro)
        self._in_flight.add(future)
        future.add_done_callback(lambda done: self._hand_back(done, result))

    def _hand_back(self, future: asyncio.Task, result: AsyncResult) -> None:  # loop thread
        self._in_flight.discard(future)
        error = asyncio.CancelledError() if future.cancelled() else future.exception()
        self._finished.append((result, None if error else future.result(), error))
        self._watcher.send()  # wakes the hub; several sends may arrive as one callback

    def _deliver(self) -> None:  # hub thread
        while self._finished:
            result, value, error = self._finished.popleft()
            self._waiting.discard(result)
            if error is None:
                result.set(value)
            else:
                result.set_exception(error)

    async def _wait_in_flight(self, timeout: float) -> None:
        pending = [future for future in self._in_flight if future is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    def close(self, timeout: float = DRAIN_TIMEOUT_S) -> None:
        """Let in-flight coroutines finish (up to `timeout`), then stop the loop and its thread.

        The loop is stopped, not closed: the Temporal client's native threads may still hand it a late callback.
        """
        if self._closed:
            return
        try:
            self.submit(self._wait_in_flight(timeout)).get(timeout=timeout + 1)
        except gevent.Timeout:
            logger.warning("requests still in flight after %.0fs at shutdown", timeout)
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._stopped.acquire(True, timeout)
        self._deliver()
        for result in self._waiting:
            result.set_exception(RuntimeError("the asyncio loop stopped before this call finished"))
        self._waiting.clear()
        self._watcher.stop()
        self._watcher.close()


@dataclass(frozen=True)
class StartOutcome:
    """What one start (and its optional signal) did, timed on the loop thread."""

    workflow: str
    start_ms: float
    start_error: BaseException | None
    signal_ms: float = 0.0
    signal_error: BaseException | None = None


class LoadProcess:
    """Per-process state of a Locust process that runs users: the bridge, the client and the id file."""

    def __init__(self) -> None:
        self.started_at = time.monotonic()
        self.bridge = AsyncioBridge()
        self.counter = itertools.count()
        self.ids_file = open(WORK_DIR / f"ids-{os.getpid()}.txt", "a", encoding="utf-8")  # noqa: SIM115 - closed on quit
        self.client = self.bridge.submit(self._connect())
        self._given_up = False

    @staticmethod
    async def _connect() -> Client:
        options = dict(ClientConfigProfile.load(disable_file=True).to_client_connect_config())
        return await asyncio.wait_for(Client.connect(**options), CONNECT_TIMEOUT_S)

    def give_up(self, environment, reason: BaseException) -> None:
        """Without a client the process can do nothing useful: exit with a code the harness reports as an error."""
        if self._given_up:
            return
        self._given_up = True
        logger.error("cannot connect to Temporal: %s", reason)
        environment.process_exit_code = CONNECT_FAILED_EXIT_CODE
        gevent.spawn(environment.runner.quit)

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    async def start_workflow(self, client: Client, counter: int) -> StartOutcome:  # loop thread
        workflow_id = SPEC.workflow_id(PROCESS_TAG, counter)
        start = SPEC.start(counter)
        began = time.perf_counter()
        try:
            handle = await client.start_workflow(
                start.workflow,
                args=start.args(counter),
                id=workflow_id,
                task_queue=SPEC.task_queue,
                execution_timeout=timedelta(seconds=start.execution_timeout_s),
            )
        except Exception as exc:  # noqa: BLE001 - reported to Locust as a failed request
            return StartOutcome(start.workflow, (time.perf_counter() - began) * 1000, exc)
        start_ms = (time.perf_counter() - began) * 1000
        self.ids_file.write(workflow_id + "\n")
        self.ids_file.flush()
        if not SPEC.signal:
            return StartOutcome(start.workflow, start_ms, None)
        began = time.perf_counter()
        try:
            await handle.signal(SPEC.signal)
        except Exception as exc:  # noqa: BLE001 - reported to Locust as a failed request
            return StartOutcome(start.workflow, start_ms, None, (time.perf_counter() - began) * 1000, exc)
        return StartOutcome(start.workflow, start_ms, None, (time.perf_counter() - began) * 1000)

    def close(self) -> None:
        self.bridge.close()
        self.ids_file.close()


_process: LoadProcess | None = None
_environment = None


@events.init.add_listener
def _on_init(environment, **_kwargs) -> None:
    """Connect as soon as the process is up, so the first stage does not pay for it. A master runs no users."""
    global _process, _environment
    _environment = environment
    if not isinstance(environment.runner, MasterRunner) and _process is None:
        _process = LoadProcess()


@events.test_start.add_listener
def _on_test_start(environment, **_kwargs) -> None:
    if _process is not None:
        _process.started_at = time.monotonic()  # the stages' clock


@events.quit.add_listener
def _on_quit(**_kwargs) -> None:
    """Fired once every user has stopped, just before Locust closes its CSV files and exits."""
    global _process
    process, _process = _process, None  # Locust may run its shutdown twice (SIGTERM): close once
    if process is not None:
        process.close()
    options = _environment.parsed_options if _environment is not None else None
    if options is not None and options.csv_prefix and not isinstance(_environment.runner, WorkerRunner):
        # Locust writes its CSV files once a second and not again at exit: let it write the final numbers.
        gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.25)


class TemporalUser(User):
    """Starts the spec's workflow types by share (and signals each when asked), paced to its stage's rate or back to back."""

    def on_start(self) -> None:
        assert _process is not None, "the init event creates the process state before users spawn"
        self._process = _process
        self._slot: float | None = None
        try:
            self._client: Client | None = _process.client.get()
        except Exception as exc:  # noqa: BLE001 - reported through the exit code
            _process.give_up(self.environment, exc)
            self._client = None  # the first task stops the user (StopUser from on_start is logged as an error)
            return
        first_wait = self._next_wait(phase=random.random())
        if first_wait > 0:
            gevent.sleep(first_wait)

    def _next_wait(self, phase: float = 0.0) -> float:
        elapsed = self._process.elapsed()
        interval = pacing_interval(stage_at(SPEC.stages, elapsed), users_at(SPEC.stages, elapsed))
        now = time.monotonic()
        self._slot = next_slot(self._slot, interval, now, phase)
        return self._slot - now

    def wait_time(self) -> float:
        return self._next_wait()

    @task
    def start_workflow(self) -> None:
        if self._client is None:
            raise StopUser()
        pending = self._process.bridge.submit(self._process.start_workflow(self._client, next(self._process.counter)))
        try:
            outcome: StartOutcome = pending.get()
        except gevent.GreenletExit:
            self._report_when_done(pending)
            raise
        self._report_outcome(outcome)

    def _report_when_done(self, pending: AsyncResult) -> None:
        """Killed while a start was in flight (Locust decided to stop the user while it was waiting, and it woke
        before the kill landed): still report the start, so the stats count every workflow id."""
        try:
            self._report_outcome(pending.get(timeout=DRAIN_TIMEOUT_S))
        except gevent.Timeout:
            logger.warning("a stopped user's start did not finish within %.0fs", DRAIN_TIMEOUT_S)

    def _report_outcome(self, outcome: StartOutcome) -> None:
        self._report(f"start {outcome.workflow}", outcome.start_ms, outcome.start_error)
        if SPEC.signal and outcome.start_error is None:
            self._report(f"signal {SPEC.signal}", outcome.signal_ms, outcome.signal_error)

    def _report(self, name: str, response_ms: float, error: BaseException | None) -> None:
        self.environment.events.request.fire(
            request_type=REQUEST_TYPE, name=name, response_time=response_ms, response_length=0, exception=error, context={}
        )


class StagedShape(LoadTestShape):
    """Users over time as the stages ask; the run ends after the last stage."""

    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        if elapsed >= total_duration(SPEC.stages):
            return None
        users = users_at(SPEC.stages, elapsed)
        return users, max(SPAWN_RATE, float(users))
