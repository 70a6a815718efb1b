"""The watch checks (watch.failure_rate, watch.latency, watch.stuck) and the statistics under them, on hand-built
observations; the `watch` thresholds in the config."""

from __future__ import annotations

import dataclasses

import pytest
from temporalio.api.enums.v1 import EventType, TimeoutType, WorkflowTaskFailedCause
from temporalio.client import WorkflowHistory

from harness.checks.watch import failure_rate, latency, stuck
from harness.config.loader import validate
from harness.config.models import ReadinessConfig, WatchThresholds
from harness.errors import ConfigError
from harness.observe.model import WorkflowRecord
from harness.scorecard.model import Status
from harness.watch.model import StuckWorkflow, VisibleRun, WatchObservations
from harness.watch.stats import choose_sample, duration_text, failing_task, scorecard_types, type_counts
from harness.watcher import WatchPlan, judge, policy_audit
from tests.fixtures.heartbeat.histories import export_history
from tests.unit.test_observe import event, started

E = EventType
NOW = 10_000.0
LOOSE = WatchThresholds(max_failure_rate=0.5, min_runs=2)


def run(i: int, status: str = "COMPLETED", workflow_type: str = "OrderWorkflow", seconds: float = 2.0) -> VisibleRun:
    start = NOW - 600 + i
    return VisibleRun(f"{workflow_type}-{i}", f"run-{i}", workflow_type, status, start, None if status == "RUNNING" else start + seconds)


def window(*runs: VisibleRun, limit: int = 1000, matching: int | None = None, **fields) -> WatchObservations:
    return WatchObservations(
        address="127.0.0.1:7233", namespace="orders", window_start=NOW - 3600, window_end=NOW, query="StartTime > 'x'",
        limit=limit, matching=len(runs) if matching is None else matching, runs=tuple(runs), sample_per_type=50, **fields,
    )


def orders(completed: int, failed: int = 0, timed_out: int = 0, seconds: float = 2.0) -> list[VisibleRun]:
    statuses = ["COMPLETED"] * completed + ["FAILED"] * failed + ["TIMED_OUT"] * timed_out
    return [run(i, status, seconds=seconds) for i, status in enumerate(statuses)]


# statistics


def test_counts_split_every_ending_and_time_only_completed_runs():
    runs = [*orders(3, failed=1, timed_out=1, seconds=4.0), run(10, "TERMINATED"), run(11, "CANCELED"), run(12, "RUNNING"),
            run(13, "CONTINUED_AS_NEW"), run(0, "COMPLETED", seconds=4.0)]  # the last one repeats run 0: counted once
    [c] = type_counts(runs)
    assert (c.started, c.completed, c.continued_as_new, c.failed, c.timed_out, c.terminated, c.canceled, c.open) == (9, 3, 1, 1, 1, 1, 1, 1)
    assert c.closed == 8 and c.not_completed == 4 and c.failure_rate == 0.5
    assert c.latencies_s == (4.0, 4.0, 4.0) and c.latency(99) == 4.0


def test_exact_counts_replace_the_listed_counts_but_not_the_latencies():
    [c] = type_counts(orders(2, seconds=3.0), {"OrderWorkflow": {"COMPLETED": 90, "FAILED": 10, "RUNNING": 5}})
    assert (c.started, c.completed, c.failed, c.open, c.failure_rate) == (105, 90, 10, 5, 0.1)
    assert c.latencies_s == (3.0, 3.0)


def test_sample_takes_stuck_failed_open_and_completed_runs_in_turn():
    runs = [*orders(5, failed=3), run(20, "RUNNING"), run(21, "RUNNING")]
    chosen = choose_sample(runs, {("OrderWorkflow-21", "run-21")}, 5)
    assert [r.status for r in chosen] == ["RUNNING", "FAILED", "RUNNING", "COMPLETED", "FAILED"]
    assert chosen[0].workflow_id == "OrderWorkflow-21" and len(choose_sample(runs, set(), 0)) == 0
    assert len(choose_sample(runs, set(), 100)) == len(runs)


def test_duration_text():
    assert [duration_text(s) for s in (3600, 1799.9999, 90, 2.5, 172800, 150.4)] == ["1h", "30m", "90s", "2.5s", "48h", "150s"]


def failed_task(event_id: int, cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE):
    return event(event_id, E.EVENT_TYPE_WORKFLOW_TASK_FAILED, workflow_task_failed_event_attributes={
        "cause": cause, "failure": {"message": "inventory snapshot missing"}})


def timed_out_task(event_id: int, timeout_type: int):
    return event(event_id, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, workflow_task_timed_out_event_attributes={"timeout_type": timeout_type})


def completed_task(event_id: int):
    return event(event_id, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)


def test_failing_task_is_a_task_failure_after_the_last_completed_task():
    seen = failing_task(WorkflowHistory("wf", [started(), completed_task(4), failed_task(7), failed_task(10)]))
    assert seen is not None and (seen.cause, seen.message) == ("WORKFLOW_WORKER_UNHANDLED_FAILURE", "inventory snapshot missing")
    stuck_on_timeout = failing_task(WorkflowHistory("wf", [started(), timed_out_task(4, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE)]))
    assert stuck_on_timeout is not None and stuck_on_timeout.cause == "TIMED_OUT"


@pytest.mark.parametrize("events", [
    [started(), failed_task(4), completed_task(7)],  # it recovered
    [started(), failed_task(4, WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND)],  # a signal arrived mid-task
    [started(), timed_out_task(4, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START)],  # the sticky queue handed the task back
    [started(), failed_task(4), event(5, E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)],  # closed
])
def test_no_failing_task(events):
    assert failing_task(WorkflowHistory("wf", events)) is None


def test_scorecard_types_take_counts_from_visibility_and_classes_from_the_sample():
    sampled = (WorkflowRecord("OrderWorkflow-5", "run-5", "OrderWorkflow", "FAILED", 12, (), failure_message="Activity task failed",
                              history_file="histories/OrderWorkflow-5.json", failure_type="PaymentDeclined", failure_cause="declined: 2000000 cents"),)
    [row] = scorecard_types(window(*orders(5, failed=2), sampled=sampled))
    assert (row.workflows, row.completed, row.failed, row.failure_rate, row.latency_p99_s) == (7, 5, 2, round(2 / 7, 4), 2.0)
    [declined] = row.failure_classes
    assert (declined.error_type, declined.message_pattern, declined.count) == ("PaymentDeclined", "declined: <n> cents", 1)


# watch.failure_rate


def test_failure_rate_over_the_limit_fails_and_names_the_type():
    result = failure_rate(window(*orders(8, failed=2), *[run(30 + i, workflow_type="ExportWorkflow") for i in range(10)]), WatchThresholds())
    assert result.status == Status.FAIL and result.subjects == ["workflow_type:OrderWorkflow"]
    assert "OrderWorkflow: 2 of 10 closed runs did not complete (20.0%, limit 1.0%)" in result.summary
    rows = {r["workflow_type"]: r for r in result.evidence["workflow_types"]}
    assert (rows["OrderWorkflow"]["status"], rows["ExportWorkflow"]["status"], rows["OrderWorkflow"]["failure_rate"]) == ("FAIL", "PASS", 0.2)
    assert result.remediation


def test_failure_rate_at_the_limit_passes():
    result = failure_rate(window(*orders(1, failed=1)), LOOSE)
    assert result.status == Status.PASS and result.subjects == [] and result.remediation == ""


def test_failure_rate_with_too_few_closed_runs_is_not_judged():
    few = failure_rate(window(*orders(3, failed=3)), WatchThresholds(min_runs=10))
    assert few.status == Status.NO_DATA and "not judged" in few.summary
    partly = failure_rate(window(*orders(10), run(40, "FAILED", "ExportWorkflow")), WatchThresholds())
    assert partly.status == Status.WARN and "ExportWorkflow" in partly.summary and partly.subjects == []


def test_empty_window_is_no_data_for_every_watch_check():
    for check in (failure_rate, latency, stuck):
        result = check(window(), WatchThresholds())
        assert result.status == Status.NO_DATA and "No workflow started in namespace orders in the last 1h" in result.summary


def test_a_cut_list_is_said_in_the_summary():
    result = failure_rate(window(*orders(10), limit=10, matching=2500), WatchThresholds())
    assert result.status == Status.PASS and result.evidence["limit_reached"] is True
    assert "--limit 10 cut the list: 2500 workflows started in the window, these figures cover the 10 listed" in result.summary
    exact = failure_rate(window(*orders(10), limit=10, matching=2500, exact_counts={"OrderWorkflow": {"COMPLETED": 2400, "FAILED": 100}}),
                         WatchThresholds())
    assert exact.status == Status.FAIL and "100 of 2500 closed runs" in exact.summary and "counts are exact per type" in exact.summary


# watch.latency


def test_latency_uses_the_type_limit_else_the_default():
    thresholds = WatchThresholds(latency_p99={"default": 300, "OrderWorkflow": 60}, min_runs=3)
    slow_orders = orders(5, seconds=90.0)
    exports = [run(50 + i, workflow_type="ExportWorkflow", seconds=240.0) for i in range(5)]
    result = latency(window(*slow_orders, *exports), thresholds)
    assert result.status == Status.FAIL and result.subjects == ["workflow_type:OrderWorkflow"]
    rows = {r["workflow_type"]: r for r in result.evidence["workflow_types"]}
    assert (rows["OrderWorkflow"]["p99_s"], rows["OrderWorkflow"]["limit_p99_s"], rows["ExportWorkflow"]["status"]) == (90.0, 60, "PASS")
    assert "OrderWorkflow: p99 90s over 5 completed runs (limit 1m)" in result.summary
    assert latency(window(*exports), thresholds).status == Status.PASS


def test_latency_counts_completed_runs_against_min_runs():
    result = latency(window(*orders(2, failed=10)), WatchThresholds(min_runs=3))
    assert result.status == Status.NO_DATA


# watch.stuck


def stuck_workflow(i: int, workflow_type: str = "OrderWorkflow") -> StuckWorkflow:
    return StuckWorkflow(f"{workflow_type}-{i}", f"run-{i}", workflow_type, 7, "WORKFLOW_WORKER_UNHANDLED_FAILURE",
                         "inventory snapshot missing", NOW - 100, f"histories/{workflow_type}-{i}.json")


def test_stuck_over_the_limit_fails_with_ids_and_messages():
    obs = window(*orders(3), run(20, "RUNNING"), run(21, "RUNNING"), stuck=(stuck_workflow(20), stuck_workflow(21)), open_described=2)
    result = stuck(obs, WatchThresholds(max_stuck=1))
    assert result.status == Status.FAIL and result.subjects == ["workflow_type:OrderWorkflow"]
    assert "OrderWorkflow-20: inventory snapshot missing" in result.summary
    assert [r["workflow_id"] for r in result.evidence["stuck_workflows"]] == ["OrderWorkflow-20", "OrderWorkflow-21"]
    assert result.evidence["stuck_workflows"][0]["task_attempt"] == 7 and "temporal workflow reset" in result.remediation


def test_stuck_within_the_limit_warns_and_none_passes():
    obs = window(*orders(3), run(20, "RUNNING"), stuck=(stuck_workflow(20),), open_described=1)
    assert stuck(obs, WatchThresholds(max_stuck=1)).status == Status.WARN
    healthy = stuck(window(*orders(3), run(20, "RUNNING"), open_described=1), WatchThresholds())
    assert healthy.status == Status.PASS and "None of the 1 open workflows" in healthy.summary
    assert stuck(window(*orders(3)), WatchThresholds()).summary.startswith("No workflow that started in the window is open")


# the retry-policy audit on sampled histories


def history(maximum_attempts: int) -> WorkflowHistory:
    return WorkflowHistory("wf-0", export_history(maximum_attempts=maximum_attempts))


def test_retry_policy_audit_reads_the_sampled_histories(tmp_path):
    plan = WatchPlan(validate(MINIMAL, ReadinessConfig, "readiness.yaml"), tmp_path / "readiness.yaml", tmp_path, None)
    good = policy_audit(window(*orders(1)), plan, [history(5)])
    assert good.status == Status.PASS and good.scenario == "watch" and good.evidence["histories_read"] == 1
    bad = policy_audit(window(*orders(1)), plan, [history(5), history(0)])
    assert bad.status == Status.FAIL and bad.subjects == ["activity_type:export_orders"]
    assert "unlimited attempts" in next(r["problems"] for r in bad.evidence["policies"] if r["max_attempts"] == "unlimited")


def test_watch_skips_the_policy_audit_without_sampled_histories(tmp_path):
    plan = WatchPlan(validate(MINIMAL, ReadinessConfig, "readiness.yaml"), tmp_path / "readiness.yaml", tmp_path, None)
    unsampled = policy_audit(dataclasses.replace(window(*orders(3)), sample_per_type=0), plan, [])
    assert unsampled.status == Status.SKIPPED and unsampled.summary.startswith("--sample 0")
    assert policy_audit(window(*orders(3)), plan, []).status == Status.SKIPPED
    assert [c.id for c in judge(window(*orders(3)), plan, None)] == ["watch.failure_rate", "watch.latency", "watch.stuck", "retry.policy"]


def record_of(r: VisibleRun) -> WorkflowRecord:
    return WorkflowRecord(r.workflow_id, r.run_id, r.workflow_type, r.status, 10, ())


# config

MINIMAL = {"app": {"name": "a"}, "task_queue": "q", "workers": [{"name": "w", "command": ["x"]}], "workload": {"workflow": "W"}}


def test_watch_thresholds_default_and_reject_bad_values():
    minimal = MINIMAL
    config = validate(minimal, ReadinessConfig, "readiness.yaml")
    assert config.watch == WatchThresholds() and config.watch.latency_limit("AnyWorkflow") == 300.0
    custom = validate({**minimal, "watch": {"latency_p99": {"OrderWorkflow": "60s"}}}, ReadinessConfig, "readiness.yaml")
    assert (custom.watch.latency_limit("OrderWorkflow"), custom.watch.latency_limit("Other")) == (60.0, 300.0)
    with pytest.raises(ConfigError, match=r"readiness.yaml: watch.latency_p99.OrderWorkflow: .*greater than 0"):
        validate({**minimal, "watch": {"latency_p99": {"OrderWorkflow": "0s"}}}, ReadinessConfig, "readiness.yaml")
    with pytest.raises(ConfigError, match=r"watch.max_failure_rate"):
        validate({**minimal, "watch": {"max_failure_rate": 1.5}}, ReadinessConfig, "readiness.yaml")
    with pytest.raises(ConfigError, match=r"watch.latency: unknown key"):
        validate({**minimal, "watch": {"latency": "1m"}}, ReadinessConfig, "readiness.yaml")
