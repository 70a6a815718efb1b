"""longrun-time-skip as a user runs it: a month of subscriptions with worker restarts on the time-skipping test server.
The well-built app is GO; the variant whose signal handler reads process memory is NO-GO on exactly longrun.time_skip."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.e2e.test_cli_run import ALERTS_WITHOUT_FAULTS, processes_with_marker, run_cli

pytestmark = pytest.mark.e2e


def time_skip_check(out: Path) -> tuple[dict, dict]:
    card = json.loads((out / "scorecard.json").read_text())
    statuses = {c["id"]: c["status"] for c in card["checks"]}
    return statuses, next(c for c in card["checks"] if c["id"] == "longrun.time_skip")


def test_a_month_of_subscriptions_survives_two_restarts_in_under_a_minute(tmp_path):
    marker = uuid.uuid4().hex
    result = run_cli("run", "--scenario", "longrun-time-skip", "--out", str(tmp_path), marker=marker)
    assert result.returncode == 0, result.stdout + result.stderr
    statuses, check = time_skip_check(tmp_path)
    assert statuses == {"determinism.static": "PASS", "longrun.time_skip": "PASS", "retry.policy": "PASS", "activities.idempotent": "SKIPPED", **ALERTS_WITHOUT_FAULTS}, check["summary"]
    evidence = check["evidence"]
    assert evidence["workflow_days"] >= 30 and evidence["wall_seconds"] < 60  # the issue: 30 days in under a minute
    assert evidence["restarts"] == 2 and evidence["workers_killed"] == 4 and evidence["open_at_restart"] == 3
    assert evidence["resumed_by_restarted_workers"] == 3 and evidence["reached_expected_status"] == 3
    assert evidence["histories_replayed"] == 3 and evidence["replay_failures"] == 0
    assert [t["step"] for t in evidence["timeline"]] == [
        "skip 10d", "restart workers", "skip 10d", "signal upgrade", "restart workers", "run to the end"
    ]
    assert [t["workflow_day"] for t in evidence["timeline"]][:4] == [10.0, 10.0, 20.0, 20.0]
    assert len(list((tmp_path / "histories").glob("subscription-*-longrun-time-skip-*.json"))) == 3
    assert (tmp_path / "logs" / "longrun-time-skip-test-server.log").exists()
    assert "survived 2 restart(s)" in check["summary"]
    assert processes_with_marker(marker) == []


def test_signal_handler_reading_process_memory_is_no_go_on_nondeterminism(tmp_path):
    marker = uuid.uuid4().hex
    result = run_cli("run", "--config", "sample_workflows/flawed/restart_signal.yaml", "--out", str(tmp_path), marker=marker)
    assert result.returncode == 1, result.stdout + result.stderr
    statuses, check = time_skip_check(tmp_path)
    assert statuses == {"determinism.static": "PASS", "longrun.time_skip": "FAIL", "retry.policy": "PASS", "activities.idempotent": "SKIPPED", **ALERTS_WITHOUT_FAULTS}, check["summary"]
    assert "Nondeterminism error" in check["summary"] and "process memory" in check["remediation"]
    problems = check["evidence"]["problems"]
    assert problems and all(p["history"].startswith("histories/") for p in problems)
    named = [p for p in problems if p.get("replay_error") == "nondeterminism" or "NON_DETERMINISTIC" in p.get("task_failure", "")]
    assert named and any("quote_price" in (p.get("message", "") + p.get("task_failure", "")) for p in named)
    for row in named:  # explained: the recorded activity, the one the code issued after the restart, and the guard
        assert row["recorded"].startswith("ScheduleActivityTask ") and row["new_code_issued"].startswith("ScheduleActivityTask ")
        assert "workflow.patched(" in row["guard"]
    assert check["evidence"]["restarts"] == 2 and check["evidence"]["workers_killed"] == 2
    assert processes_with_marker(marker) == []
