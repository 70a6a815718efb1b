"""What the fault proxy in front of the Temporal frontend costs when no fault is on: workflow-task schedule-to-start
p50 of a worker connected through it vs one connected directly, side by side in one run.

    .venv/bin/python -m benchmarks.frontend_proxy [--workflows 200] [--rounds 3]

One embedded dev server, three worker processes for a workflow that completes at once: two poll queues of their own
directly, the third polls its queue through a `FaultProxy` with no toxic (the server-connection scenario's setup).
Workflows are started in threes at a steady pace (the order rotating), so all see the same server load; every
workflow task's schedule-to-start is read from history. Medians over all rounds; `noise` is the second direct
worker over the first (what two identical workers differ by on this machine), and the last line is `ratio=X.XX`
(proxy / first direct worker, 1.05 = 5 % slower).
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
        for label, queue in order[i % len(order):] + order[: i % len(order)]:  # no queue always goes first
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
                queues = {label: f"{label}-{uuid.uuid4().hex[:6]}" for label in ("direct", "direct2", "proxy")}
                addresses = {"direct": target.address, "direct2": target.address, "proxy": f"127.0.0.1:{proxy.port}"}
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
    direct, direct2, proxied = (statistics.median(totals[label]) for label in ("direct", "direct2", "proxy"))
    for label, value in (("direct", direct), ("direct2", direct2), ("proxy", proxied)):
        print(f"{label:8}: workflow-task schedule-to-start p50 {value * 1000:.2f} ms ({len(totals[label])} tasks)")
    print(f"noise={direct2 / direct:.2f} (second direct worker / first)")
    return proxied / direct if direct else float("nan")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"ratio={asyncio.run(main(args.workflows, args.rounds)):.2f}")
