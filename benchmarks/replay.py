"""Replay throughput: `readiness replay --jobs 2` vs a plain single-process `Replayer`, on the same corpus.

    .venv/bin/python -m benchmarks.replay [--histories 1000] [--seed-workflows 40]

Runs real workflows on an embedded dev server to get seed histories, clones them (fresh workflow and run ids)
into a corpus on disk, then replays the corpus side by side: the plain Replayer streaming the files in this
process (the baseline) and `readiness replay --single-pass --jobs 2` (the same work: each history once), each
timed twice, alternating, best kept; then `readiness replay --jobs 2` as shipped (two hash-seed passes: twice
the work). The last line is `ratio=X.XX`: equal-work throughput, ours / plain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
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


def write_corpus(seeds: list[dict], total: int, folder: Path) -> None:
    """Clone the seeds with fresh workflow and run ids, one file per history."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(total):
        history = json.loads(json.dumps(seeds[i % len(seeds)]))
        attrs = history["events"][0]["workflowExecutionStartedEventAttributes"]
        run_id = str(uuid.uuid4())
        attrs["originalExecutionRunId"] = attrs["firstExecutionRunId"] = run_id
        if "workflowId" in attrs:
            attrs["workflowId"] = f"bench-{i}"
        (folder / f"bench-{i:05d}.json").write_text(json.dumps(history))


async def plain_replay(folder: Path) -> tuple[int, float]:
    async def histories():
        for path in sorted(folder.glob("*.json")):
            yield WorkflowHistory.from_json(path.stem, path.read_text())

    started = time.perf_counter()
    results = await Replayer(workflows=[BenchWorkflow]).replay_workflows(histories(), raise_on_replay_failure=False)
    assert not results.replay_failures, results.replay_failures
    return len(list(folder.glob("*.json"))), time.perf_counter() - started


def our_replay(folder: Path, *extra: str) -> tuple[int, float]:
    report = folder.parent / "ours.json"
    argv = [sys.executable, "-m", "harness.cli", "replay", str(folder), "--workflows", WORKFLOW_PATH, "--json", str(report), *extra]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"readiness replay failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(report.read_text())["summary"]["replayed"], elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=1000)
    parser.add_argument("--seed-workflows", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="replay-bench-") as work:
        work_dir = Path(work)
        seeds = asyncio.run(seed_histories(args.seed_workflows, work_dir))
        corpus = work_dir / "corpus"
        write_corpus(seeds, args.histories, corpus)
        events = sum(len(s["events"]) for s in seeds) / len(seeds)
        print(f"corpus: {args.histories} histories cloned from {len(seeds)} real runs, {events:.0f} events each on average; {os.cpu_count()} CPUs")
        # Alternate the two and keep each one's best of ROUNDS, so a noisy neighbour on a shared machine
        # does not decide the ratio.
        ours_runs, plain_runs = [], []
        for _ in range(ROUNDS):
            ours_runs.append(our_replay(corpus, "--jobs", "2", "--single-pass"))
            plain_runs.append(asyncio.run(plain_replay(corpus)))
        (ours_n, ours_s), (plain_n, plain_s) = min(ours_runs, key=lambda r: r[1]), min(plain_runs, key=lambda r: r[1])
        both_n, both_s = our_replay(corpus, "--jobs", "2")
        print("runs (s): ours " + ", ".join(f"{s:.2f}" for _, s in ours_runs) + "; plain " + ", ".join(f"{s:.2f}" for _, s in plain_runs))
    ours, plain = ours_n / ours_s, plain_n / plain_s
    print(f"plain Replayer, 1 process:                 {plain_n} histories in {plain_s:6.2f}s = {plain:7.1f} histories/s")
    print(f"readiness replay --jobs 2 --single-pass:   {ours_n} histories in {ours_s:6.2f}s = {ours:7.1f} histories/s")
    print(f"readiness replay --jobs 2 (two seeds):     {both_n} histories in {both_s:6.2f}s = {both_n / both_s:7.1f} histories/s")
    print(f"ratio={ours / plain:.2f}")


if __name__ == "__main__":
    main()
