"""longrun-heartbeat as a user runs it: workers are SIGKILLed mid-export. The heartbeating export is noticed within
its heartbeat timeout and completes; the silent variant is still unnoticed at detection_timeout (NO-GO)."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.e2e.test_cli_run import ALERTS_PASS, processes_with_marker, run_cli

pytestmark = pytest.mark.e2e


def heartbeat_check(card: dict) -> dict:
    return next(c for c in card["checks"] if c["id"] == "longrun.heartbeat")


def test_heartbeating_export_is_noticed_within_its_heartbeat_timeout(tmp_path):
    marker = uuid.uuid4().hex
    result = run_cli("run", "--scenario", "longrun-heartbeat", "--out", str(tmp_path), marker=marker)
    assert result.returncode == 0, result.stdout + result.stderr
    card = json.loads((tmp_path / "scorecard.json").read_text())
    assert {c["id"]: c["status"] for c in card["checks"]} == {"determinism.static": "PASS", "longrun.heartbeat": "PASS", "retry.policy": "PASS", "activities.idempotent": "SKIPPED", **ALERTS_PASS}
    evidence = heartbeat_check(card)["evidence"]
    assert evidence["kill_confirmed"] and evidence["workers_killed"] == 2
    assert evidence["long_in_flight_at_kill"] == 2 and evidence["workflows_completed"] == 2
    for row in evidence["in_flight"]:
        assert row["activity_type"] == "export_orders" and row["heartbeat_timeout"] == "5s" and row["start_to_close"] == "600s"
        assert row["heartbeats"] and row["heartbeat_calls_before_kill"] >= 1
        # The earlier of the two measurements counts: history (the retry's start minus its backoff, which also holds
        # the restarted workers' start-up) or polling (the retry's scheduling minus its backoff).
        assert row["detected"] and row["detected_by"] == "heartbeat timeout"
        assert row["source"].startswith(("history: attempt 2 started", "polling: the retry's scheduled_time"))
        assert 0 <= row["detection_s"] <= row["limit_s"] == 10.0  # heartbeat timeout + margin
        assert row["polled_detection_s"] is not None and row["detection_s"] <= row["polled_detection_s"]
        assert (tmp_path / row["history"]).exists()
    [cadence] = evidence["heartbeat_cadence"]
    assert cadence["status"] == "PASS" and cadence["heartbeat_calls"] > 10 and 1.0 <= cadence["max_interval_s"] < 5
    assert list((tmp_path / "faults").glob("heartbeats-*.jsonl"))
    assert processes_with_marker(marker) == []


def test_silent_export_is_no_go_unnoticed_until_start_to_close(tmp_path):
    marker = uuid.uuid4().hex
    result = run_cli("run", "--config", "sample_workflows/flawed/silent_export.yaml", "--out", str(tmp_path), marker=marker)
    assert result.returncode == 1, result.stdout + result.stderr
    card = json.loads((tmp_path / "scorecard.json").read_text())
    assert {c["id"]: c["status"] for c in card["checks"]} == {"determinism.static": "PASS", "longrun.heartbeat": "FAIL", "retry.policy": "FAIL", "activities.idempotent": "SKIPPED", **ALERTS_PASS}
    check = heartbeat_check(card)
    assert "not detected within detection_timeout" in check["summary"] and "start-to-close 600s" in check["summary"]
    assert "does not heartbeat" in check["summary"] and "heartbeat_timeout" in check["remediation"]
    rows = check["evidence"]["in_flight"]
    assert len(rows) == 2 and all(not r["detected"] and not r["heartbeats"] and r["heartbeat_timeout"] == "none" for r in rows)
    assert check["evidence"]["heartbeat_cadence"] == []
    steps = json.loads((tmp_path / "journal.json").read_text())["steps"]
    assert next(s for s in steps if s["name"] == "wait for workflows to close")["detail"]["open"] == 2  # terminated, not left retrying
    assert processes_with_marker(marker) == []
