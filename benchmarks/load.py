"""Workflow-start throughput: our Locust driver (`run_load`) vs a plain asyncio loop, side by side in one run.

    .venv/bin/python -m benchmarks.load [--users 20] [--seconds 10] [--rounds 2]

Starts an embedded dev server and one worker process for a workflow that completes at once, then, after an
untimed warm-up (a fresh server is faster, which would favour whichever runs first), times the same work
alternating A B A B: the plain driver (N coroutines in this process, one client, each
starting workflows back to back for T seconds) and `run_load` with one `users: N` stage of T seconds (Locust in
its own process). Both count the workflows started during the T seconds; between rounds the worker drains
what the previous round started. Best of two each (--rounds); the last line is `ratio=X.XX` (Locust / plain).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client

from harness import processes, worker_main
from harness.config.models import EmbeddedTarget
from harness.environment import Environment
from harness.load import LoadSpec, Stage, WorkflowStart, run_load
from harness.workers import task_queue_pollers

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = "LoadBenchWorkflow"
WORKFLOW_PATH = "benchmarks.load_workflows:LoadBenchWorkflow"
TASK_QUEUE = "load-bench"
EXECUTION_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 120.0


async def start_worker(env: dict[str, str], task_queue: str, workflows: list[str], log_path: Path) -> asyncio.subprocess.Process:
    """A `harness.worker_main` process polling `task_queue` for `workflows` (import paths)."""
    worker_env = {
        **env,
        worker_main.SPEC_ENV: json.dumps({"workflows": workflows, "activities": []}),
        worker_main.METRICS_PORT_ENV: str(processes.free_port()),
        worker_main.IDENTITY_ENV: f"load-worker-{uuid.uuid4().hex[:8]}",
        worker_main.TASK_QUEUE_ENV: task_queue,
        "PYTHONPATH": os.pathsep.join(part for part in (str(REPO), env.get("PYTHONPATH")) if part),
    }
    return await processes.spawn([sys.executable, "-m", "harness.worker_main"], env=worker_env, log_path=log_path, cwd=REPO)


async def wait_polling(client: Client, task_queue: str, worker: asyncio.subprocess.Process, log_path: Path, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await task_queue_pollers(client, task_queue):
        if worker.returncode is not None or loop.time() > deadline:
            raise RuntimeError(f"the worker is not polling {task_queue}:\n{processes.tail(log_path)}")
        await asyncio.sleep(0.2)


async def plain_starts(client: Client, users: int, seconds: float, id_prefix: str) -> int:
    """N coroutines starting workflows back to back with one client; returns how many started in `seconds`."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    counter = iter(range(sys.maxsize))
    started = 0

    async def user() -> None:
        nonlocal started
        while loop.time() < end:
            i = next(counter)
            await client.start_workflow(
                WORKFLOW, f"x{i}", id=f"{id_prefix}-{i}", task_queue=TASK_QUEUE,
                execution_timeout=timedelta(seconds=EXECUTION_TIMEOUT_S),
            )
            started += 1

    await asyncio.gather(*(user() for _ in range(users)))
    return started


async def locust_starts(env: dict[str, str], users: int, seconds: float, id_prefix: str, work_dir: Path) -> int:
    spec = LoadSpec(
        workflows=(WorkflowStart(WORKFLOW, ["x{i}"], EXECUTION_TIMEOUT_S),), task_queue=TASK_QUEUE, id_prefix=id_prefix,
        stages=(Stage(seconds, users=users),),
    )
    result = await run_load(spec, env=env, work_dir=work_dir / id_prefix, log_dir=work_dir / "logs")
    failed = result.aggregated.failures if result.aggregated else 0
    if failed:
        print(f"  locust: {failed} failed starts, e.g. {result.failures[:1]}")
    return len(result.workflow_ids)


async def wait_drained(client: Client) -> None:
    """Until the worker has completed every workflow started so far, so a round does not pay for the last one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_TIMEOUT_S
    while loop.time() < deadline:
        if (await client.count_workflows(f"TaskQueue='{TASK_QUEUE}' AND ExecutionStatus='Running'")).count == 0:
            return
        await asyncio.sleep(0.5)
    print("  (the worker did not drain the backlog within the time limit)")


async def main(users: int, seconds: float, rounds: int) -> float:
    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp:
        work_dir = Path(tmp)
        async with Environment.dev_server(EmbeddedTarget(), work_dir / "server.log", dict(os.environ)) as environment:
            target, client = environment.target, environment.client
            env = target.worker_env(dict(os.environ))
            worker_log = work_dir / "worker.log"
            worker = await start_worker(env, TASK_QUEUE, [WORKFLOW_PATH], worker_log)
            try:
                await wait_polling(client, TASK_QUEUE, worker, worker_log)
                print(f"server {target.address}, one worker, {users} users x {seconds:g} s per run, best of {rounds}")
                warmup = await plain_starts(client, users, seconds, "warmup")  # a fresh server is faster: not timed
                print(f"  warm-up     : {warmup} starts (not counted)")
                await wait_drained(client)
                plain_rates, locust_rates = [], []
                for round_no in range(rounds):
                    count = await plain_starts(client, users, seconds, f"plain-{round_no}")
                    plain_rates.append(count / seconds)
                    print(f"  round {round_no + 1} plain : {count} starts, {count / seconds:8.1f}/s")
                    await wait_drained(client)
                    count = await locust_starts(env, users, seconds, f"locust-{round_no}", work_dir)
                    locust_rates.append(count / seconds)
                    print(f"  round {round_no + 1} locust: {count} starts, {count / seconds:8.1f}/s")
                    await wait_drained(client)
            finally:
                await processes.stop(worker)
    plain, ours = max(plain_rates), max(locust_rates)
    print(f"plain asyncio : {plain:8.1f} workflow starts/s")
    print(f"locust driver : {ours:8.1f} workflow starts/s")
    return ours / plain


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20, help="concurrent starters in both drivers (default 20)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each timed run (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="timed runs of each driver, best kept (default 2)")
    args = parser.parse_args()
    started = time.perf_counter()
    ratio = asyncio.run(main(args.users, args.seconds, args.rounds))
    print(f"benchmark took {time.perf_counter() - started:.0f} s")
    print(f"ratio={ratio:.2f}")


if __name__ == "__main__":
    cli()
