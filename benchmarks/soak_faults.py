"""Soak section 3: the harness's own environment breaks under it. "The harness broke" must be exit 3 (never 0, never
1: a broken run is no verdict on the app), with a journal naming the phase and nothing half-written.

Each case writes a small config (the default one cut down to one short scenario) to a temp folder and runs it.
The out dir that turns unwritable needs `chattr` on a filesystem that supports it, the full disk root and `mount`
(a small tmpfs); each prints a clear skip line otherwise.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.soak_common import (
    REPO,
    journal_phase,
    kill_marked,
    leftovers,
    marked_processes,
    plant_stale_scorecard,
    read_journal,
    run_ports,
    running_phase,
    start_run,
    wait_exit,
)
from tests.conftest import relocated

RUN_TIMEOUT_S = 420.0


@dataclass
class Outcome:
    case: str
    exit_code: int | None
    phase: str
    problems: list[str]
    skipped: str | None = None

    def line(self) -> str:
        if self.skipped:
            return f"  {self.case}: SKIPPED ({self.skipped})"
        verdict = "ok" if not self.problems else "PROBLEMS: " + "; ".join(self.problems)
        return f"  {self.case}: exit {self.exit_code}, journal phase {self.phase!r}: {verdict}"


def small_config(folder: Path, scenario: str, change: Callable[[dict], None] = lambda data: None) -> Path:
    data = relocated(REPO / "readiness.yaml")
    data["scenarios"] = [scenario]
    change(data)
    path = folder / "readiness.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def wait_for_output(stdout: Path, proc: subprocess.Popen, fragment: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if fragment in stdout.read_text(errors="replace"):
            return True
        time.sleep(0.2)
    return False


def run_case(
    name: str, root: Path, config: Path, *, out: Path | None = None, during: Callable[[subprocess.Popen, Path, str], None] | None = None,
    expect: int = 3, check_reports: bool = True,
) -> Outcome:
    """Run `config`, call `during(proc, stdout, marker)` while it runs, then judge the exit and what was left behind."""
    out = out or root / name / "out"
    tmp = root / name / "tmp"
    if check_reports:
        plant_stale_scorecard(out)
    proc, marker, stdout = start_run(["--config", str(config)], out, tmp)
    try:
        if during is not None:
            during(proc, stdout, marker)
        code = wait_exit(proc, RUN_TIMEOUT_S)
        steps = read_journal(out)
        left = leftovers(marker, out, tmp, run_ports(steps))
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_marked(marker)
    output = stdout.read_text(errors="replace")
    problems = [p for p in left.problems() if check_reports or not p.startswith("partial_reports")]
    if code != expect:
        problems.append(f"exit {code} (expected {expect})")
    if "Traceback" in output:
        problems.append("traceback in the output")
    error_lines = [line for line in output.splitlines() if line.startswith("error:")]
    phase = journal_phase(steps) or (f"no journal; {running_phase(output)}" if steps is None else "none failed")
    print(f"    {name}: " + (error_lines[-1][:300] if error_lines else "(no error line)"))
    return Outcome(name, code, phase, problems)


def kill_server_mid_scenario(root: Path) -> Outcome:
    def during(proc: subprocess.Popen, stdout: Path, marker: str) -> None:
        if not wait_for_output(stdout, proc, "… [worker-restart]", 180):
            return
        time.sleep(3)
        for pid, cmdline in marked_processes(marker):
            if "server start-dev" in cmdline:
                os.kill(pid, signal.SIGKILL)

    config = small_config(root / "server-killed", "worker-restart")
    return run_case("server killed mid-scenario", root, config, during=during)


def dependency_never_starts(root: Path) -> Outcome:
    def change(data: dict) -> None:
        data["dependencies"][0]["command"] = ["{python}", "-c", "import time; time.sleep(600)"]

    return run_case("dependency never listens", root, small_config(root / "dep-silent", "non-retryable", change))


def dependency_exits(root: Path) -> Outcome:
    def change(data: dict) -> None:
        data["dependencies"][0]["command"] = ["{python}", "-c", "import sys; sys.exit(4)"]

    return run_case("dependency exits at start", root, small_config(root / "dep-exits", "non-retryable", change))


def worker_crashes(root: Path) -> Outcome:
    def change(data: dict) -> None:
        data["workers"][0] = {"name": "crashing-worker", "command": ["{python}", "-c", "import sys; sys.exit(7)"]}

    return run_case("worker crashes on start", root, small_config(root / "worker-crash", "non-retryable", change))


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[str | None]:
    """A tmpfs of `size` mounted at `path` (yields None), or why it could not be mounted."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True)
    if mounted.returncode != 0:
        yield f"cannot mount a tmpfs: {mounted.stderr.strip() or mounted.returncode}"
        return
    try:
        yield None
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def out_dir_turns_read_only(root: Path) -> Outcome:
    """The out dir made immutable (`chattr +i`: even root cannot add, rename or remove entries in it) once the workers
    run; files already open stay writable, as on a remount the kernel refuses."""
    name = "out dir turns unwritable"
    out = root / "read-only" / "out"
    out.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(["chattr", "+i", str(out)], capture_output=True, text=True)
    if probe.returncode != 0:
        return Outcome(name, None, "", [], skipped=f"chattr +i failed: {probe.stderr.strip() or probe.returncode}")
    subprocess.run(["chattr", "-i", str(out)], check=True)

    def during(proc: subprocess.Popen, stdout: Path, marker: str) -> None:
        if wait_for_output(stdout, proc, "✓ start workers", 120):
            subprocess.run(["chattr", "+i", str(out)], check=True)

    try:
        return run_case(name, root, small_config(root / "read-only", "worker-restart"), out=out, during=during)
    finally:
        subprocess.run(["chattr", "-i", str(out)], capture_output=True)


def disk_full(root: Path) -> Outcome:
    name = "out dir on a full disk"
    out = root / "disk-full" / "out"
    with tmpfs(out, "160k") as why:
        if why:
            return Outcome(name, None, "", [], skipped=why)
        config = small_config(root / "disk-full", "worker-restart")
        return run_case(name, root, config, out=out)


@contextlib.contextmanager
def locked_database(path: Path) -> Iterator[None]:
    """A history database that another process holds an exclusive lock on."""
    from harness.history.store import HistoryStore

    HistoryStore.open(path, create=True).close()
    holder = subprocess.Popen(
        ["python3", "-c", "import sqlite3, sys, time\n"
         f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
         "db.execute('PRAGMA locking_mode = EXCLUSIVE'); db.execute('BEGIN EXCLUSIVE')\n"
         "print('locked', flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        holder.stdout.readline()
        yield
    finally:
        holder.kill()
        holder.wait()


def history_db_locked(root: Path) -> Outcome:
    out = root / "db-locked" / "out"
    config = small_config(root / "db-locked", "non-retryable")
    with locked_database(out / "history.db"):
        return run_case("history database locked", root, config, out=out, check_reports=False)


CASES = (
    dependency_exits, dependency_never_starts, worker_crashes, history_db_locked, kill_server_mid_scenario,
    out_dir_turns_read_only, disk_full,
)


def run(root: Path) -> str:
    print("== harness faults (each must exit 3)")
    outcomes = []
    for case in CASES:
        outcome = case(root)
        outcomes.append(outcome)
        print(outcome.line(), flush=True)
    ran = [o for o in outcomes if not o.skipped]
    bad = [o for o in ran if o.problems]
    exits = ", ".join(f"{o.case}={o.exit_code}" for o in ran)
    return f"{len(ran) - len(bad)}/{len(ran)} harness faults ended clean with exit 3 ({exits}); {len(outcomes) - len(ran)} skipped"

