"""What every soak section shares: starting `readiness` as a user does, and counting what a run left behind.

Every harness the soak starts carries `SOAK_MARKER=<id>` in its environment; the harness passes its environment to
every child (server, dependencies, workers, Locust), so a process still carrying the marker after the harness
exited is an orphan. Each run also gets its own TMPDIR, so a `readiness-*` folder left there is the run's.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
READINESS = str(Path(sys.executable).parent / "readiness")
MARKER_ENV = "SOAK_MARKER"
STALE_RUN_ID = "soakstal"
"""The run id of the scorecard planted in an out dir before a run: still there afterwards, it claims a verdict."""
_STEP = re.compile(r"^\s*(…|✓|✗|!) (?:\[(?P<scenario>[^\]]+)\] )?(?P<name>.+?)(?: \(\d+(?:\.\d+)?s\).*)?$")


def marked_processes(marker: str) -> list[tuple[int, str]]:
    """(pid, command line) of every live process whose environment carries the marker (zombies excluded)."""
    found = []
    needle = f"{MARKER_ENV}={marker}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if needle not in (proc / "environ").read_bytes():
                continue
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        found.append((int(proc.name), cmdline[:120]))
    return found


def kill_marked(marker: str) -> None:
    """SIGKILL whatever still carries the marker, so one run's leftovers never disturb the next."""
    for pid, _ in marked_processes(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def wait_gone(marker: str, timeout: float) -> list[tuple[int, str]]:
    """The marked processes still alive after waiting up to `timeout` s for them to exit (the parent-death signal and
    a child's own shutdown take a moment)."""
    deadline = time.monotonic() + timeout
    while (left := marked_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def listening_ports() -> set[int]:
    """TCP ports in LISTEN state on this machine (IPv4 and IPv6)."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 3 and parts[3] == "0A":
                ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


def port_owner(port: int) -> str:
    """Which process listens on `port` now (a port the run used may have been taken by another program since)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if len(parts) > 9 and parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{parts[9]}]")
        except OSError:
            continue
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return f"pid {proc.name}: " + (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:80]
        except OSError:
            continue
    return "owner not found"


def read_journal(out: Path) -> list[dict] | None:
    try:
        return json.loads((out / "journal.json").read_text())["steps"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_ports(steps: list[dict] | None) -> set[int]:
    """The ports a run's journal says it used: each lane's server's and each dependency proxy's."""
    ports = set()
    for step in steps or ():
        detail = step.get("detail") or {}
        if isinstance(detail.get("address"), str) and (match := re.fullmatch(r"127\.0\.0\.1:(\d+)", detail["address"])):
            ports.add(int(match.group(1)))  # "start target" and every "start lane N"
        for value in (detail.get("env") or {}).values() if isinstance(detail.get("env"), dict) else ():
            if match := re.search(r"127\.0\.0\.1:(\d+)", str(value)):
                ports.add(int(match.group(1)))
    return ports


def running_phase(stdout: str) -> str:
    """The innermost step that had started and not ended when the output stops (read from the step lines the CLI
    prints), or what ended last."""
    open_steps: list[str] = []
    last = "before the first step"
    for line in stdout.splitlines():
        if not (match := _STEP.match(line)):
            continue
        name = f"[{match['scenario']}] {match['name']}" if match["scenario"] else match["name"]
        if line.strip().startswith("…"):
            open_steps.append(name)
        else:
            if name in open_steps:
                open_steps.remove(name)
            last = f"after {name}"
    return open_steps[-1] if open_steps else last


def journal_phase(steps: list[dict] | None) -> str | None:
    """The step the journal recorded as interrupted or failed (the innermost: the first such step to end)."""
    for step in sorted(steps or (), key=lambda s: s.get("ended_at") or ""):
        if step.get("status") in ("interrupted", "failed"):
            return f"[{step['scenario']}] {step['name']}" if step.get("scenario") else step["name"]
    return None


@dataclass
class Leftovers:
    orphans: list[tuple[int, str]] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)
    temp_dirs: list[str] = field(default_factory=list)
    active_fault_files: list[str] = field(default_factory=list)
    partial_reports: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [f"{name}={value}" for name, value in vars(self).items() if value]


def plant_stale_scorecard(out: Path) -> None:
    """A scorecard from an earlier run in the out dir: a crashed run must remove it, never leave it as its verdict."""
    out.mkdir(parents=True, exist_ok=True)
    card = json.loads((REPO / "tests/fixtures/scorecards/good-app.json").read_text())
    card["run"]["id"] = STALE_RUN_ID
    (out / "scorecard.json").write_text(json.dumps(card))


def report_problems(out: Path) -> list[str]:
    """Half-written or stale reports: a scorecard.json that does not parse or is the planted one, a report set with
    some files missing, temporary files of an unfinished write, a history database that is not intact."""
    problems = []
    card_path = out / "scorecard.json"
    if card_path.exists():
        try:
            card = json.loads(card_path.read_text())
            if card["run"]["id"] == STALE_RUN_ID:
                # Left alone by a run that never got to its report folder (killed while loading, bad input) is what
                # exit 2 does too; a run that started (it wrote a journal) must have removed it.
                return ["stale scorecard.json from an earlier run"] if (out / "journal.json").exists() else []
        except (ValueError, KeyError, TypeError):
            problems.append("scorecard.json does not parse")
        missing = [n for n in ("scorecard.md", "junit.xml", "scorecard.html") if not (out / n).exists()]
        if missing:
            problems.append(f"scorecard.json without {', '.join(missing)}")
    elif any((out / n).exists() for n in ("scorecard.md", "junit.xml", "scorecard.html")):
        problems.append("reports without scorecard.json")
    problems += [f"temporary file {p.name}" for p in out.glob(".*.tmp")]
    db = out / "history.db"
    if db.exists():
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
                if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    problems.append("history.db not intact")
        except sqlite3.Error as exc:
            problems.append(f"history.db unreadable: {exc}")
    return problems


def active_fault_files(out: Path) -> list[str]:
    """Fault-control files that still switch a fault on (a worker reading them would still inject it)."""
    found = []
    for path in (out / "faults").glob("*faults*.json"):
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict) or data.get("faults"):
                found.append(path.name)
        except (OSError, ValueError):
            found.append(f"{path.name} (unreadable)")
    return found


def leftovers(marker: str, out: Path, tmp: Path, ports: set[int], grace: float = 10.0) -> Leftovers:
    """Everything the run at `out` (own TMPDIR `tmp`) left behind once its harness has exited."""
    deadline = time.monotonic() + grace
    left = Leftovers(orphans=wait_gone(marker, grace))
    while (still := ports & listening_ports()) and time.monotonic() < deadline:  # a killed server takes a moment to close
        time.sleep(0.2)
    left.ports = [f"{port} ({port_owner(port)})" for port in sorted(still)]
    left.temp_dirs = sorted(p.name for p in tmp.glob("readiness-*")) if tmp.exists() else []
    left.active_fault_files = active_fault_files(out)
    left.partial_reports = report_problems(out)
    return left


def harness_env(marker: str, tmp: Path) -> dict[str, str]:
    tmp.mkdir(parents=True, exist_ok=True)
    return {**os.environ, MARKER_ENV: marker, "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1", "COLUMNS": "400"}


STARTED: list[tuple[subprocess.Popen, str]] = []
"""Every harness this soak started, with its marker: stopped by `stop_all` when the soak itself is interrupted."""


def stop_all() -> None:
    """SIGINT every harness still running (each stops what it started), then SIGKILL whatever carries its marker."""
    for proc, _ in STARTED:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc, marker in STARTED:
        wait_exit(proc, 60)
        kill_marked(marker)


def start_run(args: list[str], out: Path, tmp: Path, marker: str | None = None) -> tuple[subprocess.Popen, str, Path]:
    """`readiness run ARGS --out OUT --history-db OUT/history.db`, output to OUT.stdout; returns (process, marker, stdout file)."""
    marker = marker or uuid.uuid4().hex
    stdout = out.with_name(out.name + ".stdout")
    stdout.parent.mkdir(parents=True, exist_ok=True)
    with open(stdout, "w") as sink:
        proc = subprocess.Popen(
            [READINESS, "run", *args, "--out", str(out), "--history-db", str(out / "history.db")],
            cwd=REPO, env=harness_env(marker, tmp), stdout=sink, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
    STARTED.append((proc, marker))
    return proc, marker, stdout


def wait_exit(proc: subprocess.Popen, timeout: float) -> int | None:
    """The exit code, or None if it did not exit within `timeout` s (the process is then SIGKILLed)."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)
        return None




def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
