"""latency.schedule_to_start, history parsing of activities and task latencies, percentiles and SDK histograms."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from harness.checks.latency import schedule_to_start
from harness.config.scenarios import LatencyThresholds
from harness.observe import activities, histograms
from harness.observe.figures import peak_rate, percentile, rate, summary_ms
from harness.observe.model import MetricSample
from harness.scenarios.schedule_to_start import ScheduleToStartScenario
from tests.conftest import REPO
from tests.unit.load_observations import latency_run, load_summary

RETRIED = REPO / "tests" / "fixtures" / "outage" / "charge-retried.json"


def test_prompt_tasks_pass_with_exact_percentiles():
    result = schedule_to_start(latency_run(activity_wait_s=0.1), ScheduleToStartScenario.model_construct(thresholds=LatencyThresholds()), None)
    rows = {r["task"]: r for r in result.evidence["schedule_to_start"]}
    assert result.status.value == "PASS"
    assert rows["workflow"]["count"] == 300 and rows["workflow"]["p99_ms"] == 5.0
    assert rows["activity"]["count"] == 100 and rows["activity"]["p99_ms"] == 98.0


def test_starved_activities_fail_with_a_sizing_recommendation():
    result = schedule_to_start(latency_run(activity_wait_s=8.0), ScheduleToStartScenario.model_construct(thresholds=LatencyThresholds()), None)
    activity = next(r for r in result.evidence["schedule_to_start"] if r["task"] == "activity")
    assert result.status.value == "FAIL" and "activity tasks waited" in result.summary
    # 6 starts/s x 1 activity each x 0.2 s held x 1.5 headroom = 1.8 -> 2 slots needed; the worker offers 1.
    assert activity["slots_needed"] == 2 and activity["slots_offered"] == 1
    assert "set max_concurrent_activities to 2 per worker" in result.remediation


def test_no_tasks_is_no_data_and_unreached_rate_is_no_data():
    empty = latency_run(0.0, latencies=())
    assert schedule_to_start(empty, ScheduleToStartScenario.model_construct(thresholds=LatencyThresholds()), None).status.value == "NO_DATA"
    slow_load = latency_run(0.0, load=load_summary(6.0, 100, achieved_rate=2.0))
    result = schedule_to_start(slow_load, ScheduleToStartScenario.model_construct(thresholds=LatencyThresholds()), None)
    assert result.status.value == "NO_DATA" and "--locust-workers" in result.remediation


def histogram_samples(name: str, bounds: list[float], before: list[float], after: list[float]) -> tuple[MetricSample, ...]:
    samples = []
    for phase, counts in (("before", before), ("after", after)):
        for bound, count in zip(bounds, counts, strict=True):
            le = "+Inf" if math.isinf(bound) else f"{bound:g}"
            samples.append(MetricSample("w", phase, f"{name}_bucket", (("le", le), ("task_queue", "q")), count))
    return tuple(samples)


def test_sdk_histogram_in_ms_is_detected_and_cross_checked():
    bounds = [50, 100, 500, 1000, 10000, math.inf]
    samples = histogram_samples("temporal_activity_schedule_to_start_latency", bounds, [5] * 6, [5, 90, 104, 105, 105, 105])
    view = histograms.delta(samples, "temporal_activity_schedule_to_start_latency", "before", "after")
    assert view.unit == "ms" and view.count == 100
    assert histograms.quantile_bounds(view, 0.99) == (0.1, 0.5)
    result = schedule_to_start(latency_run(0.2, metrics=latency_run(0.2).metrics + samples), ScheduleToStartScenario.model_construct(thresholds=LatencyThresholds()), None)
    activity = next(r for r in result.evidence["schedule_to_start"] if r["task"] == "activity")
    assert activity["sdk_unit"] == "ms" and activity["sdk_p99_between_ms"] == [100.0, 500.0] and activity["agrees_with_history"]


def test_sdk_histogram_in_seconds_with_suffix_and_disagreement_is_reported():
    bounds = [0.01, 0.05, 0.1, math.inf]
    samples = histogram_samples("temporal_activity_schedule_to_start_latency_seconds", bounds, [0] * 4, [100, 100, 100, 100])
    view = histograms.delta(samples, "temporal_activity_schedule_to_start_latency", "before", "after")
    assert view.unit == "s" and view.name.endswith("_seconds")
    result = schedule_to_start(latency_run(2.0, metrics=latency_run(2.0).metrics + samples), ScheduleToStartScenario.model_construct(thresholds=LatencyThresholds(activity_task_p99=10)), None)
    assert "disagree" in result.evidence["metrics_disagree"]


def test_counter_naming_detection():
    plain = (MetricSample("w", "after", "temporal_workflow_completed", (), 1.0),)
    total = (MetricSample("w", "after", "temporal_workflow_completed_total", (), 1.0),)
    assert histograms.counter_naming(plain) == "no _total suffix"
    assert histograms.counter_naming(total) == "_total suffix"
    assert histograms.counter_naming(()).startswith("unknown")


def test_percentiles_are_nearest_rank_values_that_occurred():
    values = [i / 100 for i in range(1, 101)]
    assert percentile(values, 99) == 0.99 and percentile(values, 50) == 0.5 and percentile([], 99) is None
    assert summary_ms([0.001, 0.002]) == {"count": 2, "p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 2.0, "max_ms": 2.0}


def test_rates_and_peak_window():
    times = [0.5 * i for i in range(20)] + [10 + 0.1 * i for i in range(50)]
    assert rate(times, 0, 10) == 2.0
    peak, at = peak_rate(times, 0, 15, 5)
    assert peak == pytest.approx(10.0) and at == pytest.approx(10.0)


def test_activities_and_attempts_from_a_real_outage_history():
    history = WorkflowHistory.from_json("wf", Path(RETRIED).read_text(encoding="utf-8"))
    found = {a.activity_type: a for a in activities.activities(history)}
    charge = found["charge_payment"]
    assert charge.attempts == 4 and charge.outcome == "completed" and charge.schedule_to_close_s == 300.0
    assert charge.policy.initial_interval_s == 2.0 and charge.policy.backoff_coefficient == 3.0 and charge.policy.maximum_attempts == 8
    assert charge.schedule_to_start_s is None  # only exact for a first attempt
    # reserve_inventory had no bound of its own: the server filled in the workflow's 600 s timeout.
    assert found["reserve_inventory"].schedule_to_close_s == 0.0 and found["reserve_inventory"].schedule_to_start_s is not None
    offsets = [round(t - charge.scheduled_at, 1) for t in activities.attempt_times(charge)]
    assert offsets[0] == 0.0 and len(offsets) == 4
    assert [round(b - a, 1) for a, b in zip(offsets[1:], offsets[2:], strict=False)] == [6.0, 18.0]  # the policy's 2s x3 intervals
    kinds = {t.kind for t in activities.task_latencies(history)}
    assert kinds == {"workflow", "workflow_execution", "activity"}


def test_interval_after_respects_the_maximum():
    policy = activities.RetryPolicyView(1.0, 2.0, 5.0, 0, ())
    assert [policy.interval_after(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert dataclasses.replace(policy, maximum_interval_s=0).interval_after(5) == 16.0
