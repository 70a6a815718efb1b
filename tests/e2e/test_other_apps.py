"""Apps we did not shape the checks on (tests/fixtures/apps/), run through the CLI as their team would.

The tutorial-shaped greeting app runs no dependency and no outage, yet its unlimited default retry policy is a
retry.policy FAIL read from history, and its millisecond workflows still get a restart-replay verdict. The billing app's card charge is a local activity, whose policy no history
records: the FAIL comes from the code, with file and line, and names the local activity. The support app's task queue
carries two workflow types, loaded by share, and only the one on the default policy fails."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import REPO
from tests.e2e.test_cli_run import processes_with_marker, run_cli

pytestmark = pytest.mark.e2e
APPS = REPO / "tests/fixtures/apps"


def run_app(config: str, out) -> dict:
    marker = uuid.uuid4().hex
    result = run_cli("run", "--config", str(APPS / config), "--out", str(out), marker=marker)
    assert result.returncode == 1, result.stdout + result.stderr
    assert processes_with_marker(marker) == []
    return json.loads((out / "scorecard.json").read_text())


def check(card: dict, check_id: str) -> dict:
    return next(c for c in card["checks"] if c["id"] == check_id)


def test_the_tutorial_apps_default_retry_policy_fails_from_history_without_any_outage(tmp_path):
    card = run_app("greeting.yaml", tmp_path)
    assert [s["name"] for s in card["scenarios"]] == ["worker-restart"] and card["verdict"] == "NO-GO"
    policy = check(card, "retry.policy")
    assert policy["status"] == "FAIL" and policy["subjects"] == ["activity_type:compose_greeting"]
    assert "activity compose_greeting: unlimited attempts and no schedule-to-close timeout" in policy["summary"]
    [row] = [r for r in policy["evidence"]["policies"] if r["kind"] == "activity"]
    assert row["source"] == "history" and row["seen"] >= 6 and row["max_attempts"] == "unlimited"
    assert policy["evidence"]["disagreements"] == []  # the code writes no policy, and history shows the default
    # millisecond workflows: most runs see all six closed before the kill; those that did close are replayed live
    restart, evidence = check(card, "determinism.restart_replay"), check(card, "determinism.restart_replay")["evidence"]
    assert restart["status"] == "PASS" and evidence["running_at_kill"] + evidence.get("replayed_on_restarted_workers", 0) == 6
    if evidence["running_at_kill"] == 0:
        assert "Not exercised: a workflow resuming mid-flight" in restart["summary"]


def test_millisecond_workflows_that_replay_differently_fail_restart_replay(tmp_path):
    card = run_app("greeting_replay_flawed.yaml", tmp_path)
    restart = check(card, "determinism.restart_replay")
    assert restart["status"] == "FAIL" and restart["subjects"] == ["workflow_type:GreetingWorkflow"]
    evidence = restart["evidence"]
    assert evidence["replay_failures"] == 6 and len(evidence["problems"]) == 6
    live = evidence.get("live_replay_errors", [])  # the workflows closed before the kill, replayed by the restarted worker
    assert len(live) == 6 - evidence["running_at_kill"] and all("TMPRL1100" in e["error"] for e in live)


def test_a_child_workflow_that_breaks_on_replay_fails_restart_replay_from_its_own_history(tmp_path):
    card = run_app("fulfilment_child_replay_flawed.yaml", tmp_path)
    restart = check(card, "determinism.restart_replay")
    evidence = restart["evidence"]
    assert restart["status"] == "FAIL" and restart["subjects"] == ["workflow_type:FulfilmentWorkflow"], restart["summary"]
    assert evidence["running_at_kill"] == 6 and evidence["completed"] == 6  # every parent survived the kill itself
    assert evidence["histories_collected"] == 12 and evidence["replay_failures"] == 6
    parents = {p["workflow_id"] for p in evidence["problems"]}  # the started workflows, each named once
    assert len(parents) == 6 and not any(w.endswith("-pack") for w in parents)
    for problem in evidence["problems"]:
        assert problem["message"].startswith(f"child workflow {problem['workflow_id']}-pack (PackWorkflow): [TMPRL1100]")


def test_signals_spread_over_continued_runs_are_delivered_not_lost(tmp_path):
    card = run_app("tally.yaml", tmp_path)
    signals = check(card, "signals.concurrent")
    assert signals["status"] == "PASS" and signals["evidence"]["lost_signals"] == 0, signals["summary"]
    assert {c["id"]: c["status"] for c in card["checks"] if c["status"] == "FAIL"} == {"alerts.static": "FAIL", "alerts.runbooks": "FAIL"}
    continued = [w for w in (tmp_path / "histories").iterdir() if "-run-" in w.name]  # each workflow's first run
    assert len(continued) == 3


def test_the_billing_apps_local_activity_on_the_default_policy_fails_from_the_code(tmp_path):
    card = run_app("billing.yaml", tmp_path)
    policy = check(card, "retry.policy")
    assert policy["status"] == "FAIL" and policy["subjects"] == ["activity_type:charge_card"]
    assert "local activity charge_card (billing/workflows.py:15): unlimited attempts" in policy["summary"]
    [row] = [r for r in policy["evidence"]["policies"] if r["kind"] == "local_activity"]
    assert row["source"] == "code" and row["retry_policy"] == "default" and row["seen"] > 0
    assert "business errors (CardDeclined)" in row["problems"]  # its code raises CardDeclined
    assert row["highest_attempt_seen"] > 1  # the outage made the local activity retry inside the worker
    assert "retry.policy" in (tmp_path / "scorecard.md").read_text()
    outage = check(card, "retry.outage")  # the local activity's storm, in real attempt counts
    assert outage["status"] == "FAIL" and outage["subjects"] == ["activity_type:charge_card"]
    assert outage["evidence"]["activities_hit"] > 10 and outage["evidence"]["storm_factor"] > 4
    evidence = outage["evidence"]  # counted where the attempts ran, and the local activities' markers agree
    assert "charge_card: counted every second where they ran" in evidence["attempt_times"]
    assert abs(evidence["attempts_counted_by_workers"] - evidence["attempts_in_history"]) <= 0.1 * evidence["attempts_in_history"]


def test_a_task_queue_with_two_workflow_types_loads_both_by_share_and_judges_each(tmp_path):
    card = run_app("support.yaml", tmp_path)
    policy = check(card, "retry.policy")  # only the survey's activity runs on the default policy
    assert policy["status"] == "FAIL" and policy["subjects"] == ["activity_type:send_survey"]
    rows = {r["name"]: r for r in policy["evidence"]["policies"]}
    assert rows["classify_ticket"]["problems"] == "ok" and rows["send_survey"]["max_attempts"] == "unlimited"
    latency = check(card, "latency.schedule_to_start")
    assert latency["status"] == "PASS" and latency["evidence"]["start_failures"] == 0
    # the load starts each type under its own id prefix, three tickets per survey; the restart only surveys
    names = [p.name for p in (tmp_path / "histories").glob("*.json")]
    loaded = [n for n in names if "-mixed-load-" in n]
    tickets, surveys = sum(n.startswith("ticket-") for n in loaded), sum(n.startswith("survey-") for n in loaded)
    assert tickets + surveys == len(loaded) == latency["evidence"]["workflows_started"]
    assert 2 * surveys <= tickets <= 4 * surveys
    restarted = [n for n in names if "-survey-restart-" in n]
    assert len(restarted) == 4 and all(n.startswith("survey-") for n in restarted)
    assert check(card, "determinism.restart_replay")["status"] == "PASS"
    types = {t["workflow_type"]: t for t in card["workflow_types"]}
    assert types["TicketWorkflow"]["workflows"] == tickets and types["SurveyWorkflow"]["workflows"] == surveys + 4
    assert all(t["failed"] == 0 for t in types.values())
