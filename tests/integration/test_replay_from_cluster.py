"""`readiness replay --from-cluster` pulls live histories with a visibility query from a real server."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.worker import Worker

from benchmarks.replay_workflows import BenchWorkflow, step
from tests.conftest import REPO

pytestmark = pytest.mark.integration
READINESS = str(Path(sys.executable).parent / "readiness")


async def cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        READINESS, "replay", *args, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode, out.decode(), err.decode()


async def test_pulls_a_bounded_sample_and_replays_it(dev_server, client, tmp_path):
    queue = f"pull-{uuid.uuid4().hex[:6]}"
    async with Worker(client, task_queue=queue, workflows=[BenchWorkflow], activities=[step]):
        for i in range(3):
            await client.execute_workflow(BenchWorkflow.run, 2, id=f"{queue}-{i}", task_queue=queue)
    query = f"WorkflowType='BenchWorkflow' AND TaskQueue='{queue}'"
    for _ in range(100):  # visibility is eventually consistent
        if (await client.count_workflows(query)).count == 3:
            break
        await asyncio.sleep(0.1)
    target = ["--address", dev_server.address, "--namespace", dev_server.namespace]
    saved, report = tmp_path / "pulled", tmp_path / "replay.json"
    code, out, err = await cli(
        "--from-cluster", "--query", query, "--limit", "2", *target, "--save-histories", str(saved),
        "--workflows", "benchmarks.replay_workflows:BenchWorkflow", "--json", str(report),
    )
    assert code == 0, out + err
    assert "Pulled 2 histories" in out
    assert len(list(saved.glob("*.json"))) == 2
    data = json.loads(report.read_text())
    assert data["summary"]["histories"] == 2 and data["summary"]["failed"] == 0
    assert {r["workflow_id"] for r in data["results"]} <= {f"{queue}-{i}" for i in range(3)}

    code, out, err = await cli("--from-cluster", "--query", query, *target, "--workflows", "sample_workflows.orders:OrderWorkflow")
    assert code == 1 and "unregistered" in out, out + err

    code, _, err = await cli("--from-cluster", "--query", "WorkflowType=", *target, "--workflows", "benchmarks.replay_workflows")
    assert code == 2 and "--query" in err and "Traceback" not in err
    code, _, err = await cli("--from-cluster", "--query", "WorkflowType='Nope'", *target, "--workflows", "benchmarks.replay_workflows")
    assert code == 2 and "no workflow matches" in err


async def test_unreachable_cluster_is_exit_3(tmp_path):
    code, _, err = await cli(
        "--from-cluster", "--query", "WorkflowType='X'", "--address", "127.0.0.1:1", "--workflows", "benchmarks.replay_workflows"
    )
    assert code == 3 and "cannot use Temporal at 127.0.0.1:1" in err and "Traceback" not in err
