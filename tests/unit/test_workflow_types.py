"""The per-workflow-type view: latency percentiles, failure rate and failure classes, from histories."""

from __future__ import annotations

from dataclasses import replace

from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure, TimeoutFailureInfo
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from harness.observe import histories
from harness.observe.model import WorkflowRecord
from harness.observe.workflow_types import message_pattern, workflow_type_stats
from harness.scorecard.render import to_markdown
from tests.unit.test_scorecard import card

E = EventType


def timed(event_id: int, kind: int, at: float) -> HistoryEvent:
    event = HistoryEvent(event_id=event_id, event_type=kind)
    event.event_time.FromMicroseconds(int(at * 1e6))
    return event


def test_history_summary_has_times_and_the_innermost_failure_type():
    start = timed(1, E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 1000.0)
    start.workflow_execution_started_event_attributes.workflow_type.name = "OrderWorkflow"
    failed = timed(9, E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, 1012.5)
    declined = Failure(message="card 4242 declined", application_failure_info=ApplicationFailureInfo(type="PaymentDeclined"))
    failed.workflow_execution_failed_event_attributes.failure.CopyFrom(Failure(message="Activity task failed", cause=declined))
    record = histories.summarise(WorkflowHistory("wf-1", [start, failed]))
    assert (record.started_at, record.closed_at, record.failure_type) == (1000.0, 1012.5, "PaymentDeclined")
    assert (record.failure_message, record.failure_cause) == ("Activity task failed", "card 4242 declined")

    timeout = Failure(message="activity timeout", timeout_failure_info=TimeoutFailureInfo(timeout_type=TimeoutType.TIMEOUT_TYPE_HEARTBEAT))
    assert histories.failure_type(Failure(message="x", cause=timeout)) == "Timeout:HEARTBEAT"
    end = timed(5, E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, 1003)
    end.workflow_execution_terminated_event_attributes.reason = "readiness scenario signals ended"
    terminated = histories.summarise(WorkflowHistory("wf-2", [start, end]))
    assert (terminated.status, terminated.failure_type, terminated.closed_at) == ("TERMINATED", "Terminated", 1003.0)
    assert terminated.failure_cause == "readiness scenario signals ended"
    running = histories.summarise(WorkflowHistory("wf-3", [start]))
    assert (running.closed_at, running.failure_type) == (None, None)


def test_message_pattern_masks_ids_and_numbers():
    assert message_pattern("order A-17 declined: card 4242") == "order A-<n> declined: card <n>"
    assert message_pattern("charge 9f86d081884c7d65 for 3e0b2c1a-1b2c-4d5e-8f90-123456789abc\n failed") == (
        "charge <id> for <uuid> failed"
    )
    assert message_pattern(None) == "" and len(message_pattern("x" * 500)) == 160


def wf(wid: str, status: str = "COMPLETED", *, latency: float | None = 2.0, kind: str = "OrderWorkflow", error=None, message=None):
    closed = None if status == "RUNNING" else 100.0 + (latency or 0)
    return WorkflowRecord(
        wid, f"run-{wid}", kind, status, 10, (), (), message, f"histories/{wid}.json",
        started_at=100.0, closed_at=closed, failure_type=error,
    )


def test_per_type_latency_failure_rate_and_classes():
    records = [wf(f"ok-{i}", latency=float(i)) for i in range(1, 101)] + [
        wf("d-1", "FAILED", error="PaymentDeclined", message="order A-1 declined"),
        wf("d-3", "FAILED", error="PaymentDeclined", message="order A-5 declined"),
        wf("d-2", "FAILED", error="PaymentDeclined", message="order B-22 declined"),
        wf("t-1", "TERMINATED", error="Terminated", message=None),
        replace(wf("t-2", "TERMINATED", error="Terminated"), failure_cause="readiness scenario retry-outage ended"),
        wf("open", "RUNNING"),
        wf("ok-1", latency=1.0),  # the same run seen by two scenarios counts once
        wf("a-1", kind="ApprovalWorkflow", latency=0.5),
    ]
    approval, order = workflow_type_stats(records)
    assert (approval.workflow_type, approval.workflows, approval.failure_rate, approval.latency_p99_s) == ("ApprovalWorkflow", 1, 0.0, 0.5)
    assert (order.workflows, order.completed, order.failed, order.still_open, order.stopped_by_harness) == (106, 100, 4, 1, 1)
    assert order.failure_rate == round(4 / 104, 4)
    assert (order.latency_p50_s, order.latency_p95_s, order.latency_p99_s) == (50.0, 95.0, 99.0)
    classes = [(c.status, c.error_type, c.message_pattern, c.count) for c in order.failure_classes]
    assert classes == [("FAILED", "PaymentDeclined", "order A-<n> declined", 2),
                       ("FAILED", "PaymentDeclined", "order B-<n> declined", 1),
                       ("TERMINATED", "Terminated", "", 1)]
    assert order.failure_classes[0].sample_history == "histories/d-1.json" and order.clock == "wall"


def test_time_skipped_workflows_get_their_own_rows_and_the_view_renders():
    month = 30 * 86400.0
    rows = workflow_type_stats([wf("o-1")], time_skipped=[wf("s-1", kind="SubscriptionWorkflow", latency=month)])
    assert [(r.workflow_type, r.clock) for r in rows] == [("OrderWorkflow", "wall"), ("SubscriptionWorkflow", "workflow time (time-skipping server)")]
    rows.append(workflow_type_stats([wf("x", "TIMED_OUT", error="WorkflowTimeout", message="")], [])[0])
    text = to_markdown(card([]).model_copy(update={"workflow_types": rows}))
    assert "## Workflow types (the first-48-hours view)" in text
    assert "| SubscriptionWorkflow | 1 | 1 | 0 | 0 | 0 | 0.0% | 30.0 days | 30.0 days | 30.0 days | workflow time (time-skipping server) |" in text
    assert "| OrderWorkflow | TIMED_OUT | WorkflowTimeout | - | 1 | `histories/x.json` |" in text
    assert "first-48-hours" not in to_markdown(card([]))
