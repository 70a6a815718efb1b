"""A protected profile (production) refuses every scenario before anything starts, and still allows read-only commands.

The test starts its own dev server and points a config profile at it, so "nothing happened" is checked on a real
cluster: no workflow in the namespace, no poller on the task queue, no child process, the report folder untouched,
nothing recorded in the run history. A control run through the same profile, unprotected, shows each of those checks
does see a run that happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from harness.processes import free_port
from harness.server import find_temporal_cli
from tests.conftest import REPO, relocated, write
from tests.e2e.test_cli_run import READINESS, RUN_TIMEOUT_S, port_is_free

pytestmark = pytest.mark.e2e
NAMESPACE = "protected-e2e"
TASK_QUEUE = "orders"
PROCESS_POLL_S = 0.05


@contextlib.contextmanager
def dev_server(log_path: Path, namespace: str = NAMESPACE) -> Iterator[str]:
    """A `temporal server start-dev` the harness did not start; yields its address and stops it at the end."""
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(find_temporal_cli()), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--headless",
             "--http-port", str(free_port()), "--metrics-port", str(free_port()), "--namespace", namespace],
            stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while port_is_free(f"127.0.0.1:{port}") and time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_watching_children(args: list[str], env: dict[str, str], cwd: Path = REPO) -> tuple[subprocess.CompletedProcess, set[int]]:
    """Run the CLI and return its result and every other process seen carrying its marker while it ran (its children)."""
    marker = uuid.uuid4().hex
    proc = subprocess.Popen(
        [READINESS, *args], cwd=cwd, env={**env, "E2E_MARKER": marker}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    children: set[int] = set()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while proc.poll() is None and time.monotonic() < deadline:
        children |= {pid for pid in processes_with_environ(f"E2E_MARKER={marker}") if pid != proc.pid}
        time.sleep(PROCESS_POLL_S)
    stdout, stderr = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), children


def processes_with_environ(entry: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.encode() in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
    return found


async def cluster_state(address: str) -> tuple[int, set[str]]:
    """Workflows in the namespace and identities polling the task queue (the server lists a poller for minutes)."""
    client = await Client.connect(address, namespace=NAMESPACE)
    workflows = [w async for w in client.list_workflows()]
    pollers = set()
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(namespace=NAMESPACE, task_queue=TaskQueue(name=TASK_QUEUE), task_queue_type=kind)
        )
        pollers |= {p.identity for p in response.pollers}
    return len(workflows), pollers


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_protected_profile_refuses_worker_restart_without_touching_anything(tmp_path):
    key = f"sk-e2e-{uuid.uuid4().hex}"
    out, history_db = tmp_path / "out", tmp_path / "history.db"
    write(out / "sentinel.txt", "from a previous run\n")
    write(out / "scorecard.json", '{"verdict": "GO", "note": "a previous run"}\n')
    write(out / "logs" / "orders-worker-0.log", "a previous run's worker log\n")
    before = snapshot(out)
    env = {**os.environ, "READINESS_HISTORY_DB": str(history_db), "E2E_PROD_KEY": key}

    with dev_server(tmp_path / "server.log") as address:
        profile = {"address": address, "namespace": NAMESPACE, "api_key": {"env": "E2E_PROD_KEY"}, "tls": False, "protected": True}
        config = write(tmp_path / "readiness.yaml", yaml.safe_dump({**relocated(REPO / "readiness.yaml"), "profiles": {"production": profile}}))
        run_args = ["run", "--config", str(config), "--profile", "production", "--scenario", "worker-restart", "--out", str(out)]

        result, children = run_watching_children(run_args, env)
        assert result.returncode == 2, result.stdout + result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert "profile 'production' is protected" in lines[0] and "worker-restart (starts workflows and kills every worker" in lines[0]
        assert "Nothing was started" in lines[0]
        for allowed in ("readiness replay --from-cluster", "readiness watch", "readiness parity"):
            assert allowed in lines[0]
        assert children == set()
        assert asyncio.run(cluster_state(address)) == (0, set())
        assert snapshot(out) == before
        assert not history_db.exists()

        # the control: the same profile unprotected really runs there, and every check above would have seen it
        unprotected = {**profile, "protected": False}
        write(config, yaml.safe_dump({**relocated(REPO / "readiness.yaml"), "profiles": {"production": unprotected}}))
        result, children = run_watching_children(run_args, env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert children
        workflows, pollers = asyncio.run(cluster_state(address))
        assert workflows >= 6 and pollers
        assert snapshot(out) != before and (out / "sentinel.txt").exists()
        assert history_db.exists()

        # read-only commands stay allowed on the protected profile
        write(config, yaml.safe_dump({**relocated(REPO / "readiness.yaml"), "profiles": {"production": profile}}))
        replay = subprocess.run(
            [READINESS, "replay", "--from-cluster", "--config", str(config), "--profile", "production", "--query",
             "WorkflowType='OrderWorkflow'", "--workflows", "sample_workflows.orders:OrderWorkflow", "--single-pass"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        )
        assert replay.returncode == 0, replay.stdout + replay.stderr
        printed = " ".join(replay.stdout.split())
        assert f"from {address} (profile production) namespace {NAMESPACE}" in printed and "all replay" in printed
        patches = subprocess.run(
            [READINESS, "patches", "--from-cluster", "--config", str(config), "--profile", "production", "--query",
             "WorkflowType='OrderWorkflow'", "--workflows", "sample_workflows.orders:OrderWorkflow"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        )
        assert patches.returncode == 0 and "0 patch ids judged on" in patches.stdout, patches.stdout + patches.stderr
