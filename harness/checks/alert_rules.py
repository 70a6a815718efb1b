"""alerts.static and alerts.runbooks: are the team's alert rules complete, well-formed and on the right metrics,
and does every workflow type have an owner and a runbook? Pure: reads the loaded rules and the run's scrapes."""

from __future__ import annotations

from harness.alerts import catalog
from harness.alerts.observe import AlertObservations
from harness.alerts.rules import AlertRule
from harness.config.models import AlertsConfig
from harness.scorecard.model import CheckResult, Status, subjects

STATIC_ID = "alerts.static"
RUNBOOKS_ID = "alerts.runbooks"
FAILURE_MODE = "Failures nobody is alerted on"
REQUIRED = {
    "non_determinism": "non-determinism failures (workflow_task_execution_failed, failure_reason NonDeterminismError)",
    "workflow_task_schedule_to_start": "workflow-task schedule-to-start p99",
    "activity_schedule_to_start": "activity schedule-to-start p99",
    "pollers": "pollers at zero (num_pollers)",
    "task_slots": "task slots exhausted (worker_task_slots_available)",
}
RECOMMENDED = {
    "activity_failures": "activity failure rate (activity_execution_failed)",
    "resource_exhausted": "RESOURCE_EXHAUSTED request failures (request_failure)",
    "workflow_task_latency": "workflow-task execution latency p99",
}
REQUIRED_LABELS = ("severity",)
OWNER_LABELS = ("owner", "team")


def no_rules(scenario: str = "static") -> list[CheckResult]:
    """Without an `alerts` section nobody is paged: both rule checks fail and say what to add."""
    fix = ("Add `alerts: {rules: [path/to/rules.yml], workflow_types: {YourWorkflow: {owner: team, runbook: docs/runbook.md}}}` "
           "to the config; dashboards/prometheus/rules/ has a complete set for Python SDK workers.")
    return [
        CheckResult(id=check_id, scenario=scenario, failure_mode=FAILURE_MODE, status=Status.FAIL, summary=summary, remediation=fix)
        for check_id, summary in (
            (STATIC_ID, "No alert rules declared (config `alerts.rules`): a failing workflow type would page nobody."),
            (RUNBOOKS_ID, "No owners or runbooks declared (config `alerts.workflow_types`)."),
        )
    ]


def _rule_findings(alerts: tuple[AlertRule, ...]) -> list[dict]:
    rows = []
    for alert in alerts:
        missing = [label for label in REQUIRED_LABELS if not alert.labels.get(label)]
        if not any(alert.labels.get(label) for label in OWNER_LABELS):
            missing.append("owner (or team)")
        missing += [] if alert.annotations.get("runbook_url") else ["runbook_url annotation"]
        if missing:
            rows.append(_row("FAIL", alert.name, f"missing {', '.join(missing)}", "Every alert needs severity and owner labels and a runbook_url annotation."))
    return rows


def _unanalysed_findings(alerts: tuple[AlertRule, ...], problems: tuple[str, ...]) -> list[dict]:
    """Alerts promtool accepts but the built-in PromQL parser cannot read: their coverage is not judged."""
    return [
        _row("WARN", a.name, "expression not analysed (the built-in PromQL parser does not read it): its coverage is not judged", "")
        for a in alerts if a.parsed is None and not problems
    ]


def _category_findings(alerts: tuple[AlertRule, ...]) -> list[dict]:
    present = {c for a in alerts if a.parsed for c in catalog.categories(a.parsed.metrics)}
    rows = [_row("FAIL", "(missing)", f"no alert on {text}", f"Add an alert on {text}.") for c, text in REQUIRED.items() if c not in present]
    rows += [
        _row("WARN", "(missing)", f"no alert on {text}", f"Temporal recommends an alert on {text}.")
        for c, text in RECOMMENDED.items() if c not in present
    ]
    return rows


def covering_alerts(alerts: tuple[AlertRule, ...], workflow_type: str) -> list[str]:
    """Alerts on workflow failures that still tell `workflow_type` apart (filtered to it, or grouped by type)."""
    return [
        a.name for a in alerts if a.parsed and any(
            (parts := catalog.split(s.metric)) and parts[0] == "workflow_failed"
            and s.keeps("workflow_type") and s.matches("workflow_type", workflow_type)
            for s in a.parsed.selectors
        )
    ]


def _coverage_findings(alerts: tuple[AlertRule, ...], workflow_types: tuple[str, ...]) -> tuple[list[dict], list[dict]]:
    failure_alerts = [a.name for a in alerts if a.parsed and "workflow_failures" in catalog.categories(a.parsed.metrics)]
    rows, coverage = [], []
    for workflow_type in workflow_types:
        covering = covering_alerts(alerts, workflow_type)
        coverage.append({"workflow_type": workflow_type, "failure_alerts": ", ".join(covering) or "none"})
        if not covering:
            why = (f"{', '.join(failure_alerts)} aggregate(s) workflow_type away or filter it out" if failure_alerts
                   else "no alert reads workflow_failed")
            rows.append(_row("FAIL", "(coverage)", f"failures of {workflow_type} page nobody: {why}",
                             "Alert on workflow_failed grouped `by (workflow_type)`: a small type failing 10% vanishes in a total."))
    return rows, coverage


def _naming_findings(alerts: tuple[AlertRule, ...], obs: AlertObservations) -> list[dict]:
    naming = catalog.detect(obs.exported)
    if naming is None:
        return [_row("WARN", "(metrics)", "metric names not checked: no worker metrics were scraped", "Run at least one Python worker.")]
    exported = {s.name for s in obs.exported}
    rows = []
    for alert in alerts:
        for metric in sorted(alert.parsed.metrics if alert.parsed else ()):
            parts = catalog.split(metric)
            if metric in exported or not metric.startswith(catalog.PREFIX):
                continue
            if parts is None:
                rows.append(_row("WARN", alert.name, f"{metric} is not a Python SDK worker metric: not checked", ""))
            elif metric != (expected := naming.name(*parts)):
                rows.append(_row("FAIL", alert.name, f"reads {metric}, but the workers export {expected} ({naming.describe()}): it can never fire",
                                 f"Use {expected}."))
        for threshold in alert.parsed.quantile_thresholds if alert.parsed else ():
            if naming.unit == "ms" and threshold.value < 10:
                rows.append(_row("FAIL", alert.name, f"threshold {threshold.value:g} reads as seconds, but the workers export milliseconds",
                                 f"Use {threshold.value * 1000:g} (ms)."))
            elif naming.unit == "s" and threshold.value >= 100:
                rows.append(_row("FAIL", alert.name, f"threshold {threshold.value:g} reads as milliseconds, but the workers export seconds",
                                 f"Use {threshold.value / 1000:g} (s)."))
    return rows


def _row(severity: str, alert: str, problem: str, fix: str) -> dict:
    return {"severity": severity, "alert": alert, "problem": problem, "fix": fix}


def alerts_static(obs: AlertObservations) -> CheckResult:
    alerts = obs.rules.alerts
    rows = [_row("FAIL", "(rule files)", problem, "Fix the rule file: Prometheus would refuse to load it.") for problem in obs.rule_problems]
    rows += _rule_findings(alerts) + _unanalysed_findings(alerts, obs.rule_problems) + _category_findings(alerts)
    coverage_rows, coverage = _coverage_findings(alerts, obs.workflow_types)
    rows += coverage_rows + _naming_findings(alerts, obs)
    failed = [r for r in rows if r["severity"] == "FAIL"]
    warned = [r for r in rows if r["severity"] == "WARN"]
    status = Status.FAIL if failed else Status.WARN if warned else Status.PASS
    naming = catalog.detect(obs.exported)
    summary = (
        f"{len(failed)} problem(s) in {len(alerts)} alert(s): {failed[0]['alert']}: {failed[0]['problem']}" if failed
        else f"{len(alerts)} alerts: every workflow type covered by a failure alert, the recommended worker alerts present, "
             f"every alert labelled and on the metrics the workers export" + (f" ({len(warned)} warning(s))" if warned else "")
    )
    return CheckResult(
        id=STATIC_ID, scenario="static", failure_mode=FAILURE_MODE, status=status, summary=summary,
        evidence={
            "rule_files": [str(p) for p in obs.rules.files], "alerts": len(alerts),
            "workers_naming": naming.describe() if naming else "unknown (nothing scraped)",
            "syntax_checked_by": obs.promtool or "built-in PromQL parser (promtool not installed)",
            "coverage": coverage, "findings": rows,
        },
        remediation=" ".join(dict.fromkeys(r["fix"] for r in failed if r["fix"]))[:1500],
        subjects=_uncovered_types(failed, coverage),
    )


def _uncovered_types(failed: list[dict], coverage: list[dict]) -> list[str]:
    """Subjects of a FAIL that is only about workflow types no failure alert covers; none when any other problem
    failed too (a rule file or a missing alert is no workflow type's, so only a waiver of the whole check covers it)."""
    if not failed or any(r["alert"] != "(coverage)" for r in failed):
        return []
    return subjects(workflow_types=[c["workflow_type"] for c in coverage if c["failure_alerts"] == "none"])


def alerts_runbooks(config: AlertsConfig, workflow_types: tuple[str, ...], alerts: tuple[AlertRule, ...]) -> CheckResult:
    rows, missing = [], []
    for workflow_type in workflow_types:
        owned = config.workflow_types.get(workflow_type)
        rows.append({"workflow_type": workflow_type, "owner": owned.owner if owned else "MISSING", "runbook": owned.runbook if owned else "MISSING"})
        if owned is None:
            missing.append(f"{workflow_type}: no owner or runbook declared")
    unowned = [t for t in workflow_types if t not in config.workflow_types]
    broken_links = [f"alert {a.name}: runbook_url {a.annotations['runbook_url']} is not a file" for a in alerts if a.runbook_found is False]
    missing += broken_links
    status = Status.FAIL if missing else Status.PASS if workflow_types else Status.SKIPPED
    summary = (
        f"{len(missing)} gap(s): {missing[0]}" if missing
        else f"Every workflow type the run saw ({len(workflow_types)}) has an owner and a runbook" if workflow_types
        else "No workflow ran: nothing to check owners and runbooks against."
    )
    return CheckResult(
        id=RUNBOOKS_ID, scenario="static", failure_mode=FAILURE_MODE, status=status, summary=summary,
        evidence={"workflow_types": rows, "gaps": missing},
        remediation=("Declare `alerts.workflow_types.<Type>: {owner, runbook}` for every workflow type, and point every "
                     "runbook_url at a runbook that exists.") if missing else "",
        subjects=subjects(workflow_types=unowned) if missing and not broken_links else [],
    )
