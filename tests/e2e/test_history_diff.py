"""History and diff as a user meets them: the good app's outage run (GO), then the default-retry variant of the same
app under the same scenario (NO-GO). The second scorecard says what regressed since the last GO, and `readiness diff`
names the payment activity's retry policy change."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import OUTAGE_HISTORY
from tests.e2e.test_cli_run import run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(OUTAGE_HISTORY)]


@pytest.fixture
def runs(outage_history):
    return outage_history


def test_each_run_carries_its_effective_definitions(runs):
    good = {a["activity_type"]: a["variants"] for a in runs.good_card["definitions"]["activity_types"]}
    flawed = {a["activity_type"]: a["variants"] for a in runs.flawed_card["definitions"]["activity_types"]}
    assert set(good) == set(flawed) == {"reserve_inventory", "charge_payment", "ship_order"}
    assert [v["retry_policy"]["maximum_attempts"] for v in good["charge_payment"]] == [8]
    assert [v["retry_policy"]["maximum_attempts"] for v in flawed["charge_payment"]] == [0]
    assert flawed["charge_payment"][0]["retry_policy"]["non_retryable_error_types"] == []
    order = next(w for w in runs.good_card["definitions"]["workflow_types"] if w["workflow_type"] == "OrderWorkflow")
    assert order["queries"] == ["status"] and order["queries_known"] and order["sdks"] == [f"temporal-python {runs.good_card['run']['sdk_version']}"]


def test_the_second_run_says_what_regressed_since_the_last_go(runs):
    assert runs.good_card["verdict"] == "GO" and runs.good_card["since_last_go"] is None
    since = runs.flawed_card["since_last_go"]
    assert since["run_id"] == runs.good_card["run"]["id"] and since["git_commit"] == runs.good_card["run"]["app_git_commit"]
    regressed = {(c["check"], c["old"], c["new"]) for c in since["regressed"]}
    assert {("retry.outage", "PASS", "FAIL"), ("retry.policy", "PASS", "FAIL")} <= regressed
    assert "charge_payment: maximum attempts changed from 8 to unlimited" in since["definition_changes"]
    markdown = (runs.flawed / "scorecard.md").read_text()
    assert "## Since the last GO" in markdown and "| `retry.policy` | (all histories) | PASS | FAIL |" in markdown


def test_history_lists_both_runs(runs):
    result = run_cli("history", "--history-db", str(runs.db), "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [(r["id"], r["verdict"]) for r in listed] == [
        (runs.flawed_card["run"]["id"], "NO-GO"), (runs.good_card["run"]["id"], "GO"),
    ]
    assert listed[0]["failed"] >= 2 and listed[1]["failed"] == 0 and listed[1]["report_dir"] == str(runs.good)


def test_diff_names_the_retry_policy_change(runs):
    good_id, flawed_id = runs.good_card["run"]["id"], runs.flawed_card["run"]["id"]
    result = run_cli("diff", good_id[:5], flawed_id, "--history-db", str(runs.db), "--format", "json")
    assert result.returncode == 0, result.stderr
    diff = json.loads(result.stdout)
    assert (diff["old"]["verdict"], diff["new"]["verdict"], diff["verdict_changed"]) == ("GO", "NO-GO", True)
    assert {"retry.outage", "retry.policy"} <= {c["check"] for c in diff["regressed"]}
    sentences = [c["sentence"] for c in diff["definitions"]]
    for expected in (
        "charge_payment: maximum attempts changed from 8 to unlimited",
        "charge_payment: initial retry interval changed from 2s to 1s",
        "charge_payment: backoff coefficient changed from 3 to 2",
        "charge_payment: schedule-to-close timeout changed from 5m to none",
        "charge_payment: non-retryable error types removed: InvalidOrder, PaymentDeclined",
        "OrderWorkflow: queries removed: status",
    ):
        assert expected in sentences, sentences
    assert any(f["name"] == "storm_factor" for f in diff["figures"])

    terminal = run_cli("diff", str(runs.good / "scorecard.json"), str(runs.flawed), "--history-db", str(runs.db))
    assert terminal.returncode == 0 and "charge_payment: maximum attempts changed from 8 to unlimited" in terminal.stdout
    report = runs.flawed / "diff.md"
    assert run_cli("diff", good_id, flawed_id, "--history-db", str(runs.db), "--out", str(report)).returncode == 0
    assert "- charge_payment: maximum attempts changed from 8 to unlimited" in report.read_text()
