"""Signals sent together, as a user runs the scenario: the well-built approval app passes every burst, the flawed one
is NO-GO only on signals.concurrent, the same flawed app passes when the messages are sent one at a time, and a
worker restart in the middle of a burst is survived by the good app and caught (by a Python invariant) in the flawed."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, relocated, write
from tests.e2e.test_cli_run import ALERTS_WITHOUT_FAULTS, processes_with_marker, run_cli

pytestmark = pytest.mark.e2e
FIXTURES = REPO / "tests" / "fixtures" / "signals"
FLAWED = REPO / "sample_workflows" / "flawed" / "approval_race.yaml"


def statuses(card: dict) -> dict[str, str]:
    return {c["id"]: c["status"] for c in card["checks"]}


def signals_check(card: dict) -> dict:
    return next(c for c in card["checks"] if c["id"] == "signals.concurrent")


def config_with_fixture_scenarios(config: Path, tmp_path: Path) -> Path:
    """The config, with its app at the repository and its scenarios from tests/fixtures/signals."""
    return write(tmp_path / "readiness.yaml", yaml.safe_dump({**relocated(config), "scenarios_dir": str(FIXTURES)}))


def run(tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    marker = uuid.uuid4().hex
    out = tmp_path / "out"
    result = run_cli("run", *args, "--out", str(out), marker=marker)
    assert processes_with_marker(marker) == []  # no worker or server left behind
    assert (out / "scorecard.json").exists(), result.stdout + result.stderr
    return result.returncode, json.loads((out / "scorecard.json").read_text()), result.stdout + result.stderr


def test_good_app_holds_every_invariant_under_concurrent_bursts(tmp_path):
    code, card, output = run(tmp_path, "--scenario", "signals-concurrent")
    assert code == 0, output
    assert statuses(card) == {"determinism.static": "PASS", "signals.concurrent": "PASS", "retry.policy": "PASS", "activities.idempotent": "SKIPPED", **ALERTS_WITHOUT_FAULTS}, output
    evidence = signals_check(card)["evidence"]
    assert evidence["delivery"] == "concurrent" and evidence["workflows"] == 36 and evidence["lost_signals"] == 0
    combinations = {}
    for row in evidence["bursts"]:
        assert row["violations"] == 0 and row["end_status"] == "COMPLETED 4"
        combinations[row["combination"]] = combinations.get(row["combination"], 0) + row["co_delivered"]
    assert set(combinations) == {"approve + cancel", "approve + approve", "cancel + approve + update:amend"}
    assert all(count >= 1 for count in combinations.values())
    amend_rows = [r for r in evidence["bursts"] if "update:amend" in r["combination"]]
    assert len(amend_rows) == 6 and sum(r["refused_messages"] for r in amend_rows) >= 1  # the validator turned them away


def test_flawed_app_is_no_go_on_the_race_with_a_sample_history(tmp_path):
    code, card, output = run(tmp_path, "--config", str(FLAWED))
    assert code == 1 and card["verdict"] == "NO-GO", output
    assert statuses(card) == {"determinism.static": "PASS", "signals.concurrent": "FAIL", "retry.policy": "PASS", "activities.idempotent": "SKIPPED", **ALERTS_WITHOUT_FAULTS}
    check = signals_check(card)
    broken = {row["invariant"]: row for row in check["evidence"]["violated_invariants"]}
    assert "decisions == 1" in broken and "approvals <= 1" in broken
    assert broken["approvals <= 1"]["sample_values"] == "approvals=2" and broken["approvals <= 1"]["co_delivered_runs"] >= 1
    for row in broken.values():
        assert (tmp_path / "out" / row["sample_history"]).is_file()
        assert row["sample_workflow_id"] in row["sample_history"]
    assert "`decisions == 1` broke in" in check["summary"] and "asyncio.Lock" in check["remediation"]
    assert check["evidence"]["lost_signals"] == 0


def test_flawed_app_passes_when_messages_arrive_one_at_a_time(tmp_path):
    """Why the race survives a sequential test: the second handler always sees the first one's decision."""
    config = config_with_fixture_scenarios(FLAWED, tmp_path)
    code, card, output = run(tmp_path, "--config", str(config), "--scenario", "signals-sequential")
    assert code == 0, output
    check = signals_check(card)
    assert check["status"] == "PASS" and check["evidence"]["delivery"] == "sequential"
    assert check["evidence"]["co_delivered"] == 0 and check["evidence"]["workflows"] == 18


@pytest.mark.parametrize(("config", "expected"), [(REPO / "readiness.yaml", "PASS"), (FLAWED, "FAIL")], ids=["good", "flawed"])
def test_worker_restart_in_the_middle_of_a_burst(tmp_path, config, expected):
    code, card, output = run(tmp_path, "--config", str(config_with_fixture_scenarios(config, tmp_path)), "--scenario", "signals-restart")
    check = signals_check(card)
    assert check["status"] == expected and code == (0 if expected == "PASS" else 1), output
    evidence = check["evidence"]
    assert evidence["kills"] and all(k["confirmed"] and k["returncode"] == -9 for k in evidence["kills"])
    assert evidence["co_delivered"] >= 1 and evidence["lost_signals"] == 0
    if expected == "FAIL":
        from_callable = [r for r in evidence["violated_invariants"] if r["invariant"] == "tests.fixtures.signals.invariants:one_decision"]
        assert from_callable and "approval" in from_callable[0]["sample_values"]
