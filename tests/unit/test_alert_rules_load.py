"""Loading the team's rule files: what a config names must exist (exit 2); what is wrong inside a file is a finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.alerts import rules
from harness.errors import ConfigError
from harness.planning import load_plan
from tests.conftest import REPO, write

SHIPPED = REPO / "dashboards/prometheus/rules/temporal-worker-alerts.yml"
APP = """
app: {name: shop, path: .}
task_queue: q
workers:
  - name: w
    python: {workflows: ["shop.wf:Flow"]}
workload: {workflow: Flow}
scenarios_dir: scenarios
scenarios: [restart]
"""


def _config(tmp_path: Path, alerts: str) -> Path:
    write(tmp_path / "scenarios/restart.yaml", "name: restart\nkind: worker_restart\n")
    return write(tmp_path / "readiness.yaml", APP + alerts)


def test_the_shipped_rules_load_with_every_field():
    loaded = rules.load([SHIPPED], runbook_bases=(REPO,))
    assert len(loaded.alerts) == 11 and loaded.problems == ()
    pollers = loaded.by_name("TemporalWorkerPollersZero")
    assert pollers.for_s == 60 and pollers.labels["severity"] == "critical" and pollers.runbook_found is True
    assert pollers.parsed.metrics == {"temporal_num_pollers"}


def test_problems_inside_a_file_are_collected_not_raised(tmp_path):
    broken = write(tmp_path / "broken.yml", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(rate(x[5m]) >\n"
                   "      - alert: B\n        expr: up == 0\n        for: 5 minutes\n      - alert: C\n      - record: r\n        expr: up\n")
    not_yaml = write(tmp_path / "not-yaml.yml", "groups: [\n")
    loaded = rules.load([broken, not_yaml])
    assert [a.name for a in loaded.alerts] == ["A"] and loaded.alerts[0].parsed is None
    text = "\n".join(loaded.problems)
    assert "rule 'A': expr does not parse: unclosed left parenthesis" in text
    assert "rule 'B': for: not a Prometheus duration: '5 minutes'" in text
    assert "needs `alert` and `expr`" in text and f"{not_yaml}:2:1: invalid YAML" in text


def test_runbook_paths_are_looked_up_and_urls_are_not(tmp_path):
    path = write(tmp_path / "r.yml", "groups:\n  - name: g\n    rules:\n"
                 "      - {alert: A, expr: up == 0, annotations: {runbook_url: docs/missing.md}}\n"
                 "      - {alert: B, expr: up == 0, annotations: {runbook_url: 'https://wiki.example/b'}}\n"
                 "      - {alert: C, expr: up == 0, annotations: {runbook_url: r.yml}}\n")
    found = {a.name: a.runbook_found for a in rules.load([path]).alerts}
    assert found == {"A": False, "B": None, "C": True}


@pytest.mark.parametrize("text, seconds", [("0", 0), ("90s", 90), ("1h30m", 5400), ("500ms", 0.5)])
def test_durations(text, seconds):
    assert rules.duration_s(text) == seconds


def test_a_missing_rule_file_is_a_config_error_with_its_key_path(tmp_path):
    config = _config(tmp_path, "alerts: {rules: [ok.yml, missing.yml]}\n")
    write(tmp_path / "ok.yml", "groups: []\n")
    with pytest.raises(ConfigError) as caught:
        load_plan(config)
    assert caught.value.exit_code == 2 and caught.value.key_path == "alerts.rules[1]" and "missing.yml" in str(caught.value)


def test_a_missing_runbook_file_is_a_config_error_and_a_url_is_accepted(tmp_path):
    write(tmp_path / "ok.yml", "groups: []\n")
    config = _config(tmp_path, "alerts:\n  rules: [ok.yml]\n  workflow_types:\n    Flow: {owner: team, runbook: docs/flow.md}\n")
    with pytest.raises(ConfigError) as caught:
        load_plan(config)
    assert caught.value.key_path == "alerts.workflow_types.Flow.runbook" and "does not exist" in str(caught.value)
    config = _config(tmp_path, "alerts:\n  rules: [ok.yml]\n  workflow_types:\n    Flow: {owner: team, runbook: 'https://wiki/flow'}\n")
    assert load_plan(config).alert_rules.alerts == ()


def test_an_empty_owner_or_rule_list_is_refused(tmp_path):
    for alerts, key in (("alerts: {rules: []}\n", "alerts.rules"),
                        ("alerts: {rules: [a.yml], workflow_types: {Flow: {owner: '', runbook: x}}}\n", "alerts.workflow_types.Flow.owner")):
        with pytest.raises(ConfigError) as caught:
            load_plan(_config(tmp_path, alerts))
        assert caught.value.key_path == key


def test_recording_rules_feed_the_alerts_that_read_them(tmp_path):
    path = write(tmp_path / "r.yml", "groups:\n  - name: g\n    rules:\n"
                 "      - {record: 'wt:failed:rate5m', expr: 'sum by (workflow_type) (rate(temporal_workflow_failed[5m]))'}\n"
                 "      - {alert: F, expr: 'wt:failed:rate5m > 0', for: 1m}\n")
    alert = rules.load([path]).alerts[0]
    assert alert.parsed.metrics == {"temporal_workflow_failed"} and alert.parsed.longest_range_s == 300


def test_odd_values_in_a_rule_file_are_findings_not_crashes(tmp_path):
    path = write(tmp_path / "r.yml", "groups:\n  - name: g\n    rules:\n      - just a string\n"
                 "      - {alert: A, expr: up == 0, labels: [severity]}\n"
                 f"      - {{alert: B, expr: up == 0, labels: {{severity: }}, annotations: {{runbook_url: {'x' * 300}.md}}}}\n")
    loaded = rules.load([path])
    assert "rule 1: expected a mapping" in loaded.problems[0] and "`labels` and `annotations` must be mappings" in loaded.problems[1]
    b = loaded.by_name("B")
    assert b.labels == {"severity": ""} and b.runbook_found is False
    binary = write(tmp_path / "bin.yml", "")
    binary.write_bytes(b"\xff\xfe groups")
    with pytest.raises(ConfigError, match="cannot read the rule file"):
        rules.load([binary])
