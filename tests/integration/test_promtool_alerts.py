"""Real promtool over the shipped rules: each fault's series make its alert fire, the steady state stays silent,
and a threshold that is too high stays silent under the outage (the planted flaw of one sample variant)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.alerts import firing, promtool, rules
from harness.alerts.observe import observe
from tests.conftest import REPO, write
from tests.unit import alert_windows as w

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(promtool.find() is None, reason=f"promtool not installed ({promtool.INSTALL_HINT})"),
]
SHIPPED = rules.load([REPO / "dashboards/prometheus/rules/temporal-worker-alerts.yml"], runbook_bases=(REPO,))
QUIET = rules.load([REPO / "sample_workflows/flawed/alerts/quiet-threshold.rules.yml"])


def fired(window, ruleset, tmp_path: Path) -> dict[str, list[dict[str, str]]]:
    path = tmp_path / f"{window.scenario}-{window.phase}.test.yml"
    path.write_text(yaml.safe_dump(firing.test_document(window, ruleset, "temporal-workers").document, sort_keys=False))
    outcome = promtool.test_rules(promtool.find(), path)
    assert outcome.error is None, outcome.error
    return outcome.firing


def test_killed_workers_fire_the_pollers_and_worker_down_alerts(tmp_path):
    alerts = fired(w.kill(), SHIPPED, tmp_path)
    assert set(alerts) == {"TemporalWorkerPollersZero", "TemporalWorkerDown"}
    assert alerts["TemporalWorkerDown"][0]["instance"] == "127.0.0.1:9001" and alerts["TemporalWorkerDown"][0]["severity"] == "warning"


def test_an_outage_fires_the_activity_failure_alert_per_activity_type(tmp_path):
    alerts = fired(w.outage(), SHIPPED, tmp_path)
    assert set(alerts) == {"TemporalActivityFailureRate"}
    assert alerts["TemporalActivityFailureRate"][0]["activity_type"] == "charge_payment"


def test_a_business_error_fires_the_per_type_failure_alert(tmp_path):
    alerts = fired(w.business_error(), SHIPPED, tmp_path)
    assert alerts["TemporalWorkflowFailureRate"][0]["workflow_type"] == "OrderWorkflow"


def test_the_steady_state_is_silent(tmp_path):
    assert fired(w.steady(), SHIPPED, tmp_path) == {}


def test_a_threshold_too_high_for_the_outage_stays_silent(tmp_path):
    assert "TemporalActivityFailureRate" not in fired(w.outage(), QUIET, tmp_path)


def test_check_rules_reports_a_broken_expression(tmp_path):
    path = write(tmp_path / "bad.yml", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(rate(x[5m]) >\n")
    problems = promtool.check_rules(promtool.find(), [path])
    assert len(problems) == 1 and "unclosed left parenthesis" in problems[0]
    assert promtool.check_rules(promtool.find(), [REPO / "dashboards/prometheus/rules/temporal-worker-alerts.yml"]) == []


async def test_observe_writes_one_rerunnable_test_file_per_window(tmp_path):
    obs = await observe(SHIPPED, "temporal-workers", [w.steady(), w.outage(), w.kill()], (), ("OrderWorkflow",), tmp_path)
    assert [(o.phase, sorted(o.firing)) for o in obs.windows] == [
        ("baseline", []), ("fault", ["TemporalActivityFailureRate"]), ("fault", ["TemporalWorkerDown", "TemporalWorkerPollersZero"]),
    ]
    assert obs.windows[2].workers_down == 1 and obs.promtool.startswith("promtool")
    assert all((tmp_path / o.test_file).is_file() for o in obs.windows)
    assert obs.rule_problems == ()
