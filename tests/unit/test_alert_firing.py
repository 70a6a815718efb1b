"""The promtool test file built from a window: observed points on a 1 s grid, then the window's trend extended."""

from __future__ import annotations

from pathlib import Path

from harness.alerts import firing, rules
from tests.unit import alert_windows as w

RULES = rules.load([Path(__file__).parents[2] / "dashboards/prometheus/rules/temporal-worker-alerts.yml"])


def _series(plan: firing.SeriesPlan) -> dict[str, str]:
    return {s["series"]: s["values"] for s in plan.document["tests"][0]["input_series"]}


def test_counters_extend_at_the_observed_rate_and_gauges_hold():
    plan = firing.test_document(w.outage(), RULES, "temporal-workers")
    series = _series(plan)
    failed = next(v for k, v in series.items() if k.startswith("temporal_activity_execution_failed{"))
    pollers = next(v for k, v in series.items() if k.startswith("temporal_num_pollers{"))
    # first scrape had no failed counter yet: it counts from 0, then 3 per second observed, then 3 per second assumed
    assert failed.startswith("0 3 6 9 12 15 18 21 24 27 30 33+3x")
    assert pollers.startswith("2 2 2") and pollers.endswith(f"2+0x{plan.extension_s - 1}")
    assert 'job="temporal-workers"' in next(iter(series)) and 'instance="127.0.0.1:9001"' in next(iter(series))


def test_only_metrics_the_rules_read_are_written_plus_up():
    names = {k.split("{")[0] for k in _series(firing.test_document(w.outage(), RULES, "j"))}
    assert names == {"up", "temporal_num_pollers", "temporal_activity_execution_latency_count", "temporal_activity_execution_failed",
                     "temporal_workflow_completed"}


def test_a_killed_worker_goes_stale_and_stays_down():
    series = _series(firing.test_document(w.kill(), RULES, "j"))
    up = next(v for k, v in series.items() if k.startswith("up{"))
    pollers = next(v for k, v in series.items() if k.startswith("temporal_num_pollers{"))
    assert up.startswith("1 0 0 0+0x") and pollers == "2 stale stale"


def test_the_extension_covers_the_longest_for_plus_range_and_alerts_are_evaluated_through_it():
    plan = firing.test_document(w.outage(), RULES, "j")
    slowest = max(a.for_s + a.parsed.longest_range_s for a in RULES.alerts)
    assert plan.extension_s == slowest + 2 * firing.EVALUATION_INTERVAL_S
    tests = plan.document["tests"][0]["alert_rule_test"]
    assert {t["alertname"] for t in tests} == {a.name for a in RULES.alerts}
    assert all(t["exp_alerts"] == [] for t in tests) and plan.eval_time_s == 10 + plan.extension_s
    times = sorted({int(t["eval_time"].removesuffix("s")) for t in tests})
    assert times[0] == 10 and times[-1] == plan.eval_time_s and all(b - a <= firing.CHECK_EVERY_S for a, b in zip(times, times[1:], strict=False))


def test_label_values_are_escaped():
    assert firing._selector("m", {"a": 'say "hi"\\'}) == 'm{a="say \\"hi\\"\\\\"}'
