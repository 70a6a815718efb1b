"""Replay throughput: `readiness replay --jobs 2` vs a plain single-process `Replayer`, on the same corpus.

    .venv/bin/python -m benchmarks.replay [--histories 1000] [--seed-workflows 40] [--rounds 2]

Runs real workflows on an embedded dev server to get seed histories, clones them (fresh workflow and run ids)
into a corpus on disk, then replays the corpus side by side: the plain Replayer streaming the files in this
process (the baseline), `readiness replay --single-pass --jobs 2` (the same work: each history once) and
`readiness replay --jobs 2` as shipped (two hash-seed passes in fresh processes), each timed `--rounds` times,
alternating, best kept. Peak RSS (VmHWM, sampled from /proc) is reported for the replay processes and for the
`readiness` process that drives them: run it at 1000 and at 10000 histories to see whether memory stays flat.
The last line is `ratio=X.XX`: equal-work throughput, ours / plain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, Worker

from benchmarks.replay_workflows import BenchWorkflow, step
from harness.config.models import EmbeddedTarget
from harness.environment import Environment

REPO = Path(__file__).resolve().parent.parent
WORKFLOW_PATH = "benchmarks.replay_workflows:BenchWorkflow"
ROUNDS = 2
RUN_ID, WORKFLOW_ID = "@@run-id@@", "@@workflow-id@@"


async def seed_histories(count: int, work_dir: Path) -> list[dict]:
    """Run `count` real workflows (3 to 12 activities each, one signal) and return their histories as JSON."""
    async with Environment.dev_server(EmbeddedTarget(), work_dir / "server.log", dict(os.environ)) as environment:
        client = environment.client
        async with Worker(client, task_queue="bench", workflows=[BenchWorkflow], activities=[step]):
            handles = [
                await client.start_workflow(
                    BenchWorkflow.run, 3 + i % 10, id=f"seed-{i}", task_queue="bench", start_signal="note", start_signal_args=["hi"]
                )
                for i in range(count)
            ]
            await asyncio.gather(*(h.result() for h in handles))
            return [json.loads((await h.fetch_history()).to_json()) for h in handles]


def templates(seeds: list[dict]) -> list[str]:
    """Each seed as JSON text once, with placeholders where a clone's run id and workflow id go."""
    texts = []
    for seed in seeds:
        history = json.loads(json.dumps(seed))
        attrs = history["events"][0]["workflowExecutionStartedEventAttributes"]
        attrs["originalExecutionRunId"] = attrs["firstExecutionRunId"] = RUN_ID
        if "workflowId" in attrs:
            attrs["workflowId"] = WORKFLOW_ID
        texts.append(json.dumps(history))
    return texts


def write_corpus(seeds: list[dict], total: int, folder: Path) -> None:
    """Clone the seeds with fresh workflow and run ids, one file per history."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = templates(seeds)
    for i in range(total):
        text = texts[i % len(texts)].replace(RUN_ID, str(uuid.uuid4())).replace(WORKFLOW_ID, f"bench-{i}")
        (folder / f"bench-{i:05d}.json").write_text(text)


class PeakRss:
    """Peak RSS (VmHWM, KiB) of a process and, apart, of its child processes, sampled from /proc while it runs."""

    def __init__(self, pid: int, interval_s: float = 0.2) -> None:
        self.pid, self.interval_s = pid, interval_s
        self.parent_kib = self.children_kib = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def _hwm(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return 0

    def _children(self) -> list[int]:
        found = []
        for task in Path(f"/proc/{self.pid}/task").glob("*"):
            try:
                found.extend(int(p) for p in (task / "children").read_text().split())
            except OSError:
                pass
        return found

    def _sample(self) -> None:
        while not self._done.wait(self.interval_s):
            self.parent_kib = max(self.parent_kib, self._hwm(self.pid))
            self.children_kib = max([self.children_kib, *map(self._hwm, self._children())])

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


async def plain_replay(folder: Path) -> tuple[int, float]:
    async def histories():
        for path in sorted(folder.glob("*.json")):
            yield WorkflowHistory.from_json(path.stem, path.read_text())

    started = time.perf_counter()
    results = await Replayer(workflows=[BenchWorkflow]).replay_workflows(histories(), raise_on_replay_failure=False)
    assert not results.replay_failures, results.replay_failures
    return len(list(folder.glob("*.json"))), time.perf_counter() - started


def our_replay(folder: Path, *extra: str) -> tuple[int, float, PeakRss]:
    report = folder.parent / "ours.json"
    argv = [sys.executable, "-m", "harness.cli", "replay", str(folder), "--workflows", WORKFLOW_PATH, "--json", str(report), *extra]
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=REPO, stdout=output, stderr=subprocess.STDOUT)
        rss = PeakRss(proc.pid)
        code = proc.wait()
        elapsed = time.perf_counter() - started
        rss.stop()
        if code != 0:
            output.seek(0)
            sys.exit(f"readiness replay failed ({code}):\n{output.read().decode(errors='replace')}")
    return json.loads(report.read_text())["summary"]["replayed"], elapsed, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=1000)
    parser.add_argument("--seed-workflows", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="times each is run; the best is kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="replay-bench-") as work:
        work_dir = Path(work)
        seeds = asyncio.run(seed_histories(args.seed_workflows, work_dir))
        corpus = work_dir / "corpus"
        started = time.perf_counter()
        write_corpus(seeds, args.histories, corpus)
        written_s = time.perf_counter() - started
        events = sum(len(s["events"]) for s in seeds) / len(seeds)
        print(
            f"corpus: {args.histories} histories cloned from {len(seeds)} real runs, {events:.0f} events each on average, "
            f"written in {written_s:.1f}s; {os.cpu_count()} CPUs"
        )
        # Alternate and keep each one's best of the rounds, so a noisy neighbour on a shared machine does not
        # decide the ratio.
        single_runs, plain_runs, both_runs = [], [], []
        for _ in range(args.rounds):
            single_runs.append(our_replay(corpus, "--jobs", "2", "--single-pass"))
            plain_runs.append(asyncio.run(plain_replay(corpus)))
            both_runs.append(our_replay(corpus, "--jobs", "2"))
    (ours_n, ours_s, single_rss), (both_n, both_s, both_rss) = (min(r, key=lambda r: r[1]) for r in (single_runs, both_runs))
    plain_n, plain_s = min(plain_runs, key=lambda r: r[1])
    print(
        "runs (s): single-pass " + ", ".join(f"{r[1]:.2f}" for r in single_runs) + "; two-pass "
        + ", ".join(f"{r[1]:.2f}" for r in both_runs) + "; plain " + ", ".join(f"{r[1]:.2f}" for r in plain_runs)
    )
    for label, runs in (("single-pass", single_runs), ("two-pass", both_runs)):
        children, parent = max(r[2].children_kib for r in runs) / 1024, max(r[2].parent_kib for r in runs) / 1024
        print(f"peak RSS, {label + ':':13s} replay processes {children:6.1f} MiB each at most; readiness {parent:6.1f} MiB")
    ours, plain = ours_n / ours_s, plain_n / plain_s
    print(f"plain Replayer, 1 process:                 {plain_n} histories in {plain_s:6.2f}s = {plain:7.1f} histories/s")
    print(f"readiness replay --jobs 2 --single-pass:   {ours_n} histories in {ours_s:6.2f}s = {ours:7.1f} histories/s")
    print(f"readiness replay --jobs 2 (two seeds):     {both_n} histories in {both_s:6.2f}s = {both_n / both_s:7.1f} histories/s")
    print(f"ratio={ours / plain:.2f}")


if __name__ == "__main__":
    main()
