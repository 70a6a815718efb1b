"""Run a load spec with Locust in child processes and read back what it did.

    run_load(spec)
      |-- locust --headless ...                        (locust_workers=0: one process runs the users)
      |   or locust --master --expect-workers N ...    (plus N `locust --worker` processes, all local)
      |-- wait for the master to exit (a crashed worker or the timeout ends the run as an error)
      |-- stop every Locust process, whatever happened (also on cancellation)
      '-- LoadResult from Locust's CSV files and the workflow ids the processes wrote

The harness process never imports locust (its import monkey-patches the interpreter with gevent); the
locustfile runs only in the children. Locust exits 1 when any request failed: that is still a result. A crash,
a missing CSV file, an error raised inside the locustfile or the timeout raises ProcessError with the log tail.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import harness
from harness import processes
from harness.errors import ProcessError
from harness.load.shape import total_duration
from harness.load.spec import SPEC_ENV, WORK_DIR_ENV, LoadSpec
from harness.load.stats import (
    LoadResult,
    RequestStats,
    parse_exceptions,
    parse_request_stats,
    parse_table,
    read_workflow_ids,
)

__all__ = ["LoadResult", "LoadSpec", "RequestStats", "run_load"]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
CSV_PREFIX = "locust"
STARTUP_ALLOWANCE_S = 60.0
"""Added to the stages' total duration for the default timeout: imports, connecting, writing the CSV files."""
STOP_TIMEOUT_S = 10
"""How long Locust lets a user finish the start it is waiting for when users are stopped."""
EXPECT_WORKERS_MAX_WAIT_S = 30
WORKER_EXIT_GRACE_S = 10.0
"""How long the master may outlive an exited worker before the run counts as broken."""
REQUEST_FAILED_EXIT_CODES = (0, 1)
"""Locust's exit codes for a finished run: 0, or 1 when any request failed."""


@dataclass(frozen=True)
class _LocustProcess:
    role: str
    proc: asyncio.subprocess.Process
    log_path: Path

    def describe(self) -> str:
        return f"locust {self.role} (pid {self.proc.pid}) exited with code {self.proc.returncode}:\n{processes.tail(self.log_path)}"


async def run_load(
    spec: LoadSpec,
    *,
    env: dict[str, str],
    work_dir: Path,
    log_dir: Path,
    locust_workers: int = 0,
    timeout_s: float | None = None,
) -> LoadResult:
    """Run `spec` with Locust (one local process, or a master and `locust_workers` workers) and return its result.

    `env` is the Locust processes' whole environment and says where Temporal is (TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE, optionally TEMPORAL_API_KEY / TEMPORAL_TLS*). Every Locust process is stopped before
    this returns, raises or is cancelled.
    """
    if locust_workers < 0:
        raise ValueError(f"locust_workers must be 0 or more, got {locust_workers}")
    timeout = timeout_s if timeout_s is not None else total_duration(spec.stages) + STARTUP_ALLOWANCE_S
    work_dir, log_dir = work_dir.resolve(), log_dir.resolve()  # Locust runs in work_dir: no relative paths
    work_dir.mkdir(parents=True, exist_ok=True)
    _remove_previous_outputs(work_dir)
    locust_env = _locust_env(spec, env, work_dir)
    started = time.monotonic()
    running: list[_LocustProcess] = []
    try:
        master = await _start_processes(running, locust_workers, work_dir, log_dir, locust_env)
        await _wait_for_master(master, running[1:], timeout)
    finally:
        await asyncio.gather(*(processes.stop(p.proc) for p in running))
    duration = time.monotonic() - started
    if master.proc.returncode not in REQUEST_FAILED_EXIT_CODES:
        raise ProcessError(master.describe())
    return _read_result(work_dir, master, duration, locust_workers)


def _remove_previous_outputs(work_dir: Path) -> None:
    for stale in [*work_dir.glob("ids-*.txt"), *work_dir.glob(f"{CSV_PREFIX}_*.csv")]:
        stale.unlink()


def _locust_env(spec: LoadSpec, env: dict[str, str], work_dir: Path) -> dict[str, str]:
    """`env` plus the spec, the output folder, and the harness package on the import path."""
    package_root = str(Path(harness.__file__).resolve().parent.parent)
    python_path = os.pathsep.join(part for part in (package_root, env.get("PYTHONPATH")) if part)
    return {**env, SPEC_ENV: spec.to_json(), WORK_DIR_ENV: str(work_dir), "PYTHONPATH": python_path, "PYTHONUNBUFFERED": "1"}


async def _start_processes(
    running: list[_LocustProcess], locust_workers: int, work_dir: Path, log_dir: Path, env: dict[str, str]
) -> _LocustProcess:
    """Start the master (or the single local process) then the workers; each is added to `running` at once."""
    base = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--loglevel", "INFO"]
    reporting = [
        "--headless", "--only-summary", "--csv", str(work_dir / CSV_PREFIX), "--csv-full-history",
        "--stop-timeout", str(STOP_TIMEOUT_S), "--exit-code-on-error", "1",
    ]
    if locust_workers == 0:
        await _start(running, "local", [*base, *reporting], env, work_dir, log_dir)
        return running[0]
    port = processes.free_port()
    master_argv = [
        *base, *reporting, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
        "--expect-workers", str(locust_workers), "--expect-workers-max-wait", str(EXPECT_WORKERS_MAX_WAIT_S),
    ]
    await _start(running, "master", master_argv, env, work_dir, log_dir)
    worker_argv = [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    for index in range(locust_workers):
        await _start(running, f"worker-{index}", worker_argv, env, work_dir, log_dir)
    return running[0]


async def _start(running: list[_LocustProcess], role: str, argv: list[str], env: dict[str, str], cwd: Path, log_dir: Path) -> None:
    log_path = log_dir / f"locust-{role}.log"
    try:
        proc = await processes.spawn(argv, env=env, log_path=log_path, cwd=cwd)
    except OSError as exc:
        raise ProcessError(f"cannot start locust {role}: {exc}") from exc
    running.append(_LocustProcess(role, proc, log_path))


async def _wait_for_master(master: _LocustProcess, workers: list[_LocustProcess], timeout: float) -> None:
    """Return once the master exits. Raise if the timeout passes first, if a worker exits with an error code,
    or if a worker exits and the master does not follow within WORKER_EXIT_GRACE_S."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    master_exit = asyncio.ensure_future(master.proc.wait())
    worker_exits = {asyncio.ensure_future(w.proc.wait()): w for w in workers}
    pending: set[asyncio.Future] = {master_exit, *worker_exits}
    gone: _LocustProcess | None = None
    try:
        while True:
            done, pending = await asyncio.wait(pending, timeout=max(0.0, deadline - loop.time()), return_when=asyncio.FIRST_COMPLETED)
            if master_exit in done:
                return
            if not done and gone is not None:
                raise ProcessError(f"the master kept running after a worker exited; {gone.describe()}")
            if not done:
                raise ProcessError(f"locust did not finish within {timeout:.0f}s:\n{processes.tail(master.log_path)}")
            for worker in (worker_exits[future] for future in done):
                if worker.proc.returncode not in REQUEST_FAILED_EXIT_CODES:
                    raise ProcessError(worker.describe())
                gone = gone or worker
            deadline = min(deadline, loop.time() + WORKER_EXIT_GRACE_S)
    finally:
        for future in pending:
            future.cancel()


def _read_result(work_dir: Path, master: _LocustProcess, duration: float, locust_workers: int) -> LoadResult:
    prefix = work_dir / CSV_PREFIX
    stats_path = Path(f"{prefix}_stats.csv")
    if not stats_path.is_file():
        raise ProcessError(f"locust wrote no {stats_path.name}; {master.describe()}")
    errors = parse_exceptions(_read(Path(f"{prefix}_exceptions.csv")))
    if errors:
        raise ProcessError(f"the locustfile raised errors ({master.log_path}):\n" + "\n".join(errors))
    return LoadResult(
        workflow_ids=read_workflow_ids(work_dir),
        requests=parse_request_stats(stats_path.read_text(encoding="utf-8")),
        duration_s=duration,
        locust_workers=locust_workers,
        history=parse_table(_read(Path(f"{prefix}_stats_history.csv"))),
        failures=parse_table(_read(Path(f"{prefix}_failures.csv"))),
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
