"""run_load against the embedded dev server: real Locust processes, a real worker process, real workflows."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from benchmarks.load import start_worker, wait_polling
from harness import processes
from harness.errors import ProcessError
from harness.load import LoadResult, LoadSpec, Stage, WorkflowStart, run_load

pytestmark = pytest.mark.integration

WORKFLOWS = ["benchmarks.load_workflows:LoadBenchWorkflow", "benchmarks.load_workflows:PokedWorkflow"]


@pytest_asyncio.fixture(scope="module")
async def task_queue(dev_server, client, tmp_path_factory) -> AsyncIterator[str]:
    """A unique task queue polled by one worker process for the load workflows."""
    queue = f"load-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path_factory.mktemp("load-worker") / "worker.log"
    worker = await start_worker(dev_server.worker_env(dict(os.environ)), queue, WORKFLOWS, log_path)
    try:
        await wait_polling(client, queue, worker, log_path)
        yield queue
    finally:
        await processes.stop(worker)


def load_spec(queue: str, *stages: Stage, workflow: str = "LoadBenchWorkflow", signal: str | None = None) -> LoadSpec:
    return LoadSpec(
        workflows=(WorkflowStart(workflow, ["item-{i}"], 120.0),), task_queue=queue, id_prefix=f"{queue}-{uuid.uuid4().hex[:6]}",
        stages=stages, signal=signal,
    )


def processes_mentioning(path: Path) -> list[int]:
    """Pids of live processes whose command line or environment names `path` (every Locust process of a run has
    it in its environment; the master also on its command line)."""
    needle = str(path).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if needle in (entry / "cmdline").read_bytes() or needle in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except (OSError, IndexError):
            continue
    return found


def assert_consistent(result: LoadResult, workflow: str = "LoadBenchWorkflow") -> None:
    """Ids are unique, and Locust counted one start request per id plus the failed ones."""
    assert len(set(result.workflow_ids)) == len(result.workflow_ids), "workflow ids are unique"
    assert result.aggregated is not None and result.requests[-1] is result.aggregated
    starts = next(row for row in result.requests if row.name == f"start {workflow}")
    assert starts.requests == len(result.workflow_ids) + starts.failures
    assert result.history, "the stats history has rows"


async def test_a_rate_stage_starts_about_rate_times_duration(dev_server, client, task_queue, tmp_path):
    work_dir = tmp_path / "load"
    spec = load_spec(task_queue, Stage(4, rate=5))
    result = await run_load(spec, env=dev_server.worker_env(dict(os.environ)), work_dir=work_dir, log_dir=tmp_path / "logs")

    assert 10 <= len(result.workflow_ids) <= 30, result
    assert_consistent(result)
    total = result.aggregated
    assert total.failures == 0 and total.requests == len(result.workflow_ids), result.failures
    assert [row.name for row in result.requests] == ["start LoadBenchWorkflow", "Aggregated"]
    assert all(wid.startswith(spec.id_prefix) for wid in result.workflow_ids)
    descriptions = await asyncio.gather(*(client.get_workflow_handle(wid).describe() for wid in result.workflow_ids))
    assert {d.workflow_type for d in descriptions} == {"LoadBenchWorkflow"}
    assert {d.task_queue for d in descriptions} == {task_queue}
    assert await client.get_workflow_handle(result.workflow_ids[0]).result() == f"hello item-{result.workflow_ids[0].rsplit('-', 1)[1]}"
    assert result.locust_workers == 0 and result.duration_s >= 4
    assert processes_mentioning(work_dir) == []
    assert (tmp_path / "logs" / "locust-local.log").is_file()


async def test_distributed_workers_each_start_and_signal_workflows(dev_server, client, task_queue, tmp_path):
    work_dir = tmp_path / "load"
    spec = load_spec(task_queue, Stage(4, rate=6), workflow="PokedWorkflow", signal="poke")
    result = await run_load(
        spec, env=dev_server.worker_env(dict(os.environ)), work_dir=work_dir, log_dir=tmp_path / "logs", locust_workers=2
    )

    assert 12 <= len(result.workflow_ids) <= 36, result
    assert_consistent(result, "PokedWorkflow")
    assert result.locust_workers == 2
    process_tags = {wid.removeprefix(spec.id_prefix + "-").split("-")[0] for wid in result.workflow_ids}
    assert len(process_tags) == 2, "both Locust workers started workflows"
    assert len(list(work_dir.glob("ids-*.txt"))) == 2
    by_name = {row.name: row for row in result.requests}
    assert by_name["signal poke"].requests == len(result.workflow_ids) and by_name["signal poke"].failures == 0
    outcomes = await asyncio.gather(*(client.get_workflow_handle(wid).result() for wid in result.workflow_ids[:5]))
    assert all(outcome.startswith("poked item-") for outcome in outcomes)
    assert processes_mentioning(work_dir) == []


async def test_cancelling_the_run_stops_every_locust_process(dev_server, task_queue, tmp_path):
    work_dir = tmp_path / "load"
    spec = load_spec(task_queue, Stage(120, users=2))
    run = asyncio.ensure_future(
        run_load(spec, env=dev_server.worker_env(dict(os.environ)), work_dir=work_dir, log_dir=tmp_path / "logs", locust_workers=1)
    )
    await asyncio.sleep(3)
    assert len(processes_mentioning(work_dir)) == 2, "a master and a worker are running"
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert processes_mentioning(work_dir) == []


async def test_an_unreachable_server_is_an_error_not_a_result(tmp_path):
    work_dir = tmp_path / "load"
    env = {**os.environ, "TEMPORAL_ADDRESS": f"127.0.0.1:{processes.free_port()}", "TEMPORAL_NAMESPACE": "default"}
    spec = load_spec("nowhere", Stage(60, users=1))
    with pytest.raises(ProcessError, match="exited with code 2"):
        await run_load(spec, env=env, work_dir=work_dir, log_dir=tmp_path / "logs", timeout_s=40)
    assert processes_mentioning(work_dir) == []


async def test_a_run_past_its_timeout_is_an_error_and_leaves_no_process(dev_server, task_queue, tmp_path):
    work_dir = tmp_path / "load"
    spec = load_spec(task_queue, Stage(60, users=1))
    with pytest.raises(ProcessError, match="did not finish within 4s"):
        await run_load(spec, env=dev_server.worker_env(dict(os.environ)), work_dir=work_dir, log_dir=tmp_path / "logs", timeout_s=4)
    assert processes_mentioning(work_dir) == []
