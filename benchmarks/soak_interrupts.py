"""Soak section 1: default runs interrupted at a random moment, then everything they left behind counted.

Each run gets a stale scorecard planted in its out dir first (a crashed run must never leave an earlier verdict
standing), its own TMPDIR and history database, and a SIGINT, SIGTERM or SIGKILL of the harness at a moment drawn
uniformly over a measured run's length, so every phase (server start, dependencies, workers, each scenario's
load, fault and drain, replay, alert checks, reports) gets hit in proportion to how long it lasts.
"""

from __future__ import annotations

import random
import re
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.soak_common import (
    kill_marked,
    leftovers,
    plant_stale_scorecard,
    read_journal,
    run_ports,
    running_phase,
    start_run,
    wait_exit,
)

EXIT_TIMEOUT_S = 120.0
"""How long an interrupted harness may take to stop everything (it waits 5 s per process before SIGKILL)."""
RUN_TIMEOUT_S = 900.0
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGINT, signal.SIGTERM, signal.SIGKILL)


@dataclass
class Interrupted:
    index: int
    sig: str
    at_s: float
    phase: str
    exit_code: int | None
    """None: it did not exit within EXIT_TIMEOUT_S of the signal (a hang)."""
    problems: list[str]
    orphans: int
    partial: int


def measure_run(root: Path, config: Path) -> tuple[float, list[tuple[str, float]]]:
    """Seconds one uninterrupted default run takes here (the window interrupts are drawn from), and its steps with
    their durations (the CLI's step lines)."""
    out, tmp = root / "measure", root / "measure.tmp"
    started = time.monotonic()
    proc, marker, stdout = start_run(["--config", str(config)], out, tmp)
    code = wait_exit(proc, RUN_TIMEOUT_S)
    length = time.monotonic() - started
    kill_marked(marker)
    print(f"  measured run: {length:.0f}s, exit {code}")
    return length, finished_steps(stdout.read_text(errors="replace"))


def finished_steps(stdout: str) -> list[tuple[str, float]]:
    steps = []
    for line in stdout.splitlines():
        if (match := re.match(r"^\s*✓ (.+) \((\d+(?:\.\d+)?)s\)$", line)):
            steps.append((match[1], float(match[2])))
    return steps


def wait_for_step(proc: subprocess.Popen, stdout: Path, step: str, timeout: float) -> bool:
    """True once the CLI printed that `step` started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if f"… {step}" in stdout.read_text(errors="replace"):
            return True
        time.sleep(0.05)
    return False


def interrupt_once(
    index: int, root: Path, config: Path, sig: signal.Signals, at_s: float, step: tuple[str, float] | None = None
) -> Interrupted:
    """Signal the run `at_s` seconds after its start, or (with `step`) that far into the named step."""
    out, tmp = root / f"run-{index:02d}", root / f"run-{index:02d}.tmp"
    plant_stale_scorecard(out)
    proc, marker, stdout = start_run(["--config", str(config)], out, tmp)
    finished_first = None
    try:
        if step is not None and not wait_for_step(proc, stdout, step[0], RUN_TIMEOUT_S):
            finished_first = proc.wait(timeout=RUN_TIMEOUT_S)
        else:
            finished_first = proc.wait(timeout=at_s)
    except subprocess.TimeoutExpired:  # still running at the chosen moment, as intended
        pass
    phase = running_phase(stdout.read_text(errors="replace"))
    if finished_first is not None:
        code, phase = finished_first, f"(finished before the signal, {phase})"
    else:
        proc.send_signal(sig)
        code = wait_exit(proc, EXIT_TIMEOUT_S)
    steps = read_journal(out)
    left = leftovers(marker, out, tmp, run_ports(steps))
    kill_marked(marker)  # whatever was left must not disturb the next run
    problems = left.problems()
    output = stdout.read_text(errors="replace")
    if "Traceback" in output:
        problems.append("traceback in the output")
    if finished_first is None and sig != signal.SIGKILL and code != 3:
        problems.append(f"exit {code} after {sig.name} (expected 3)")
    return Interrupted(index, sig.name, at_s, phase, code, problems, len(left.orphans), len(left.partial_reports))


def run(root: Path, config: Path, count: int, seed: int, run_length: float | None) -> tuple[list[Interrupted], str]:
    """Even-numbered runs are signalled at a moment drawn over the whole run (long phases get most hits), odd ones
    inside a step drawn from the measured run's steps (so short phases are hit too: the server's start, replay,
    the alert checks, the last steps before the reports are written)."""
    print(f"== interrupted runs: {count} of {config.name}")
    if run_length:  # a measured run's output kept from an earlier soak in this folder (--keep) still gives the steps
        previous = root / "measure.stdout"
        length, steps = run_length, finished_steps(previous.read_text(errors="replace")) if previous.exists() else []
    else:
        length, steps = measure_run(root, config)
    rng = random.Random(seed)
    results = []
    for index in range(count):
        sig = SIGNALS[index % len(SIGNALS)]
        step = rng.choice(steps) if steps and index % 2 else None
        at_s = rng.uniform(0.0, max(step[1], 0.05)) if step else rng.uniform(1.0, length)
        result = interrupt_once(index, root, config, sig, at_s, step)
        results.append(result)
        print(
            f"  #{index:02d} {result.sig:<7} " + (f"{at_s:4.1f}s into {step[0]!r}" if step else f"at {at_s:5.0f}s")
            + f" hit {result.phase!r}: exit {result.exit_code}"
            + (f"  PROBLEMS: {'; '.join(result.problems)}" if result.problems else "  clean"),
            flush=True,
        )
    return results, summarize(results)


def summarize(results: list[Interrupted]) -> str:
    graceful = [r for r in results if r.sig != "SIGKILL"]
    killed = [r for r in results if r.sig == "SIGKILL"]
    for label, group in (("SIGINT/SIGTERM", graceful), ("SIGKILL", killed)):
        if group:
            exits = Counter(str(r.exit_code) for r in group)
            print(
                f"  {label}: {len(group)} runs, orphans={sum(r.orphans for r in group)}"
                f" partial_reports={sum(r.partial for r in group)} runs_with_problems={sum(1 for r in group if r.problems)}"
                f" exits={dict(exits)}"
            )
    phases = Counter(r.phase.split("] ")[-1] for r in results)
    print("  phases hit: " + ", ".join(f"{p} x{n}" for p, n in phases.most_common()))
    orphans = sum(r.orphans for r in results)
    partial = sum(r.partial for r in results)
    other = sum(1 for r in results if r.problems)
    killed_note = f" (SIGKILL: orphans={sum(r.orphans for r in killed)} in {len(killed)})" if killed else ""
    return f"orphans={orphans} partial_reports={partial} runs_with_problems={other} in {len(results)} interrupted runs{killed_note}"
