"""The three flawed alert setups of the sample app, each NO-GO on its planted problem (the good app's fault x alert
matrix is asserted in test_cli_run.test_good_app_is_go)."""

from __future__ import annotations

import json
import uuid

import pytest

from harness.alerts import promtool
from tests.conftest import REPO
from tests.e2e.test_cli_run import processes_with_marker, run_cli

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(promtool.find() is None, reason=f"alerts.fire needs promtool ({promtool.INSTALL_HINT})"),
]
FLAWED = REPO / "sample_workflows" / "flawed"


def run(config: str, tmp_path) -> tuple[dict[str, str], dict[str, dict], dict]:
    marker = uuid.uuid4().hex
    result = run_cli("run", "--config", str(FLAWED / config), "--out", str(tmp_path), marker=marker)
    assert processes_with_marker(marker) == []
    assert result.returncode == 1, result.stdout + result.stderr
    card = json.loads((tmp_path / "scorecard.json").read_text())
    assert card["verdict"] == "NO-GO"
    return {c["id"]: c["status"] for c in card["checks"]}, {c["id"]: c for c in card["checks"]}, card


def test_a_failure_alert_summed_over_every_type_is_no_go_on_the_lint(tmp_path):
    statuses, checks, _ = run("alerts_missing_type.yaml", tmp_path)
    assert statuses == {"determinism.static": "PASS", "retry.non_retryable": "PASS", "retry.policy": "PASS", "activities.idempotent": "SKIPPED", "alerts.static": "FAIL", "alerts.fire": "PASS",
                        "alerts.runbooks": "PASS"}
    static = checks["alerts.static"]
    assert static["evidence"]["coverage"] == [{"workflow_type": "OrderWorkflow", "failure_alerts": "none"}]
    assert "failures of OrderWorkflow page nobody" in static["summary"] and "by (workflow_type)" in static["remediation"]


def test_rules_for_the_other_metric_naming_are_no_go_and_never_fire(tmp_path):
    statuses, checks, _ = run("alerts_wrong_metric.yaml", tmp_path)
    assert statuses == {"determinism.static": "PASS", "retry.non_retryable": "PASS", "retry.policy": "PASS", "activities.idempotent": "SKIPPED", "alerts.static": "FAIL", "alerts.fire": "FAIL",
                        "alerts.runbooks": "PASS"}
    problems = [f["problem"] for f in checks["alerts.static"]["evidence"]["findings"]]
    assert any("reads temporal_workflow_failed_total, but the workers export temporal_workflow_failed" in p for p in problems)
    assert any("reads as seconds, but the workers export milliseconds" in p for p in problems)
    fault = next(w for w in checks["alerts.fire"]["evidence"]["windows"] if w["window"] == "fault")
    # the failure counters are read under names nobody exports, and the 1 s latency thresholds meet millisecond values:
    # the latency alerts fire on every healthy task while the failure goes unseen
    assert fault["result"] == "NOT CAUGHT" and "TemporalWorkflowFailureRate" not in fault["fired"]
    assert "TemporalWorkflowTaskScheduleToStartHigh" in fault["fired"]


def test_a_threshold_the_outage_never_reaches_is_no_go_on_firing_only(tmp_path):
    statuses, checks, card = run("alerts_quiet_threshold.yaml", tmp_path)
    assert statuses == {"determinism.static": "PASS", "retry.outage": "PASS", "retry.policy": "PASS", "activities.idempotent": "SKIPPED", "alerts.static": "PASS",
                        "alerts.fire": "FAIL", "alerts.runbooks": "PASS"}
    fire = checks["alerts.fire"]
    rows = {w["window"]: w for w in fire["evidence"]["windows"]}
    assert rows["fault"]["result"] == "NOT CAUGHT" and rows["fault"]["what happened"] == "payments: network down"
    assert rows["baseline"]["result"] == "silent"
    assert "retry-outage (payments: network down): no activity-failure alert fired" in fire["summary"]
    assert "TemporalActivityFailureRate" in fire["evidence"]["alerts_not_exercised"]
    assert (tmp_path / rows["fault"]["test_file"]).is_file() and "promtool test rules" in fire["remediation"]
    assert card["verdict_reason"] == "failed: alerts.fire"
