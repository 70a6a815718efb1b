"""`readiness patches --from-cluster`: live workflows pulled from a real server, some open with a patch's live marker."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from temporalio.worker import Worker

from tests.e2e.test_cli_run import run_cli
from tests.fixtures.patch_lifecycle import WaitsForPickup

pytestmark = pytest.mark.integration


async def test_from_cluster_counts_the_open_workflows_that_still_need_a_patch(dev_server, client, tmp_path):
    queue = f"patches-{uuid.uuid4().hex[:6]}"
    async with Worker(client, task_queue=queue, workflows=[WaitsForPickup]):
        handles = [await client.start_workflow(WaitsForPickup.run, id=f"{queue}-{i}", task_queue=queue) for i in range(3)]
        await handles[0].signal(WaitsForPickup.picked_up)
        assert await handles[0].result() is True
        query = f"WorkflowType='WaitsForPickup' AND TaskQueue='{queue}'"
        for _ in range(100):  # visibility is eventually consistent
            if (await client.count_workflows(query + " AND ExecutionStatus='Running'")).count == 2:
                break
            await asyncio.sleep(0.1)
        args = ("patches", "--from-cluster", "--query", query, "--address", dev_server.address, "--namespace", dev_server.namespace,
                "--workflows", "tests.fixtures.patch_lifecycle:WaitsForPickupNext", "--json", str(tmp_path / "p.json"))
        result = await asyncio.to_thread(run_cli, *args)
        for handle in handles[1:]:
            await handle.terminate()
    assert result.returncode == 0, result.stdout + result.stderr
    [row] = json.loads((tmp_path / "p.json").read_text())["patches"]
    assert (row["patch_id"], row["in_code"], row["action"]) == ("express-shipping", "deprecated", "wait")
    assert row["open_with_live_marker"] == 2 and row["closed_with_live_marker"] == 1
