"""Pure observation helpers: history summaries, metric parsing, workload inputs, the journal."""

from __future__ import annotations

import json

import pytest
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from harness.journal import Journal
from harness.load.spec import substitute_counter
from harness.observe import histories
from harness.observe.metrics import parse, total

E = EventType


def event(event_id: int, kind: int, **attrs) -> HistoryEvent:
    ev = HistoryEvent(event_id=event_id, event_type=kind)
    for field, values in attrs.items():
        for key, value in values.items():
            target = getattr(ev, field)
            if isinstance(value, dict):
                for sub_key, sub_value in value.items():
                    setattr(getattr(target, key), sub_key, sub_value)
            else:
                setattr(target, key, value)
    return ev


def started(run_id: str = "run-1") -> HistoryEvent:
    return event(1, E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, workflow_execution_started_event_attributes={
        "workflow_type": {"name": "OrderWorkflow"}, "original_execution_run_id": run_id})


def test_summary_of_a_completed_history():
    history = WorkflowHistory("wf-1", [
        started(),
        event(2, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
        event(3, E.EVENT_TYPE_WORKFLOW_TASK_STARTED),
        event(4, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, workflow_task_completed_event_attributes={"identity": "w-0-g0"}),
        event(5, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, workflow_task_completed_event_attributes={"identity": "w-0-g1"}),
        event(6, E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED),
    ])
    record = histories.summarise(history, "histories/wf-1.json")
    assert (record.workflow_id, record.run_id, record.workflow_type, record.status) == ("wf-1", "run-1", "OrderWorkflow", "COMPLETED")
    assert record.task_identities == ("w-0-g0", "w-0-g1") and record.event_count == 6
    assert record.history_file == "histories/wf-1.json" and record.task_failures == ()


def test_summary_of_a_stuck_history_keeps_the_task_failure():
    history = WorkflowHistory("wf-2", [
        started(),
        event(4, E.EVENT_TYPE_WORKFLOW_TASK_FAILED, workflow_task_failed_event_attributes={
            "cause": WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR,
            "identity": "w-0-g1", "failure": {"message": "[TMPRL1100] boom"}}),
    ])
    record = histories.summarise(history)
    assert record.status == "RUNNING"
    assert record.task_failures[0].cause == "NON_DETERMINISTIC_ERROR"
    assert record.task_failures[0].message == "[TMPRL1100] boom" and record.task_failures[0].event_id == 4


def test_summary_of_a_failed_history():
    history = WorkflowHistory("wf-3", [started(), event(2, E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        workflow_execution_failed_event_attributes={"failure": {"message": "declined"}})])
    record = histories.summarise(history)
    assert record.status == "FAILED" and record.failure_message == "declined"


def test_written_history_is_replayable_json(tmp_path):
    history = WorkflowHistory("orders/1 ü", [started()])
    relative = histories.write(history, tmp_path)
    assert relative == "histories/orders_1__.json"
    again = WorkflowHistory.from_json("orders/1 ü", (tmp_path / relative).read_text())
    assert again.events[0].workflow_execution_started_event_attributes.workflow_type.name == "OrderWorkflow"


SCRAPE = """# HELP temporal_workflow_task_execution_failed Count
# TYPE temporal_workflow_task_execution_failed counter
temporal_workflow_task_execution_failed{failure_reason="NonDeterminismError",namespace="default"} 3
temporal_workflow_task_execution_failed{failure_reason="WorkflowError",namespace="default"} 1
# TYPE temporal_workflow_completed_total counter
temporal_workflow_completed_total{namespace="default"} 5
# TYPE temporal_request_latency histogram
temporal_request_latency_bucket{le="100"} 2
temporal_request_latency_bucket{le="+Inf"} 4
temporal_request_latency_sum 250
temporal_request_latency_count 4
"""


def test_metrics_parse_and_total_handle_both_counter_namings():
    samples = parse(SCRAPE, worker="w-0-g0", phase="after")
    assert all(s.worker == "w-0-g0" and s.phase == "after" for s in samples)
    assert total(samples, "temporal_workflow_task_execution_failed") == 4
    assert total(samples, "temporal_workflow_task_execution_failed", failure_reason="NonDeterminismError") == 3
    assert total(samples, "temporal_workflow_completed") == 5
    assert total(samples, "temporal_request_latency_count") == 4
    assert total(samples, "absent") == 0
    names = {s.name for s in samples}  # as exported, although the parser adds _total to counters
    assert "temporal_workflow_task_execution_failed" in names and "temporal_workflow_completed_total" in names
    assert "temporal_workflow_task_execution_failed_total" not in names


def test_the_counter_is_substituted_everywhere_in_an_input():
    template = {"order_id": "A-{i}", "lines": [{"sku": "s-{i}"}, 3], "n": 2, "none": None}
    assert substitute_counter(template, 7) == {"order_id": "A-7", "lines": [{"sku": "s-7"}, 3], "n": 2, "none": None}


def test_journal_records_ok_failed_and_interrupted_steps(tmp_path):
    seen = []
    journal = Journal(tmp_path / "journal.json", on_step=lambda s: seen.append((s.name, s.status)))
    with journal.step("good", "sc", size=1) as step:
        step.detail["more"] = 2
    with pytest.raises(RuntimeError):
        with journal.step("bad"):
            raise RuntimeError("it broke")
    with pytest.raises(KeyboardInterrupt):
        with journal.step("stopped"):
            raise KeyboardInterrupt
    steps = json.loads((tmp_path / "journal.json").read_text())["steps"]
    assert [(s["name"], s["status"]) for s in steps] == [("good", "ok"), ("bad", "failed"), ("stopped", "interrupted")]
    assert steps[0]["detail"] == {"size": 1, "more": 2} and steps[0]["scenario"] == "sc"
    assert steps[1]["error"] == "RuntimeError: it broke"
    assert all(s["ended_at"] and s["duration_s"] is not None for s in steps)
    assert seen[:2] == [("good", "running"), ("good", "ok")]


def test_a_history_names_the_run_it_continued_and_the_children_it_started():
    from temporalio.api.enums.v1 import EventType
    from temporalio.api.history.v1 import HistoryEvent
    from temporalio.client import WorkflowHistory

    from harness.observe.histories import relatives

    started = HistoryEvent(event_id=1, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    started.workflow_execution_started_event_attributes.continued_execution_run_id = "run-1"
    child = HistoryEvent(event_id=7, event_type=EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
    child.child_workflow_execution_started_event_attributes.workflow_execution.workflow_id = "batch-1-chunk-0"
    assert relatives(WorkflowHistory("batch-1", [started, child])) == [("batch-1", "run-1"), ("batch-1-chunk-0", None)]
    first_run = HistoryEvent(event_id=1, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    assert relatives(WorkflowHistory("batch-1", [first_run])) == []  # nothing before the first run, no children
