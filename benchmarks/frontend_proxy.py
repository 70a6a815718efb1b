"""What the fault proxy in front of the Temporal frontend costs when no fault is on: workflow-task schedule-to-start
p50 of a worker connected through it vs one connected directly, side by side in one run.

    .venv/bin/python -m benchmarks.frontend_proxy [--workflows 200] [--rounds 3]

One embedded dev server, two worker processes for a workflow that completes at once: one polls queue A directly, the
other polls queue B through a `FaultProxy` with no toxic (the server-connection scenario's setup). Workflows are
started in pairs at a steady pace (A B, then B A, ...), so both see the same server load; every workflow task's
schedule-to-start is read from history. Median over all rounds each; the last line is `ratio=X.XX` (proxy / direct,
1.05 = 5 % slower).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import uuid
from pathlib import Path

from benchmarks.load import WORKFLOW, WORKFLOW_PATH, start_worker, wait_polling
from harness import processes
from harness.config.models import EmbeddedTarget
from harness.environment import Environment
from harness.faults.proxy import FaultProxy
from harness.observe.activities import task_latencies

PACE_S = 0.02


async def start_and_measure(client, queues: dict[str, str], count: int, prefix: str) -> dict[str, list[float]]:
    handles = []
    for i in range(count):
        order = list(queues.items())
        for label, queue in order if i % 2 == 0 else order[::-1]:  # neither queue always goes first
            handles.append((label, await client.start_workflow(WORKFLOW, f"x{i}", id=f"{prefix}-{label}-{i}", task_queue=queue)))
        await asyncio.sleep(PACE_S)
    waits: dict[str, list[float]] = {label: [] for label in queues}
    for label, handle in handles:
        await handle.result()
        history = await handle.fetch_history()
        waits[label] += [t.latency_s for t in task_latencies(history) if t.kind == "workflow"]
    return waits


async def main(count: int, rounds: int) -> float:
    with tempfile.TemporaryDirectory(prefix="proxy-bench-") as tmp:
        work = Path(tmp)
        async with Environment.dev_server(EmbeddedTarget(), work / "server.log", dict(os.environ)) as environment:
            client, target = environment.client, environment.target
            host, _, port = target.address.rpartition(":")
            async with FaultProxy("temporal-frontend", host, int(port)) as proxy:
                queues = {"direct": f"direct-{uuid.uuid4().hex[:6]}", "proxy": f"proxy-{uuid.uuid4().hex[:6]}"}
                addresses = {"direct": target.address, "proxy": f"127.0.0.1:{proxy.port}"}
                workers = []
                try:
                    for label, queue in queues.items():
                        env = {**target.worker_env(dict(os.environ)), "TEMPORAL_ADDRESS": addresses[label]}
                        log = work / f"{label}.log"
                        workers.append(await start_worker(env, queue, [WORKFLOW_PATH], log))
                        await wait_polling(client, queue, workers[-1], log)
                    print(f"server {target.address}, proxy :{proxy.port}, {count} workflows per queue per round, {rounds} rounds")
                    await start_and_measure(client, queues, 20, "warmup")  # a fresh server is faster: not counted
                    totals: dict[str, list[float]] = {label: [] for label in queues}
                    for round_no in range(rounds):
                        waits = await start_and_measure(client, queues, count, f"round{round_no}")
                        for label in queues:
                            totals[label] += waits[label]
                        print("  round " + str(round_no + 1) + ": " + ", ".join(
                            f"{label} p50 {statistics.median(w) * 1000:.2f} ms" for label, w in waits.items()))
                finally:
                    await asyncio.gather(*(processes.stop(w) for w in workers))
                print(f"  proxy: {proxy.stats.connections} connections, {proxy.stats.bytes_up + proxy.stats.bytes_down} bytes")
    direct, proxied = statistics.median(totals["direct"]), statistics.median(totals["proxy"])
    print(f"direct : workflow-task schedule-to-start p50 {direct * 1000:.2f} ms ({len(totals['direct'])} tasks)")
    print(f"proxy  : workflow-task schedule-to-start p50 {proxied * 1000:.2f} ms ({len(totals['proxy'])} tasks)")
    return proxied / direct if direct else float("nan")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"ratio={asyncio.run(main(args.workflows, args.rounds)):.2f}")
