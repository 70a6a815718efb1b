"""alerts.static, alerts.fire and alerts.runbooks on hand-built observations."""

from __future__ import annotations

from harness.alerts import rules
from harness.alerts.observe import AlertObservations, WindowOutcome
from harness.checks import alert_firing, alert_rules
from harness.config.models import AlertsConfig
from harness.observe import metrics
from harness.scorecard.model import Status
from tests.conftest import REPO, write

SHIPPED = rules.load([REPO / "dashboards/prometheus/rules/temporal-worker-alerts.yml"], runbook_bases=(REPO,))
SECONDS = rules.load([REPO / "dashboards/prometheus/rules/temporal-worker-alerts.seconds.yml"], runbook_bases=(REPO,))
MISSING_TYPE = rules.load([REPO / "sample_workflows/flawed/alerts/missing-type-failure.rules.yml"])
DEFAULT_SCRAPE = metrics.parse((REPO / "tests/fixtures/metrics/python-sdk-default.prom").read_text(), worker="w", phase="p")
SECONDS_SCRAPE = metrics.parse((REPO / "tests/fixtures/metrics/python-sdk-seconds-total.prom").read_text(), worker="w", phase="p")
TYPES = ("OrderWorkflow", "ApprovalWorkflow")


def observations(ruleset=SHIPPED, exported=DEFAULT_SCRAPE, windows=(), problems=(), promtool="promtool, version 2.42.0"):
    return AlertObservations(ruleset, "temporal-workers", promtool, tuple(problems), exported, TYPES, tuple(windows))


def window(phase, firing=(), expects=(), scenario="retry-outage", error=None):
    return WindowOutcome(scenario, phase, f"{scenario} {phase}", tuple(expects), 10.0, 11, 0,
                         {name: [{"alertname": name}] for name in firing}, f"alerts/{scenario}-{phase}.test.yml", 630, error)


def test_the_shipped_rules_pass_on_the_naming_they_are_written_for():
    default = alert_rules.alerts_static(observations())
    seconds = alert_rules.alerts_static(observations(SECONDS, SECONDS_SCRAPE))
    assert default.status == Status.PASS, default.evidence["findings"]
    assert seconds.status == Status.PASS, seconds.evidence["findings"]
    assert default.evidence["workers_naming"] == "counters without _total, latencies in milliseconds"
    assert default.evidence["coverage"] == [{"workflow_type": t, "failure_alerts": "TemporalWorkflowFailureRate"} for t in TYPES]


def test_alerts_written_for_the_other_naming_can_never_fire():
    check = alert_rules.alerts_static(observations(SECONDS, DEFAULT_SCRAPE))
    problems = [f["problem"] for f in check.evidence["findings"] if f["severity"] == "FAIL"]
    assert check.status == Status.FAIL
    assert any("reads temporal_workflow_failed_total, but the workers export temporal_workflow_failed" in p for p in problems)
    assert any("threshold 1 reads as seconds, but the workers export milliseconds" in p for p in problems)
    reverse = alert_rules.alerts_static(observations(SHIPPED, SECONDS_SCRAPE))
    assert any("threshold 1000 reads as milliseconds" in f["problem"] for f in reverse.evidence["findings"])


def test_a_failure_alert_summed_over_every_type_covers_none():
    check = alert_rules.alerts_static(observations(MISSING_TYPE))
    assert check.status == Status.FAIL
    assert check.evidence["coverage"] == [{"workflow_type": t, "failure_alerts": "none"} for t in TYPES]
    assert "failures of OrderWorkflow page nobody: TemporalWorkflowFailureRate aggregate(s) workflow_type away" in check.summary


def test_a_type_filtered_out_by_the_matcher_is_not_covered(tmp_path):
    path = write(tmp_path / "r.yml", """groups:
  - name: g
    rules:
      - alert: OrderFailures
        expr: sum by (workflow_type) (rate(temporal_workflow_failed{workflow_type="OrderWorkflow"}[5m])) > 0
        labels: {severity: critical, team: orders}
        annotations: {runbook_url: r.yml}
""")
    check = alert_rules.alerts_static(observations(rules.load([path])))
    coverage = {row["workflow_type"]: row["failure_alerts"] for row in check.evidence["coverage"]}
    assert coverage == {"OrderWorkflow": "OrderFailures", "ApprovalWorkflow": "none"}
    missing = {f["problem"] for f in check.evidence["findings"] if f["alert"] == "(missing)"}
    assert "no alert on pollers at zero (num_pollers)" in missing and "no alert on task slots exhausted (worker_task_slots_available)" in missing
    assert {f["severity"] for f in check.evidence["findings"] if "activity failure rate" in f["problem"]} == {"WARN"}


def test_unlabelled_alerts_and_broken_files_fail(tmp_path):
    path = write(tmp_path / "r.yml", "groups:\n  - name: g\n    rules:\n      - {alert: Bare, expr: up == 0}\n")
    check = alert_rules.alerts_static(observations(rules.load([path]), problems=["r.yml: group 'g': bad"]))
    rows = {(f["alert"], f["problem"]) for f in check.evidence["findings"]}
    assert ("Bare", "missing severity, owner (or team), runbook_url annotation") in rows and ("(rule files)", "r.yml: group 'g': bad") in rows


def test_without_a_scrape_the_names_are_not_checked_and_that_is_said():
    check = alert_rules.alerts_static(observations(SECONDS, exported=()))
    assert check.status == Status.WARN and "metric names not checked" in check.summary + str(check.evidence["findings"])


def test_fire_passes_when_every_fault_is_caught_and_baselines_are_silent():
    check = alert_firing.alerts_fire(observations(windows=[
        window("baseline"), window("fault", ["TemporalActivityFailureRate"], ["activity_failures"]),
        window("fault", ["TemporalWorkerDown"], ["pollers", "worker_down"], scenario="worker-restart"),
        window("load", ["TemporalActivityScheduleToStartHigh"], scenario="schedule-to-start"),
    ]))
    assert check.status == Status.PASS and check.evidence["caught"] == 2
    matrix = {row["fault"]: row for row in check.evidence["matrix"]}
    assert matrix["retry-outage: retry-outage fault"]["TemporalActivityFailureRate"] == "FIRES"
    assert matrix["retry-outage: retry-outage fault"]["TemporalWorkerDown"] == "·"
    assert "TemporalNonDeterminism" in check.evidence["alerts_not_exercised"]
    assert "TemporalActivityFailureRate" not in check.evidence["alerts_not_exercised"]
    assert "extended for 630 s" in check.evidence["assumption"]


def test_an_uncaught_fault_or_a_noisy_baseline_fails():
    wrong_alert = alert_firing.alerts_fire(observations(windows=[window("fault", ["TemporalWorkerDown"], ["activity_failures"])]))
    assert wrong_alert.status == Status.FAIL and "no activity-failure alert fired" in wrong_alert.summary
    assert wrong_alert.evidence["windows"][0]["result"] == "NOT CAUGHT"
    noisy = alert_firing.alerts_fire(observations(windows=[
        window("baseline", ["TemporalWorkflowFailureRate"]), window("fault", ["TemporalActivityFailureRate"], ["activity_failures"]),
    ]))
    assert noisy.status == Status.FAIL and "TemporalWorkflowFailureRate fired in the steady state" in noisy.summary


def test_fire_without_promtool_is_skipped_never_passed():
    check = alert_firing.alerts_fire(observations(promtool=None, windows=[window("fault", ["X"], ["activity_failures"])]))
    assert check.status == Status.SKIPPED and "apt-get install prometheus" in check.summary


def test_fire_without_faults_or_with_broken_rules_or_promtool_errors():
    assert alert_firing.alerts_fire(observations(windows=[window("load")])).status == Status.SKIPPED
    assert alert_firing.alerts_fire(observations(problems=["bad"], windows=[window("fault")])).status == Status.NO_DATA
    errored = alert_firing.alerts_fire(observations(windows=[window("fault", expects=["activity_failures"], error="boom")]))
    assert errored.status == Status.ERROR and "boom" in errored.summary


def test_runbooks_need_an_owner_for_every_type_seen_and_existing_runbook_files(tmp_path):
    config = AlertsConfig(rules=["x.yml"], workflow_types={"OrderWorkflow": {"owner": "orders", "runbook": "docs/o.md"}})
    check = alert_rules.alerts_runbooks(config, TYPES, SHIPPED.alerts)
    assert check.status == Status.FAIL and check.summary.startswith("1 gap(s): ApprovalWorkflow: no owner or runbook declared")
    path = write(tmp_path / "r.yml", "groups:\n  - name: g\n    rules:\n      - {alert: A, expr: up == 0, annotations: {runbook_url: gone.md}}\n")
    dangling = alert_rules.alerts_runbooks(config, ("OrderWorkflow",), rules.load([path]).alerts)
    assert dangling.status == Status.FAIL and "alert A: runbook_url gone.md is not a file" in dangling.evidence["gaps"]
    assert alert_rules.alerts_runbooks(config, ("OrderWorkflow",), SHIPPED.alerts).status == Status.PASS
    assert alert_rules.alerts_runbooks(config, (), SHIPPED.alerts).status == Status.SKIPPED


def test_no_alerts_section_fails_both_rule_checks():
    results = alert_rules.no_rules()
    assert [(r.id, r.status) for r in results] == [("alerts.static", Status.FAIL), ("alerts.runbooks", Status.FAIL)]
    assert "page nobody" in results[0].summary and "dashboards/prometheus/rules/" in results[0].remediation

