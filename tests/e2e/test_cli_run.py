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
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import yaml

from harness.alerts import promtool
from harness.scorecard.model import SCHEMA_VERSION
from tests.conftest import REPO, relocated, write

pytestmark = pytest.mark.e2e
READINESS = str(Path(sys.executable).parent / "readiness")
RUN_TIMEOUT_S = 300
PROMTOOL = promtool.find() is not None
ALERTS_PASS = {"alerts.static": "PASS", "alerts.fire": "PASS" if PROMTOOL else "SKIPPED", "alerts.runbooks": "PASS"}
ALERTS_WITHOUT_FAULTS = {**ALERTS_PASS, "alerts.fire": "SKIPPED"}
"""The alert checks of a sample config (the shipped rules) after a run with fault scenarios, and after one without
(alerts.fire is SKIPPED, never PASS, where promtool is not installed: .ci/run installs it)."""


E2E_HISTORY_DB = Path(tempfile.gettempdir()) / f"readiness-e2e-history-{os.getpid()}.db"
"""Where the runs of this test process are recorded: never the repository's .readiness/."""


def run_cli(*args: str, marker: str | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "E2E_MARKER": marker or uuid.uuid4().hex, "READINESS_HISTORY_DB": str(E2E_HISTORY_DB)}
    return subprocess.run([READINESS, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


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
    """The default config runs every scenario: the restart, the outage, the business error, 2x peak load, the kill
    during long activities, racing signals and a month of workflow time."""
    marker = uuid.uuid4().hex
    result = run_cli("run", "--out", str(tmp_path), marker=marker)
    assert result.returncode == 0, result.stdout + result.stderr
    card = json.loads((tmp_path / "scorecard.json").read_text())
    assert card["schema_version"] == SCHEMA_VERSION and card["verdict"] == "GO" and card["exit_code"] == 0
    checks: dict[str, dict] = {}
    for check in card["checks"]:
        checks.setdefault(check["id"], check)  # retry.outage twice: the outage first, then the lost answers
    assert list(checks) == [
        "determinism.static", "determinism.restart_replay", "retry.outage", "retry.non_retryable",
        "latency.schedule_to_start", "longrun.heartbeat", "signals.concurrent", "longrun.time_skip", "retry.policy",
        "activities.idempotent", "alerts.static", "alerts.fire", "alerts.runbooks",
    ]
    lost_answers = next(c for c in card["checks"] if c["scenario"] == "retry-lost-answers")
    assert lost_answers["id"] == "retry.outage" and lost_answers["status"] == "PASS"
    assert lost_answers["evidence"]["fault"]["answers_lost"] > 0 and lost_answers["evidence"]["workflows_failed"] == 0
    assert {k: c["status"] for k, c in checks.items() if c["status"] != "PASS"} == ({} if PROMTOOL else {"alerts.fire": "SKIPPED"})
    evidence = checks["determinism.restart_replay"]["evidence"]
    assert evidence["workflows_started"] == 6 and evidence["completed"] == 6 and evidence["replay_failures"] == 0
    assert evidence["workers_killed"] == 2 and all(k["returncode"] == -9 for k in evidence["kills"])
    assert evidence["resumed_by_restarted_workers"] >= 1

    outage = checks["retry.outage"]["evidence"]
    assert outage["fault"]["confirmed"] and outage["fault"]["probe_refused"] and outage["fault"]["connections_before_fault"] > 0
    assert outage["faulted_activity_types"] == ["charge_payment"] and outage["activities_hit"] > 10
    assert outage["attempts_per_s_before"] > 0 and 1 < outage["storm_factor"] <= 4 and outage["retry_amplification"] > 1
    assert outage["workflows_failed"] == 0 and outage["drain_after_restore_s"] is not None
    policies = {row["name"]: row for row in checks["retry.policy"]["evidence"]["policies"] if row["kind"] == "activity"}
    assert {name: row["source"] for name, row in policies.items()} == {
        "reserve_inventory": "history", "charge_payment": "history", "ship_order": "history", "export_orders": "history",
        "renew_subscription": "history", "refund_payment": "code",  # refunds run only on a cancel: judged from the code
    }
    assert checks["retry.policy"]["evidence"]["disagreements"] == []
    assert policies["charge_payment"]["max_attempts"] == 8 and policies["charge_payment"]["backoff"] == 3.0
    ledger = checks["activities.idempotent"]["evidence"]
    assert ledger["repeated_operations"] > 0 and ledger["not_judged"] == []
    assert set(ledger["dependencies"]["payments"]["by_activity"]["payments: charge_payment POST /charges"]) <= {
        "repeated_with_key", "once_with_key"
    }
    cases = checks["retry.non_retryable"]["evidence"]["cases"]
    assert len(cases) == 2 and all(c["attempts"] == 1 and c["retry_state"] == "NON_RETRYABLE_FAILURE" for c in cases)
    latency = checks["latency.schedule_to_start"]["evidence"]
    rows = {r["task"]: r for r in latency["schedule_to_start"]}
    assert latency["target_rate_per_s"] == 6.0 and latency["workflows_started"] > 50 and latency["start_failures"] == 0
    assert rows["workflow"]["count"] > 100 and rows["activity"]["count"] > 100 and rows["activity"]["p99_ms"] < 1000
    assert rows["activity"]["sdk_unit"] == "ms" and latency["counter_naming"] == "no _total suffix"

    heartbeat = checks["longrun.heartbeat"]["evidence"]
    assert heartbeat["kill_confirmed"] and heartbeat["long_in_flight_at_kill"] == 2
    assert all(r["detected_by"] == "heartbeat timeout" and r["detection_s"] <= r["limit_s"] for r in heartbeat["in_flight"])
    signals = checks["signals.concurrent"]["evidence"]
    assert signals["workflows"] == 36 and signals["co_delivered"] >= 9 and signals["lost_signals"] == 0
    skipped = checks["longrun.time_skip"]["evidence"]
    assert skipped["workflow_days"] >= 30 and skipped["restarts"] == 2 and skipped["replay_failures"] == 0

    types = {t["workflow_type"]: t for t in card["workflow_types"]}
    assert set(types) == {"OrderWorkflow", "ExportWorkflow", "ApprovalWorkflow", "SubscriptionWorkflow"}
    assert types["SubscriptionWorkflow"]["clock"].startswith("workflow time") and types["SubscriptionWorkflow"]["latency_p50_s"] >= 30 * 86400
    orders = types["OrderWorkflow"]
    assert orders["failed"] == 2 and orders["latency_p99_s"] >= orders["latency_p50_s"] > 0
    assert [(c["error_type"], c["count"]) for c in orders["failure_classes"]] == [("PaymentDeclined", 2)]
    assert "## Workflow types (the first-48-hours view)" in (tmp_path / "scorecard.md").read_text()

    assert_alerts_of_the_good_app(checks, tmp_path)

    assert card["run"]["target"]["server_version"] and card["run"]["sdk_version"]
    assert (tmp_path / "scorecard.md").read_text().count("GO") >= 1 and (tmp_path / "junit.xml").exists()
    steps = json.loads((tmp_path / "journal.json").read_text())["steps"]
    assert all(s["status"] == "ok" for s in steps) and any(s["name"] == "SIGKILL all workers" for s in steps)
    lane_steps = [s for s in steps if s["name"].startswith("start lane ")]
    assert [s["name"] for s in lane_steps] == ["start lane 1: dev server and dependency proxies", "start lane 2: dev server and dependency proxies"]
    first_env = next(s for s in steps if s["name"] == "start dependencies behind fault proxies")["detail"]["env"]
    payment_urls = {first_env["PAYMENT_URL"], *(s["detail"]["env"]["PAYMENT_URL"] for s in lane_steps)}
    assert len(payment_urls) == 3  # every lane's workers reach payments through a proxy of their own
    assert len({s["detail"]["address"] for s in lane_steps} | {card["run"]["target"]["address"]}) == 3
    spans = {
        name: (min(s["started_at"] for s in steps if s["scenario"] == name), max(s["ended_at"] for s in steps if s["scenario"] == name))
        for name in ("retry-outage", "worker-restart", "retry-lost-answers")
    }
    assert spans["worker-restart"][0] < spans["retry-outage"][1] and spans["retry-lost-answers"][0] < spans["retry-outage"][1]
    fault_step = next(s for s in steps if s["name"].startswith("fault ") and s["scenario"] == "retry-outage")
    assert fault_step["detail"]["confirmed"] is True and fault_step["detail"]["probe_refused"] is True
    assert "Verdict: GO" in result.stdout
    assert processes_with_marker(marker) == []  # no worker, proxy target, Locust or server process left


def assert_alerts_of_the_good_app(checks: dict, out: Path) -> None:
    """Every fault caught by its alert, the steady state silent: the fault x alert matrix of the default run."""
    assert checks["alerts.static"]["evidence"]["workers_naming"] == "counters without _total, latencies in milliseconds"
    assert len(checks["alerts.runbooks"]["evidence"]["workflow_types"]) == 4
    if not PROMTOOL:
        assert "apt-get install prometheus" in checks["alerts.fire"]["summary"]
        return
    fire = checks["alerts.fire"]["evidence"]
    results = {(w["scenario"], w["window"]): (w["result"], w["fired"]) for w in fire["windows"]}
    assert fire["faults"] == fire["caught"] == 5
    assert results[("worker-restart", "fault")] == ("caught", "TemporalWorkerDown, TemporalWorkerPollersZero")
    assert results[("retry-outage", "fault")] == ("caught", "TemporalActivityFailureRate")
    assert results[("retry-lost-answers", "fault")] == ("caught", "TemporalActivityFailureRate")
    assert results[("non-retryable", "fault")][0] == "caught" and "TemporalWorkflowFailureRate" in results[("non-retryable", "fault")][1]
    assert results[("longrun-heartbeat", "fault")][0] == "caught"
    assert results[("worker-restart", "baseline")] == results[("retry-outage", "baseline")] == ("silent", "none")
    assert results[("schedule-to-start", "load")][1] == "none"  # 2x peak on a well-sized app pages nobody
    assert "TemporalNonDeterminism" in fire["alerts_not_exercised"] and "extended for" in fire["assumption"]
    assert all((out / w["test_file"]).is_file() for w in fire["windows"])
    assert "**matrix**" in (out / "scorecard.md").read_text()


def test_flawed_app_is_no_go_naming_every_workflow(tmp_path):
    result = run_cli("run", "--config", "sample_workflows/flawed/local_state.yaml", "--out", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    card = json.loads((tmp_path / "scorecard.json").read_text())
    assert card["verdict"] == "NO-GO"
    checks = {c["id"]: c for c in card["checks"]}
    static, check = checks.pop("determinism.static"), checks.pop("determinism.restart_replay")
    assert {k: c["status"] for k, c in checks.items()} == {"retry.policy": "PASS", "activities.idempotent": "SKIPPED", **ALERTS_PASS}
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
        # the compose profile, with --address taking precedence over its 127.0.0.1:7233 (run from another folder: the
        # Prometheus target file is relative to the working directory, where docker-compose.yml would be)
        workdir = tmp_path / "compose-checkout"
        workdir.mkdir()
        result = run_cli(
            "run", "--config", str(REPO / "readiness.yaml"), "--scenario", "worker-restart", "--profile", "compose",
            "--address", f"127.0.0.1:{port}", "--namespace", "readiness-e2e", "--out", str(tmp_path), cwd=workdir,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        targets = workdir / "dashboards/prometheus/targets/harness-workers.json"
        assert json.loads(targets.read_text()) == []  # every worker listed during the run is gone at its end
        card = json.loads((tmp_path / "scorecard.json").read_text())
        assert card["run"]["target"] == {
            "kind": "existing", "address": f"127.0.0.1:{port}", "namespace": "readiness-e2e",
            "server_version": card["run"]["target"]["server_version"],
        }
        assert card["verdict"] == "GO" and server.poll() is None
        assert not (tmp_path / "logs" / "temporal-server.log").exists()

        wrong = run_cli(
            "run", "--scenario", "worker-restart", "--address", f"127.0.0.1:{port}", "--namespace", "no-such-ns",
            "--out", str(tmp_path / "wrong"),
        )
        assert wrong.returncode == 3 and "namespace no-such-ns" in wrong.stderr and "Traceback" not in wrong.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_worker_that_cannot_start_is_a_harness_error_exit_3(tmp_path):
    config = tmp_path / "readiness.yaml"
    text = yaml.safe_dump(relocated(REPO / "readiness.yaml"))
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
