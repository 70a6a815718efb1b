"""Chart geometry (scales, ticks, paths), each chart built from evidence, and the chart series the checks add."""

from __future__ import annotations

import dataclasses
import json

import pytest

from harness.checks.latency import over_the_load
from harness.checks.retry import backlog_series, retry_outage
from harness.config.scenarios import OutageThresholds
from harness.load.shape import Stage
from harness.observe.activities import TaskLatency
from harness.observe.model import BacklogSample
from harness.scenarios.retry_outage import RetryOutageScenario
from harness.scorecard import charts
from harness.scorecard.geometry import Panel, Scale, duration_unit, format_number, line_path, nice_step, nice_ticks
from harness.scorecard.model import Scorecard, WorkflowTypeStats
from tests.conftest import REPO
from tests.unit.load_observations import FAULT_END, FAULT_START, GOOD, LOAD_START, latency_run, load_summary, outage

GOOD_APP = REPO / "tests" / "fixtures" / "scorecards" / "good-app.json"


def good_app() -> Scorecard:
    return Scorecard.model_validate_json(GOOD_APP.read_text())


def x_of(panel: Panel, value: float) -> float:
    """Pixel of `value` on the panel's x axis, read back from its first and last tick labels."""
    first, last = panel.x_axis.ticks[0], panel.x_axis.ticks[-1]
    low, high = float(first.label.replace(",", "")), float(last.label.replace(",", ""))
    return first.at + (value - low) / (high - low) * (last.at - first.at)


def inside(panel: Panel, x: float, y: float) -> bool:
    box = panel.box
    return box.left - 0.01 <= x <= box.right + 0.01 and box.top - 0.01 <= y <= box.bottom + 0.01


# --- geometry ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 6.2, [0, 1, 2, 3, 4, 5, 6, 7]), (0, 12.4, [0, 2, 4, 6, 8, 10, 12, 14]), (0, 54, [0, 10, 20, 30, 40, 50, 60]),
        (0, 0.37, [0, 0.1, 0.2, 0.3, 0.4]), (3, 3, [3, 3.2, 3.4, 3.6, 3.8, 4]),
    ],
)
def test_nice_ticks_cover_the_range_in_round_steps(low, high, expected):
    ticks = nice_ticks(low, high)
    assert ticks == pytest.approx(expected)
    assert ticks[0] <= low and ticks[-1] >= high


def test_nice_step_is_one_two_or_five_times_a_power_of_ten():
    for span in (0.003, 0.7, 1, 13, 99, 1234, 86400 * 35):
        step = nice_step(span, 5)
        mantissa = step / 10 ** int(f"{step:e}".split("e")[1])
        assert round(mantissa, 6) in (1, 2, 5) and 2.5 <= span / step <= 10


def test_scale_maps_domain_ends_onto_range_ends_and_flips_for_y():
    sx, sy = Scale(0, 60, 64, 736), Scale(0, 8, 250, 60)
    assert (sx(0), sx(60), sx(30)) == (64, 736, 400)
    assert (sy(0), sy(8)) == (250, 60) and sy(4) == 155


def test_line_path_breaks_at_missing_points():
    assert line_path([(1, 2), (3, 4), None, (5, 6.5)]) == "M1,2 L3,4 M5,6.5"
    assert line_path([None]) == ""


def test_duration_units_and_number_labels():
    assert [duration_unit(v).name for v in (0.05, 32.4, 600, 20000, 3024000)] == ["ms", "s", "min", "h", "days"]
    assert format_number(0.30000000000000004, 0.1) == "0.3" and format_number(1200) == "1,200" and format_number(6.2) == "6.2"


# --- charts from evidence ---------------------------------------------------------------------------------------

WINDOWS = [
    {"from_s": 0, "to_s": 5, "stage": 1, "load": "3/s", "workflow_tasks": 40, "workflow_p50_ms": 10, "workflow_p95_ms": 20, "workflow_p99_ms": 30,
     "activity_tasks": 15, "activity_p50_ms": 1, "activity_p95_ms": 2, "activity_p99_ms": 3},
    {"from_s": 5, "to_s": 10, "stage": 2, "load": "6/s", "workflow_tasks": 80, "workflow_p50_ms": 12, "workflow_p95_ms": 40, "workflow_p99_ms": 90,
     "activity_tasks": 0, "activity_p50_ms": None, "activity_p95_ms": None, "activity_p99_ms": None},
    {"from_s": 10, "to_s": 15, "stage": 2, "load": "6/s", "workflow_tasks": 80, "workflow_p50_ms": 14, "workflow_p95_ms": 60, "workflow_p99_ms": 120,
     "activity_tasks": 30, "activity_p50_ms": 2, "activity_p95_ms": 5, "activity_p99_ms": 8},
    {"from_s": 15, "to_s": 19, "stage": "drain", "load": "none", "workflow_tasks": 5, "workflow_p50_ms": 3, "workflow_p95_ms": 4, "workflow_p99_ms": 5,
     "activity_tasks": 1, "activity_p50_ms": 1, "activity_p95_ms": 1, "activity_p99_ms": 1},
]
LIMITS = [{"task": "workflow", "limit_p99_ms": 150.0}, {"task": "activity", "limit_p99_ms": 1000.0}]


def test_schedule_to_start_chart_has_a_panel_per_task_kind_with_points_in_range_and_stages_shaded():
    chart = charts.schedule_to_start_chart({"schedule_to_start": LIMITS, "schedule_to_start_over_the_load": WINDOWS})
    workflow, activity = chart.panels
    assert [line.name for line in workflow.lines] == ["p50", "p95", "p99"]
    assert all(inside(p, pt.x, pt.y) for p in chart.panels for line in p.lines for pt in line.points)
    assert len(workflow.lines[2].points) == 4 and len(activity.lines[2].points) == 3  # the window without activity tasks is a gap
    assert "M" in activity.lines[2].path[1:]  # ... drawn as a broken line, not a zero
    assert [b.label for b in workflow.bands] == ["stage 1: 3/s", "stage 2: 6/s", "drain"]
    stage2 = workflow.bands[1]
    assert stage2.x == pytest.approx(x_of(workflow, 5), abs=0.05) and stage2.x + stage2.width == pytest.approx(x_of(workflow, 15), abs=0.05)
    assert [r.label for r in workflow.rules] == ["p99 limit 150 ms"] and activity.rules == ()  # 1000 ms is far off the activity scale
    assert float(workflow.y_axis.ticks[-1].label) >= 150 and chart.caption.startswith("Look for")


def test_attempts_chart_shades_the_fault_interval_from_the_evidence():
    result = retry_outage(outage(GOOD), RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None)
    chart = charts.attempts_chart(result.evidence)
    [panel] = chart.panels
    [band] = panel.bands
    assert band.x == pytest.approx(x_of(panel, FAULT_START - LOAD_START), abs=0.05)
    assert band.x + band.width == pytest.approx(x_of(panel, FAULT_END - LOAD_START), abs=0.05)
    assert len(panel.bars) == len(result.evidence["attempts_per_second"])
    assert all(inside(panel, b.x, b.y) and inside(panel, b.x + b.width, b.y + b.height) for b in panel.bars)
    tallest = max(panel.bars, key=lambda b: b.height)
    assert f"{max(r['attempts'] for r in result.evidence['attempts_per_second'])} attempts" in tallest.title
    assert panel.rules[0].label.startswith("before the fault: 2")


def test_attempts_chart_of_an_old_scorecard_says_the_interval_is_not_recorded():
    evidence = next(c.evidence for c in good_app().checks if c.id == "retry.outage")
    chart = charts.attempts_chart(evidence)
    assert chart.panels[0].bands == () and "not recorded" in chart.caption and "6.2/s" in chart.caption


def test_backlog_chart_marks_the_drain_after_the_restore():
    evidence = {"backlog": [{"t": t, "workflow": 0, "activity": 2 * t if t < 20 else 0} for t in range(0, 40, 2)],
                "fault_from_s": 5.0, "fault_to_s": 15.0, "drain_after_restore_s": 12.5}
    chart = charts.backlog_chart(evidence)
    [panel] = chart.panels
    [rule] = panel.rules
    assert rule.x1 == rule.x2 == pytest.approx(x_of(panel, 27.5), abs=0.05) and "12.5 s after restore" in rule.label
    assert [line.name for line in panel.lines] == ["workflow task backlog", "activity task backlog"]
    assert all(inside(panel, pt.x, pt.y) for line in panel.lines for pt in line.points)
    assert panel.bands[0].x == pytest.approx(x_of(panel, 5), abs=0.05)


def stats(name: str, p50: float | None, p99: float | None, clock: str = "wall") -> WorkflowTypeStats:
    return WorkflowTypeStats(workflow_type=name, workflows=10, completed=10, failed=0, still_open=0, failure_rate=0.0,
                             latency_p50_s=p50, latency_p95_s=p99, latency_p99_s=p99, clock=clock)


def test_latency_chart_puts_workflow_time_types_on_their_own_scale():
    chart = charts.latency_chart([stats("Order", 6.4, 32.5), stats("Approval", 0.6, 0.9), stats("Empty", None, None),
                                  stats("Subscription", 35 * 86400, 35 * 86400, "workflow time (time-skipping server)")])
    wall, skipped = chart.panels
    assert [label.text for label in wall.labels] == ["Order", "Approval"] and [label.text for label in skipped.labels] == ["Subscription"]
    assert wall.x_axis.label.endswith("(s)") and "days of workflow time" in skipped.x_axis.label
    order_p50, _, order_p99 = wall.bars[:3]
    assert order_p99.width > order_p50.width and order_p99.x + order_p99.width <= wall.box.right + 0.01
    assert order_p99.width == pytest.approx(x_of(wall, 32.5) - wall.box.left, abs=0.05)
    assert charts.latency_chart([stats("Empty", None, None)]) is None


def test_alert_matrix_is_a_grid_of_faults_by_alerts_with_baseline_firing_marked_noisy():
    evidence = {
        "matrix": [{"fault": "a: steady (baseline)", "X": "FIRES", "Y": "·"}, {"fault": "a: down", "X": "·", "Y": "FIRES"}],
        "windows": [{"result": "NOISY"}, {"result": "caught"}],
    }
    matrix = charts.alert_matrix(evidence)
    assert [c.css for c in matrix.cells] == ["noisy", "quiet", "quiet", "fires"]
    assert [label.text for label in matrix.column_labels] == ["X", "Y"] and [r.text for r in matrix.results] == ["NOISY", "caught"]
    assert matrix.result_css == ("bad", "ok")
    assert all(c.x + c.size <= matrix.width and c.y + c.size <= matrix.height for c in matrix.cells)


def test_every_chart_is_omitted_when_its_data_is_absent():
    card = good_app()
    bare = card.model_copy(update={"checks": [c.model_copy(update={"evidence": {}}) for c in card.checks], "workflow_types": []})
    assert charts.charts_for(bare) == []
    assert charts.schedule_to_start_chart({"schedule_to_start_over_the_load": [{"from_s": "x"}]}) is None
    assert charts.attempts_chart({"attempts_per_second": []}) is None and charts.alert_matrix({"matrix": "?"}) is None


def test_the_good_app_scorecard_has_the_charts_its_evidence_supports():
    assert [c.id for c in charts.charts_for(good_app())] == ["chart-attempts", "chart-latency", "chart-alert-matrix"]


def test_a_real_run_with_the_chart_series_draws_every_chart():
    card = Scorecard.model_validate_json((GOOD_APP.parent / "load-scenarios.json").read_text())
    built = {c.id: c for c in charts.charts_for(card)}
    assert list(built) == ["chart-schedule-to-start", "chart-attempts", "chart-backlog", "chart-latency", "chart-alert-matrix"]
    outage = next(c.evidence for c in card.checks if c.id == "retry.outage")
    [band] = built["chart-attempts"].panels[0].bands
    assert band.x == pytest.approx(x_of(built["chart-attempts"].panels[0], outage["fault_from_s"]), abs=0.05)
    backlog = built["chart-backlog"].panels[0]
    assert all(float(t.label) == int(float(t.label)) for t in backlog.y_axis.ticks)  # task counts get whole ticks
    assert float(backlog.x_axis.ticks[0].label) == 0  # samples before the first start are left out


# --- the series the checks add for the charts -------------------------------------------------------------------


def test_outage_evidence_carries_the_fault_interval_and_the_backlog_series():
    backlog = tuple(BacklogSample(LOAD_START + t, 0, 3 if 10 <= t < 30 else 0) for t in range(-2, 50))
    evidence = retry_outage(outage(GOOD, backlog=backlog), RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None).evidence
    assert (evidence["fault_from_s"], evidence["fault_to_s"]) == (FAULT_START - LOAD_START, FAULT_END - LOAD_START)
    assert evidence["backlog"][0] == {"t": -2.0, "workflow": 0, "activity": 0} and len(evidence["backlog"]) == 52
    json.dumps(evidence)  # stays JSON for the scorecard
    assert "backlog" not in retry_outage(outage(GOOD), RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None).evidence


def test_backlog_series_merges_long_series_keeping_the_peak():
    samples = [BacklogSample(100.0 + i, 0, 50 if i == 137 else 1) for i in range(500)]
    rows = backlog_series(samples, 100.0, limit=120)
    assert len(rows) <= 120 and max(r.activity for r in rows) == 50 and rows[0].t == 0.0


def test_schedule_to_start_windows_follow_the_stages_and_keep_the_drain_apart():
    obs = latency_run(activity_wait_s=0.5, workflows=100)
    starts = [dataclasses.replace(w, started_at=LOAD_START + i * 0.1) for i, w in enumerate(obs.workflows)]
    late = TaskLatency("workflow", LOAD_START + 31.0, 0.25)
    obs = dataclasses.replace(
        obs, workflows=tuple(starts), latencies=obs.latencies + (late,),
        load=load_summary(6.0, 100, stages=(Stage(duration_s=5, rate=3.0), Stage(duration_s=20, rate=6.0))),
    )
    rows = over_the_load(obs)
    assert [(r["from_s"], r["to_s"], r["stage"], r["load"]) for r in rows] == [
        (0.0, 5.0, 1, "3/s"), (5.0, 10.0, 2, "6/s"), (10.0, 15.0, 2, "6/s"), (15.0, 20.0, 2, "6/s"), (20.0, 25.0, 2, "6/s"),
        (25.0, 31.0, "drain", "none"),
    ]
    # Workflows start every 0.1 s for 10 s: 50 in each of the first two windows, 3 workflow tasks each.
    assert rows[0]["workflow_tasks"] == 150 and rows[1]["workflow_tasks"] == 150 and rows[2]["workflow_tasks"] == 0
    assert rows[2]["workflow_p99_ms"] is None and rows[-1]["workflow_tasks"] == 1 and rows[-1]["workflow_p99_ms"] == 250.0
    assert rows[1]["activity_p99_ms"] > rows[0]["activity_p99_ms"]  # the simulated wait grows with each workflow
    no_stages = dataclasses.replace(obs, load=load_summary(6.0, 100))
    assert over_the_load(no_stages) == [] and over_the_load(dataclasses.replace(obs, workflows=tuple(
        dataclasses.replace(w, started_at=None) for w in obs.workflows))) == []


def test_long_loads_get_wider_windows():
    obs = latency_run(activity_wait_s=0.0, workflows=10)
    obs = dataclasses.replace(
        obs, workflows=tuple(dataclasses.replace(w, started_at=LOAD_START) for w in obs.workflows),
        load=load_summary(6.0, 10, stages=(Stage(duration_s=600, rate=6.0),)),
    )
    rows = over_the_load(obs)
    assert len(rows) == 24 and rows[0]["to_s"] == 25.0

