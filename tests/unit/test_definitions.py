"""Effective definitions from hand-built histories, and the query scan of workflow source."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.api.common.v1 import RetryPolicy
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from harness.errors import ConfigError
from harness.observe.definitions import definitions, read_history_files, run_definitions, workflow_queries
from tests.conftest import REPO, write

WORKFLOW_TIMEOUT = timedelta(minutes=10)


def started(workflow_type: str, task_queue: str = "orders", timeout: timedelta | None = WORKFLOW_TIMEOUT) -> HistoryEvent:
    event = HistoryEvent(event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    attrs = event.workflow_execution_started_event_attributes
    attrs.workflow_type.name = workflow_type
    attrs.task_queue.name = task_queue
    if timeout:
        attrs.workflow_execution_timeout.FromTimedelta(timeout)
        attrs.workflow_run_timeout.FromTimedelta(timeout)
    return event


def task_completed(sdk_name: str = "", sdk_version: str = "") -> HistoryEvent:
    event = HistoryEvent(event_type=EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    metadata = event.workflow_task_completed_event_attributes.sdk_metadata
    metadata.sdk_name, metadata.sdk_version = sdk_name, sdk_version
    return event


def scheduled(
    activity_type: str, *, attempts: int = 0, non_retryable: tuple[str, ...] = (), start_to_close: float = 10,
    schedule_to_close: timedelta = WORKFLOW_TIMEOUT, heartbeat: float = 0, task_queue: str = "orders", backoff: float = 2.0,
) -> HistoryEvent:
    event = HistoryEvent(event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    attrs = event.activity_task_scheduled_event_attributes
    attrs.activity_type.name = activity_type
    attrs.task_queue.name = task_queue
    attrs.start_to_close_timeout.FromTimedelta(timedelta(seconds=start_to_close))
    attrs.schedule_to_close_timeout.FromTimedelta(schedule_to_close)
    attrs.schedule_to_start_timeout.FromTimedelta(schedule_to_close)
    attrs.heartbeat_timeout.FromTimedelta(timedelta(seconds=heartbeat))
    policy = RetryPolicy(backoff_coefficient=backoff, maximum_attempts=attempts, non_retryable_error_types=list(non_retryable))
    policy.initial_interval.FromTimedelta(timedelta(seconds=1))
    policy.maximum_interval.FromTimedelta(timedelta(seconds=100))
    attrs.retry_policy.CopyFrom(policy)
    return event


def signaled(name: str) -> HistoryEvent:
    event = HistoryEvent(event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    event.workflow_execution_signaled_event_attributes.signal_name = name
    return event


def update_accepted(name: str) -> HistoryEvent:
    event = HistoryEvent(event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name = name
    return event


def child(workflow_type: str) -> HistoryEvent:
    event = HistoryEvent(event_type=EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    event.start_child_workflow_execution_initiated_event_attributes.workflow_type.name = workflow_type
    return event


def history(*events: HistoryEvent, workflow_id: str = "wf") -> WorkflowHistory:
    for number, event in enumerate(events, start=1):
        event.event_id = number
    return WorkflowHistory(workflow_id, list(events))


def order(attempts: int = 8, **options) -> WorkflowHistory:
    return history(
        started("OrderWorkflow"), task_completed("temporal-python", "1.35.0"),
        scheduled("charge_payment", attempts=attempts, non_retryable=("PaymentDeclined",), **options), task_completed(),
    )


def test_each_distinct_set_of_options_is_a_variant_with_its_count_and_workflow_types():
    defs = definitions([
        order(), order(), order(attempts=0),
        history(
            started("RefundWorkflow"), task_completed("temporal-python", "1.35.0"),
            scheduled("charge_payment", attempts=8, non_retryable=("PaymentDeclined",)),
        ),
    ])
    (charge,) = defs.activity_types
    assert charge.activity_type == "charge_payment"
    assert [(v.retry_policy.maximum_attempts, v.scheduled, v.workflow_types) for v in charge.variants] == [
        (8, 3, ("OrderWorkflow", "RefundWorkflow")), (0, 1, ("OrderWorkflow",)),
    ]
    variant = charge.variants[0]
    assert variant.retry_policy.non_retryable_error_types == ("PaymentDeclined",)
    assert (variant.retry_policy.initial_interval_s, variant.retry_policy.backoff_coefficient, variant.retry_policy.maximum_interval_s) == (1, 2, 100)
    assert (variant.start_to_close_s, variant.heartbeat_s, variant.task_queue) == (10, 0, "orders")
    assert defs.histories == 4 and [w.workflow_type for w in defs.workflow_types] == ["OrderWorkflow", "RefundWorkflow"]
    assert defs.workflow("OrderWorkflow").runs == 3 and defs.workflow("OrderWorkflow").activity_types == ("charge_payment",)


def test_a_timeout_the_server_capped_at_the_workflow_timeout_is_none_of_its_own():
    defs = definitions([order(schedule_to_close=timedelta(minutes=5)), order(schedule_to_close=WORKFLOW_TIMEOUT)])
    bounds = sorted((v.schedule_to_close_s, v.schedule_to_start_s) for v in defs.activity("charge_payment").variants)
    assert bounds == [(0, 0), (300, 300)]
    unbounded_workflow = history(started("OrderWorkflow", timeout=None), scheduled("charge_payment", schedule_to_close=timedelta(hours=2)))
    assert definitions([unbounded_workflow]).activity("charge_payment").variants[0].schedule_to_close_s == 7200


def test_signals_updates_children_timeouts_and_sdk_versions():
    approval = history(
        started("ApprovalWorkflow", task_queue="approvals"), task_completed("temporal-python", "1.34.0"),
        signaled("approve"), signaled("cancel"), signaled("approve"), update_accepted("amend"), child("AuditWorkflow"),
        task_completed("", "1.35.0"),  # the SDK name is written once, the version again when it changes
    )
    defs = definitions([approval])
    wf = defs.workflow("ApprovalWorkflow")
    assert (wf.signals, wf.updates, wf.child_workflow_types, wf.task_queues) == (("approve", "cancel"), ("amend",), ("AuditWorkflow",), ("approvals",))
    assert wf.execution_timeouts_s == (600,) and wf.run_timeouts_s == (600,)
    assert wf.sdks == ("temporal-python 1.34.0", "temporal-python 1.35.0") and defs.sdks == wf.sdks


def test_queries_are_known_only_for_workflow_types_whose_code_was_read():
    defs = definitions([order(), history(started("ExportWorkflow"))], queries={"OrderWorkflow": ["status", "status"]})
    assert (defs.workflow("OrderWorkflow").queries, defs.workflow("OrderWorkflow").queries_known) == (("status",), True)
    assert (defs.workflow("ExportWorkflow").queries, defs.workflow("ExportWorkflow").queries_known) == ((), False)


def test_workflow_queries_reads_the_sample_apps_source():
    found = workflow_queries(["sample_workflows.orders:OrderWorkflow", "sample_workflows.flawed.default_retry:DefaultRetryOrderWorkflow"], REPO)
    assert found == {"OrderWorkflow": ("status",)}  # the flawed class has the same type name and no query: the union
    assert workflow_queries(["sample_workflows.flawed.default_retry:DefaultRetryOrderWorkflow"], REPO) == {"OrderWorkflow": ()}


def test_workflow_queries_follows_names_bases_and_skips_dynamic_handlers(tmp_path):
    write(tmp_path / "app/__init__.py", "")
    write(tmp_path / "app/base.py", "from temporalio import workflow\n\nclass Base:\n    @workflow.query\n    def health(self) -> str:\n        return 'ok'\n")
    write(
        tmp_path / "app/flows.py",
        "from temporalio import workflow as wf\nfrom app.base import Base\n\n"
        "@wf.defn(name='Billing')\nclass BillingFlow(Base):\n"
        "    @wf.query(name='balance')\n    def get_balance(self) -> int:\n        return 0\n"
        "    @wf.query(dynamic=True)\n    def anything(self, name, args):\n        return None\n"
        "    @wf.signal\n    def pay(self) -> None:\n        pass\n"
        "    @wf.run\n    async def run(self) -> None:\n        pass\n",
    )
    assert workflow_queries(["app.flows"], tmp_path) == {"Billing": ("balance", "health")}
    with pytest.raises(ConfigError, match="not found"):
        workflow_queries(["app.missing:Nope"], tmp_path)


def test_history_files_round_trip_and_a_bad_file_is_named(tmp_path):
    originals = [order(), order(attempts=0)]
    for number, original in enumerate(originals):
        write(tmp_path / "histories" / f"order-{number}.json", original.to_json())
    read = read_history_files(sorted((tmp_path / "histories").glob("*.json")))
    assert [h.events for h in read] == [h.events for h in originals] and [h.workflow_id for h in read] == ["order-0", "order-1"]
    assert definitions(originals) == run_definitions(tmp_path / "histories", [], REPO)
    for number, text in enumerate(['{"events": [{"eventId": "x"}]}', '{"events": 1}', "not json"]):
        bad = write(tmp_path / f"broken-{number}.json", text)
        with pytest.raises(ConfigError, match=f"broken-{number}.json: not a Temporal JSON history"):
            read_history_files([bad])


def test_a_real_history_file():
    defs = run_definitions(REPO / "tests/fixtures/histories", ["sample_workflows.orders:OrderWorkflow"], REPO)
    order_type = defs.workflow("OrderWorkflow")
    assert order_type is not None and order_type.runs == 2 and order_type.queries == ("status",)
    assert [a.activity_type for a in defs.activity_types] == ["charge_payment", "reserve_inventory", "screen_order", "ship_order"]
    # the two histories ran on different task queues (v1 and v2 of the code): one variant each
    assert [(v.task_queue, v.retry_policy.maximum_attempts, v.schedule_to_close_s) for v in defs.activity("charge_payment").variants] == [
        ("orders", 8, 300), ("orders-v2_patched", 8, 300),
    ]
    assert order_type.task_queues == ("orders", "orders-v2_patched") and defs.sdks == ("temporal-python 1.35.0",)
