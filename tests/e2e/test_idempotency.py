"""The side-effect ledger on real runs: both double-charge twins of the order app are NO-GO on activities.idempotent,
with the duplicate requests named, after a worker kill mid-charge and after answers lost once the charge was made."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from tests.conftest import REPO
from tests.e2e.test_cli_run import processes_with_marker, run_cli

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(("twin", "problem"), [("fresh_key", "key_changed"), ("no_key", "duplicated_without_key")])
def test_a_charge_retried_with_a_fresh_key_or_none_is_no_go_naming_both_requests(tmp_path, twin: str, problem: str):
    marker = uuid.uuid4().hex
    config = REPO / f"sample_workflows/flawed/idempotency_{twin}.yaml"
    result = run_cli("run", "--config", str(config), "--out", str(tmp_path), marker=marker)
    assert result.returncode == 1, result.stdout + result.stderr
    assert processes_with_marker(marker) == []
    card = json.loads((tmp_path / "scorecard.json").read_text())
    assert card["verdict"] == "NO-GO" and card["verdict_reason"] == "failed: activities.idempotent"
    check = next(c for c in card["checks"] if c["id"] == "activities.idempotent")
    assert check["status"] == "FAIL" and check["subjects"] == ["activity_type:charge_payment"]
    assert "charge_payment in " in check["summary"] and re.search(r"sent POST /charges [2-9] times", check["summary"])
    duplicates = check["evidence"]["duplicates"]
    assert {d["problem"] for d in duplicates} == {problem}
    assert {d["requests"][0]["scenario"] for d in duplicates} == {"worker-restart", "retry-lost-answers"}
    for duplicate in duplicates:
        attempts = [r["attempt"] for r in duplicate["requests"]]
        assert attempts == sorted(attempts) and len(set(attempts)) == len(attempts) >= 2
        assert duplicate["workflow_status"] == "COMPLETED" and duplicate["history_attempts"] >= attempts[-1]
        # each attempt reached the service; the last one's answer got back (a lost one shows no status when the
        # connection was reset before the service answered)
        assert duplicate["requests"][-1]["status"] == 201
        assert all(r["status"] == 201 or r["answer_delivered"] is False for r in duplicate["requests"])
        keys = [r["idempotency_key"] for r in duplicate["requests"]]
        assert (len(set(keys)) == len(keys) and None not in keys) if twin == "fresh_key" else keys == [None] * len(keys)
    lost = [d for d in duplicates if d["requests"][0]["scenario"] == "retry-lost-answers"]
    assert all(d["requests"][0]["answer_delivered"] is False for d in lost)  # charged, and the answer never got back
    assert "activity_id" in check["remediation"]
    ledger = (tmp_path / "ledger" / "payments.jsonl").read_text().splitlines()
    assert len(ledger) == check["evidence"]["dependencies"]["payments"]["requests"]
    others = {c["id"]: c["status"] for c in card["checks"] if c["id"] != "activities.idempotent"}
    assert set(others.values()) <= {"PASS", "SKIPPED"}, others  # every other check stays green: that is the danger
