"""Faults between the workers and the Temporal frontend, through the CLI: a 10 s partition on the good order app is GO
with the workers noticing within seconds, the backlog and the drain measured and the partition alert firing; the twin
whose orders must finish within 12 s is NO-GO with every order timed out; Ctrl-C during the partition leaves no
process and no listening proxy behind; a SIGKILLed server started again on its state loses nothing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import uuid

import pytest

from tests.conftest import REPO
from tests.e2e.test_cli_run import READINESS, lines_of, processes_with_marker, run_cli, wait_for_line

pytestmark = pytest.mark.e2e


def _check(config: str, out, expected: int, *extra: str, check_id: str = "resilience.server_connection") -> tuple[dict, dict]:
    marker = uuid.uuid4().hex
    result = run_cli("run", "--config", config, "--out", str(out), *extra, marker=marker)
    assert result.returncode == expected, result.stdout + result.stderr
    assert processes_with_marker(marker) == []
    card = json.loads((out / "scorecard.json").read_text())
    return card, next(c for c in card["checks"] if c["id"] == check_id)


def test_a_partition_on_the_good_app_is_go_measured_and_paged(tmp_path):
    card, check = _check("sample_workflows/partition.yaml", tmp_path, 0, "--scenario", "server-connection")
    evidence = check["evidence"]
    assert check["status"] == "PASS" and evidence["confirmed"] and evidence["fault_s"] >= 10
    assert evidence["completed"] == 12 and evidence["workflows_started_during_fault"] == 6
    assert 0 < evidence["detected_after_s"] < 10 and evidence["long_poll_failures_during_fault"] > 0
    assert evidence["peak_backlog_during_fault"]["workflow"] >= 1 and 0 < evidence["drain_s"] <= 60
    alerts = next(c for c in card["checks"] if c["id"] == "alerts.fire")
    if alerts["status"] != "SKIPPED":  # promtool present (CI installs it)
        fault = next(r for r in alerts["evidence"]["windows"] if r["window"] == "fault")
        assert fault["result"] == "caught" and "TemporalWorkerCannotReachServer" in fault["fired"]


def test_a_partition_of_part_of_the_fleet_is_carried_by_the_worker_that_stayed_connected(tmp_path):
    card, check = _check("sample_workflows/partition.yaml", tmp_path, 0, "--scenario", "server-connection-partial")
    evidence = check["evidence"]
    assert check["status"] == "PASS" and evidence["confirmed"] and evidence["completed"] == 12
    assert evidence["healthy_workers"] == 1 and evidence["healthy_tasks_during_fault"] > 0 and evidence["taken_over"] >= 1
    assert evidence["long_poll_failures_during_fault"] > 0  # the cut-off worker noticed, and pages
    alerts = next(c for c in card["checks"] if c["id"] == "alerts.fire")
    if alerts["status"] != "SKIPPED":
        fault = next(r for r in alerts["evidence"]["windows"] if r["window"] == "fault")
        assert fault["result"] == "caught" and "TemporalWorkerCannotReachServer" in fault["fired"]


def test_timeouts_shorter_than_the_partition_fail_naming_every_timed_out_workflow(tmp_path):
    _, check = _check("sample_workflows/flawed/short_timeout.yaml", tmp_path, 1)
    evidence = check["evidence"]
    assert check["status"] == "FAIL" and evidence["timeouts"].get("workflow execution", 0) >= 6
    assert {p["status"] for p in evidence["problems"]} == {"TIMED_OUT"} and len(evidence["problems"]) >= 6
    assert all((tmp_path / p["history"]).is_file() for p in evidence["problems"])
    assert "timeout" in check["remediation"]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_interrupt_during_the_partition_leaves_no_process_and_no_proxy(tmp_path):
    marker = uuid.uuid4().hex
    proc = subprocess.Popen(
        [READINESS, "run", "--config", "sample_workflows/partition.yaml", "--out", str(tmp_path)],
        cwd=REPO, env={**os.environ, "E2E_MARKER": marker}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert wait_for_line(lines_of(proc.stdout), "[server-connection] down between the workers", timeout=180)
        assert len(processes_with_marker(marker)) >= 4  # harness, server, payment service, worker(s)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=90)
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3 and "Traceback" not in stderr, stderr
    assert processes_with_marker(marker) == []
    steps = json.loads((tmp_path / "journal.json").read_text())["steps"]
    proxy_started = next(s for s in steps if s["name"].startswith("start workers connecting through the fault proxy"))
    port = int(proxy_started["detail"]["address"].rpartition(":")[2])
    assert not _listening(port)
    fault = next(s for s in steps if s["name"].startswith("down between the workers"))
    assert fault["status"] == "interrupted"


def test_a_sigkilled_server_restarted_on_its_state_loses_nothing(tmp_path):
    _, check = _check("sample_workflows/partition.yaml", tmp_path, 0, "--scenario", "server-restart",
                      check_id="resilience.server_restart")
    evidence = check["evidence"]
    assert check["status"] == "PASS", check["summary"]
    assert evidence["running_at_kill"] >= 1 and evidence["lost"] == 0
    assert evidence["completed"] == evidence["workflows_started"] == evidence["histories_replayed"] == 6
    steps = json.loads((tmp_path / "journal.json").read_text())["steps"]
    names = [s["name"] for s in steps if s["scenario"] == "server-restart"]
    assert names.index("SIGKILL the Temporal server") < names.index("start the server again on the same ports and state")
