"""Real workers scraped through a kill: the recorder sees them go down, and under the compose profile the
Prometheus target file lists the live workers (listening on every interface) and keeps killed ones until a restart."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest

from harness.observe.recorder import MetricRecorder
from harness.profiles import BUILT_IN
from harness.workers import WorkerSupervisor
from tests.conftest import REPO
from tests.integration.test_server_and_workers import order_worker

pytestmark = pytest.mark.integration


def listening_on_every_interface(port: int) -> bool:
    """Whether /proc/net/tcp has a LISTEN socket on 0.0.0.0:port."""
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if local == f"00000000:{port:04X}" and state == "0A":
            return True
    return False


async def test_recorder_sees_killed_workers_down_and_targets_follow_the_workers(dev_server, client, tmp_path):
    targets = tmp_path / "targets" / "harness-workers.json"
    profile = replace(BUILT_IN["compose"], prometheus_targets=targets)
    supervisor = WorkerSupervisor(
        [order_worker(count=2)], client=client, task_queue=f"it-{uuid.uuid4().hex[:6]}", base_env=dev_server.worker_env({}),
        app_path=REPO, log_dir=tmp_path, run_id="t2", profile=profile, scrape_job="orders-workers",
    )
    recorder = MetricRecorder(supervisor.metrics_endpoints, interval=0.2)
    async with supervisor:
        started = await supervisor.start_all()
        ports = sorted(w.metrics_port for w in started)
        listed = json.loads(targets.read_text())
        assert sorted(t for group in listed for t in group["targets"]) == [f"host.docker.internal:{p}" for p in ports]
        assert {group["labels"]["job"] for group in listed} == {"orders-workers"}
        assert all(listening_on_every_interface(p) for p in ports)

        async with recorder.window("restart", "fault", "every worker SIGKILLed", ("pollers",)):
            await supervisor.kill_all("SIGKILL")
        window = recorder.windows[0]
        first, last = window.scrapes[:2], window.scrapes[-2:]
        assert all(s.up and any(x.name == "temporal_num_pollers" for x in s.samples) for s in first)
        assert all(not s.up and s.samples == () for s in last)
        assert {s.instance for s in window.scrapes} == {f"127.0.0.1:{p}" for p in ports}
        assert json.loads(targets.read_text()) == listed  # a crash does not deregister: Prometheus sees them down

        restarted = await supervisor.restart_all()
        assert {t for g in json.loads(targets.read_text()) for t in g["targets"]} == {f"host.docker.internal:{w.metrics_port}" for w in restarted}
    assert json.loads(targets.read_text()) == []
