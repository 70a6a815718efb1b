"""`readiness replay --from-cluster` and `readiness audit-histories --from-cluster` pull live histories with a visibility
query from a real server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from temporalio.worker import Worker

from benchmarks.replay_workflows import BenchWorkflow, step
from tests.conftest import REPO, relocated, write
from tests.fixtures.policy_workflows import SettleChild, SettleWorkflow, lookup_rate

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


async def audit_cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        READINESS, "audit-histories", *args, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "300"},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode, out.decode(), err.decode()


async def test_audit_histories_from_a_protected_profile_judges_local_activities_and_children(dev_server, client, tmp_path):
    queue = f"settle-{uuid.uuid4().hex[:6]}"
    async with Worker(client, task_queue=queue, workflows=[SettleWorkflow, SettleChild], activities=[lookup_rate]):
        for i in range(2):
            await client.execute_workflow(SettleWorkflow.run, "EUR", id=f"{queue}-{i}", task_queue=queue)
    query = f"WorkflowType='SettleWorkflow' AND TaskQueue='{queue}'"
    for _ in range(100):  # visibility is eventually consistent
        if (await client.count_workflows(query)).count == 2:
            break
        await asyncio.sleep(0.1)
    config = relocated(REPO / "readiness.yaml")
    config["profiles"] = {"prod": {"address": dev_server.address, "namespace": dev_server.namespace, "protected": True}}
    config_path = write(tmp_path / "readiness.yaml", yaml.safe_dump(config))
    report = tmp_path / "audit.json"
    code, out, err = await audit_cli(
        "--from-cluster", "--query", query, "--profile", "prod", "--config", str(config_path),
        "--workflows", "tests.fixtures.policy_workflows", "--json", str(report),
    )
    assert code == 1, out + err
    assert "Pulled 2 histories" in out and "profile prod" in out
    result = json.loads(report.read_text())
    rows = {(r["kind"], r["name"]): r for r in result["evidence"]["policies"]}
    local = rows[("local_activity", "lookup_rate")]
    assert local["source"] == "code" and local["where"] == "tests/fixtures/policy_workflows.py:26" and local["seen"] == 2
    assert "unlimited attempts" in local["problems"] and "non-retryable" not in local["problems"]  # its code raises none
    child = rows[("child_workflow", "SettleChild")]
    assert child["source"] == "history" and "unlimited attempts and no execution timeout" in child["problems"]
    assert result["subjects"] == ["activity_type:lookup_rate", "workflow_type:SettleChild"]
