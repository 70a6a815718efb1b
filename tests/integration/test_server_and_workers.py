"""Real dev server, real worker processes, real signals."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import httpx
import pytest

from harness import processes, replay
from harness.config.models import DependencyConfig, PythonWorkerSpec, WorkerConfig
from harness.dependencies import running_dependencies
from harness.errors import ProcessError
from harness.observe import histories, metrics
from harness.workers import WorkerSupervisor, task_queue_pollers
from sample_workflows.models import Order
from tests.conftest import REPO

pytestmark = pytest.mark.integration

PAYMENTS = DependencyConfig(
    name="payments", command=["{python}", "-m", "sample_workflows.payment_service", "--port", "{port}"], env_var="PAYMENT_URL"
)


def order_worker(name: str = "w", count: int = 1, workflows: str = "sample_workflows.orders:OrderWorkflow") -> WorkerConfig:
    return WorkerConfig(
        name=name, count=count,
        python=PythonWorkerSpec(workflows=[workflows], activities=["sample_workflows.activities:ACTIVITIES"]),
    )


def supervise(dev_server, client, tmp_path, workers, queue, dep_env=None) -> WorkerSupervisor:
    return WorkerSupervisor(
        workers, client=client, task_queue=queue, base_env={**dev_server.worker_env(dict(os.environ)), **(dep_env or {})},
        app_path=REPO, log_dir=tmp_path, run_id="t1",
    )


async def server_sees_pollers(client, queue: str, identities: set[str], timeout: float = 30.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if identities <= await task_queue_pollers(client, queue):
            return True
        await asyncio.sleep(0.2)
    return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


async def test_embedded_server_reports_its_version(dev_server, client):
    assert dev_server.kind == "embedded" and dev_server.address.startswith("127.0.0.1:")
    assert dev_server.server_version and dev_server.server_version[0].isdigit()
    assert client.namespace == "default"


async def test_dependency_serves_idempotent_charges_and_stops(tmp_path):
    async with running_dependencies([PAYMENTS], dict(os.environ), REPO, tmp_path) as deps:
        env = deps.env
        url = env["PAYMENT_URL"]
        async with httpx.AsyncClient() as http:
            first = await http.post(f"{url}/charges", json={"amount_cents": 100}, headers={"Idempotency-Key": "k"})
            again = await http.post(f"{url}/charges", json={"amount_cents": 100}, headers={"Idempotency-Key": "k"})
            declined = await http.post(f"{url}/charges", json={"amount_cents": 10**7})
        assert first.status_code == 201 and first.json() == again.json()
        assert declined.status_code == 402
        assert deps.proxies["payments"].stats.connections >= 1  # the workers' URL goes through the fault proxy
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


async def test_supervisor_starts_kills_restarts_and_scrapes(dev_server, client, tmp_path):
    queue = f"it-{uuid.uuid4().hex[:6]}"
    async with running_dependencies([PAYMENTS], dict(os.environ), REPO, tmp_path) as deps:
        dep_env = deps.env
        async with supervise(dev_server, client, tmp_path, [order_worker(count=2)], queue, dep_env) as supervisor:
            started = await supervisor.start_all()
            assert [w.identity for w in started] == ["w-0-g0-t1", "w-1-g0-t1"]
            assert await server_sees_pollers(client, queue, {"w-0-g0-t1", "w-1-g0-t1"})

            result = await client.execute_workflow(
                "OrderWorkflow", Order("it-1", "acme", 500, shipping_delay_seconds=0.1), id=f"{queue}-wf", task_queue=queue
            )
            assert result["status"] == "shipped" and result["charge_id"].startswith("ch_")

            samples, errors = await metrics.scrape(supervisor.metrics_endpoints(), phase="test")
            assert errors == {} and metrics.total(samples, "temporal_workflow_completed") == 1

            pids = [w.proc.pid for w in started]
            kills = await supervisor.kill_all("SIGKILL")
            assert [(k.returncode, k.confirmed) for k in kills] == [(-9, True), (-9, True)]
            assert not any(pid_alive(p) for p in pids)

            restarted = await supervisor.restart_all()
            assert [w.identity for w in restarted] == ["w-0-g1-t1", "w-1-g1-t1"]
            assert await server_sees_pollers(client, queue, {"w-0-g1-t1", "w-1-g1-t1"})
            new_pids = [w.proc.pid for w in restarted]
        assert not any(pid_alive(p) for p in new_pids)


async def test_killing_an_already_dead_worker_is_not_confirmed(dev_server, client, tmp_path):
    queue = f"it-{uuid.uuid4().hex[:6]}"
    async with supervise(dev_server, client, tmp_path, [order_worker()], queue) as supervisor:
        (worker,) = await supervisor.start_all()
        await processes.stop(worker.proc)
        (kill,) = await supervisor.kill_all("SIGKILL")
        assert kill.confirmed is False


async def test_worker_that_cannot_import_fails_fast_with_its_log(dev_server, client, tmp_path):
    broken = order_worker(workflows="sample_workflows.orders:NoSuchWorkflow")
    supervisor = supervise(dev_server, client, tmp_path, [broken], "it-broken")
    async with supervisor:
        with pytest.raises(ProcessError, match="exited with code 1 before polling(.|\n)*NoSuchWorkflow"):
            await asyncio.wait_for(supervisor.start_all(), 60)


async def test_replay_classifies_a_code_change_as_nondeterminism(dev_server, client, tmp_path):
    queue = f"it-{uuid.uuid4().hex[:6]}"
    async with running_dependencies([PAYMENTS], dict(os.environ), REPO, tmp_path) as deps:
        dep_env = deps.env
        async with supervise(dev_server, client, tmp_path, [order_worker()], queue, dep_env) as supervisor:
            await supervisor.start_all()
            await client.execute_workflow(
                "OrderWorkflow", Order("it-2", "acme", 500, shipping_delay_seconds=0.1), id=f"{queue}-wf", task_queue=queue
            )
    history = await histories.fetch(client, f"{queue}-wf")
    files = [tmp_path / histories.write(history, tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    async def replay_against(workflow: str):
        (outcome,) = await replay.replay_files(files, [workflow], env=env, cwd=REPO, log_dir=tmp_path / "replay")
        return outcome

    same = await replay_against("sample_workflows.orders:OrderWorkflow")
    other = await replay_against("sample_workflows.flawed.local_state:LocalStateOrderWorkflow")
    assert same.ok and same.run_id and same.workflow_id == f"{queue}-wf"
    assert not other.ok and other.kind == "nondeterminism" and "TMPRL1100" in other.error_message
    assert other.workflow_type == "OrderWorkflow" and other.path == str(files[0])
    with pytest.raises(ProcessError, match=r"workers\[\]\.python\.workflows\): cannot load the workflow code: AttributeError.*NoSuchWorkflow"):
        await replay_against("sample_workflows.orders:NoSuchWorkflow")


@pytest.mark.parametrize(
    "worker",
    [
        WorkerConfig(name="factory", python=PythonWorkerSpec(workflows=["sample_workflows.orders:OrderWorkflow"], factory="sample_workflows.worker:build")),
        WorkerConfig(name="external", command=["{python}", "-m", "sample_workflows.worker"]),
    ],
    ids=["python-factory", "external-command"],
)
async def test_factory_and_external_command_workers_run_kill_and_restart(dev_server, client, tmp_path, worker):
    queue = f"it-{uuid.uuid4().hex[:6]}"
    async with running_dependencies([PAYMENTS], dict(os.environ), REPO, tmp_path) as deps:
        dep_env = deps.env
        async with supervise(dev_server, client, tmp_path, [worker], queue, dep_env) as supervisor:
            await supervisor.start_all()
            result = await client.execute_workflow(
                "OrderWorkflow", Order("it-3", "acme", 500, shipping_delay_seconds=0.1), id=f"{queue}-wf", task_queue=queue
            )
            assert result["status"] == "shipped"
            (kill,) = await supervisor.kill_all("SIGKILL")
            assert kill.confirmed and kill.returncode == -9
            (restarted,) = await supervisor.restart_all()
            assert restarted.generation == 1 and restarted.proc.returncode is None
            assert bool(supervisor.metrics_endpoints()) == (worker.python is not None)


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


async def test_kill_reaches_a_worker_behind_a_wrapper_command(dev_server, client, tmp_path):
    """`sh -c`, `go run`, `npm start`: the wrapper and the worker under it must die together."""
    wrapped = WorkerConfig(name="wrapped", command=["sh", "-c", "{python} -m sample_workflows.worker; echo wrapper-survived"])
    queue = f"it-{uuid.uuid4().hex[:6]}"
    async with supervise(dev_server, client, tmp_path, [wrapped], queue) as supervisor:
        (worker,) = await supervisor.start_all()
        inner = children_of(worker.proc.pid)
        assert len(inner) == 1 and pid_alive(inner[0])
        (kill,) = await supervisor.kill_all("SIGKILL")
        assert kill.confirmed
        await asyncio.sleep(0.2)
        assert not pid_alive(inner[0])
    assert "wrapper-survived" not in worker.log_path.read_text()


async def test_a_worker_that_fails_to_spawn_does_not_leak_the_ones_already_started(dev_server, client, tmp_path):
    queue = f"it-{uuid.uuid4().hex[:6]}"
    missing = WorkerConfig(name="missing", command=[str(tmp_path / "bin/worker-not-built")])
    supervisor = supervise(dev_server, client, tmp_path, [order_worker(count=2), missing], queue)
    async with supervisor:
        with pytest.raises(ProcessError, match="cannot start worker missing-0"):
            await supervisor.start_all()
        started = [w.proc.pid for w in supervisor.running]
        assert len(started) == 2
    assert not any(pid_alive(p) for p in started)


async def test_embedded_target_keeps_cloud_credentials_away_from_workers(dev_server):
    env = dev_server.worker_env({"TEMPORAL_API_KEY": "secret", "TEMPORAL_TLS_CLIENT_CERT_PATH": "/c", "HOME": "/root"})
    assert env == {"HOME": "/root", "TEMPORAL_ADDRESS": dev_server.address, "TEMPORAL_NAMESPACE": "default"}


async def test_a_worker_whose_metrics_port_was_taken_meanwhile_starts_again_on_another(dev_server, client, tmp_path, monkeypatch):
    taken = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)  # another process got the chosen port first
    taken_port = taken.sockets[0].getsockname()[1]
    chosen = iter([taken_port])
    real_free_port = processes.free_port
    monkeypatch.setattr(processes, "free_port", lambda: next(chosen, None) or real_free_port())
    queue = f"port-{uuid.uuid4().hex[:6]}"
    try:
        async with supervise(dev_server, client, tmp_path, [order_worker()], queue) as supervisor:
            [worker] = await supervisor.start_all()
            assert worker.metrics_port != taken_port and worker.proc.returncode is None
            assert len(supervisor.running) == 1
            assert any("Address already in use" in p.read_text() for p in tmp_path.glob("*.log"))
    finally:
        taken.close()
        await taken.wait_closed()
