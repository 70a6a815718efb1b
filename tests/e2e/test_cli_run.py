"""The `readiness` CLI run as a user runs it, against the embedded dev server and real worker processes."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO, write

pytestmark = pytest.mark.e2e
READINESS = str(Path(sys.executable).parent / "readiness")
RUN_TIMEOUT_S = 300


def run_cli(*args: str, marker: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "E2E_MARKER": marker or uuid.uuid4().hex}
    return subprocess.run([READINESS, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


def processes_with_marker(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if f"E2E_MARKER={marker}".encode() in (proc / "environ").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def port_is_free(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with socket.socket() as sock:
        try:
            sock.bind((host, int(port)))
        except OSError:
            return False
    return True


def test_good_app_is_go(tmp_path):
    marker = uuid.uuid4().hex
    result = run_cli("run", "--out", str(tmp_path), marker=marker)
    assert result.returncode == 0, result.stdout + result.stderr
    card = json.loads((tmp_path / "scorecard.json").read_text())
    assert card["schema_version"] == "1.0" and card["verdict"] == "GO" and card["exit_code"] == 0
    static, check = card["checks"]
    assert (static["id"], static["status"]) == ("determinism.static", "PASS")
    assert check["id"] == "determinism.restart_replay" and check["status"] == "PASS"
    evidence = check["evidence"]
    assert evidence["workflows_started"] == 6 and evidence["completed"] == 6 and evidence["replay_failures"] == 0
    assert evidence["workers_killed"] == 2 and all(k["returncode"] == -9 for k in evidence["kills"])
    assert evidence["resumed_by_restarted_workers"] >= 1
    assert card["run"]["target"]["server_version"] and card["run"]["sdk_version"]
    assert (tmp_path / "scorecard.md").read_text().count("GO") >= 1 and (tmp_path / "junit.xml").exists()
    assert len(list((tmp_path / "histories").glob("*.json"))) == 6
    steps = json.loads((tmp_path / "journal.json").read_text())["steps"]
    assert all(s["status"] == "ok" for s in steps) and any(s["name"] == "SIGKILL all workers" for s in steps)
    assert "Verdict: GO" in result.stdout
    assert processes_with_marker(marker) == []


def test_flawed_app_is_no_go_naming_every_workflow(tmp_path):
    result = run_cli("run", "--config", "sample_workflows/flawed/local_state.yaml", "--out", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    card = json.loads((tmp_path / "scorecard.json").read_text())
    assert card["verdict"] == "NO-GO"
    static, check = card["checks"]
    assert static["status"] == "WARN" and static["evidence"]["by_rule"] == {"io": 1}
    assert check["status"] == "FAIL"
    problems = check["evidence"]["problems"]
    assert len(problems) == 6
    for problem in problems:
        assert problem["workflow_id"] in check["summary"] or "more" in check["summary"]
        assert problem["error_class"] == "nondeterminism" and "TMPRL1100" in problem["message"]
    assert "workflow.patched" in check["remediation"]
    assert "Verdict: NO-GO" in result.stdout


def test_broken_scenario_file_exits_2_with_one_line(tmp_path):
    shutil.copy(REPO / "readiness.yaml", tmp_path / "readiness.yaml")
    write(tmp_path / "scenarios/worker-restart.yaml", "name: worker-restart\nkind: worker_restart\nworkflows: -3\n")
    config = tmp_path / "readiness.yaml"
    config.write_text(config.read_text().replace("path: .", f"path: {REPO}"))
    result = run_cli("run", "--config", str(config), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "worker-restart.yaml: workflows: Input should be greater than or equal to 1" in lines[0]
    assert not (tmp_path / "out").exists()


def lines_of(stream) -> queue.Queue:
    """Read a pipe on a thread, so waiting for a line has a deadline even if the process goes silent."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    return lines


def wait_for_line(lines: queue.Queue, fragment: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if fragment in lines.get(timeout=max(0.0, deadline - time.monotonic())):
                return True
        except queue.Empty:
            break
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_stops_everything_it_started(tmp_path, sig):
    marker = uuid.uuid4().hex
    env = {**os.environ, "E2E_MARKER": marker}
    proc = subprocess.Popen(
        [READINESS, "run", "--out", str(tmp_path)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert wait_for_line(lines_of(proc.stdout), "✓ start workers", timeout=120)
        assert len(processes_with_marker(marker)) >= 4  # harness, server, payment service, workers
        proc.send_signal(sig)
        proc.wait(timeout=60)
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert processes_with_marker(marker) == []
    steps = json.loads((tmp_path / "journal.json").read_text())["steps"]
    assert steps[-1]["name"] == "stop workers, dependencies and server" and steps[-1]["status"] == "ok"
    assert port_is_free(next(s for s in steps if s["name"] == "start target")["detail"]["address"])
    # Stopped by the harness (SIGTERM, graceful), not by the parent-death signal after the harness exited.
    killed = any(s["name"] == "SIGKILL all workers" for s in steps)
    for log in (tmp_path / "logs").glob("orders-worker-*.log"):
        if "-g1-" in log.name or not killed:
            assert "worker stopped" in log.read_text(), log.name
    assert not (tmp_path / "scorecard.json").exists()


def test_existing_server_by_address(tmp_path):
    """--address targets a server the harness did not start, and leaves it running."""
    from harness.processes import free_port
    from harness.server import find_temporal_cli

    port = free_port()
    server = subprocess.Popen(
        [str(find_temporal_cli()), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--headless",
         "--namespace", "readiness-e2e"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while port_is_free(f"127.0.0.1:{port}") and time.monotonic() < deadline:
            time.sleep(0.2)
        result = run_cli("run", "--address", f"127.0.0.1:{port}", "--namespace", "readiness-e2e", "--out", str(tmp_path))
        assert result.returncode == 0, result.stdout + result.stderr
        card = json.loads((tmp_path / "scorecard.json").read_text())
        assert card["run"]["target"] == {
            "kind": "existing", "address": f"127.0.0.1:{port}", "namespace": "readiness-e2e",
            "server_version": card["run"]["target"]["server_version"],
        }
        assert card["verdict"] == "GO" and server.poll() is None
        assert not (tmp_path / "logs" / "temporal-server.log").exists()

        wrong = run_cli("run", "--address", f"127.0.0.1:{port}", "--namespace", "no-such-ns", "--out", str(tmp_path / "wrong"))
        assert wrong.returncode == 3 and "namespace no-such-ns" in wrong.stderr and "Traceback" not in wrong.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_worker_that_cannot_start_is_a_harness_error_exit_3(tmp_path):
    config = tmp_path / "readiness.yaml"
    text = (REPO / "readiness.yaml").read_text()
    text = text.replace("path: .", f"path: {REPO}").replace("scenarios_dir: scenarios", f"scenarios_dir: {REPO / 'scenarios'}")
    config.write_text(text.replace("sample_workflows.orders:OrderWorkflow", "sample_workflows.orders:Missing"))
    marker = uuid.uuid4().hex
    result = run_cli("run", "--config", str(config), "--out", str(tmp_path / "out"), marker=marker)
    assert result.returncode == 3, result.stdout + result.stderr
    assert re.search(r"error: worker orders-worker-[01]-g0-\w+ exited with code 1 before polling", result.stderr)
    assert "Missing" in result.stderr
    steps = json.loads((tmp_path / "out" / "journal.json").read_text())["steps"]
    assert [(s["name"], s["status"]) for s in steps][-2:] == [("start workers", "failed"), ("stop workers, dependencies and server", "ok")]
    assert not (tmp_path / "out" / "scorecard.json").exists()
    assert processes_with_marker(marker) == []
