"""Reading message delivery from histories: co-delivery, lost signals, update counts, and the names invariants see."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    HistoryEvent,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowExecutionUpdateCompletedEventAttributes,
    WorkflowTaskCompletedEventAttributes,
)
from temporalio.api.update.v1 import Input, Meta, Request
from temporalio.client import WorkflowHistory

from harness.config.scenarios import SIGNALS_RESERVED_NAMES
from harness.observe.messages import (
    Delivery,
    MessageOutcome,
    SignalRun,
    Violation,
    delivery,
    delivery_of_runs,
    invariant_names,
    violated,
)
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "signals"
T = EventType


class History:
    """Builds a history event by event, numbering them."""

    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []
        self.add(T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
        self.task()

    def add(self, kind: int, **attributes) -> int:
        event_id = len(self.events) + 1
        self.events.append(HistoryEvent(event_id=event_id, event_type=kind, **attributes))
        return event_id

    def signal(self, name: str) -> History:
        attributes = WorkflowExecutionSignaledEventAttributes(signal_name=name)
        self.add(T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, workflow_execution_signaled_event_attributes=attributes)
        return self

    def task(self, completes: bool = True) -> History:
        scheduled = self.add(T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
        started = self.add(T.EVENT_TYPE_WORKFLOW_TASK_STARTED)
        if completes:
            attributes = WorkflowTaskCompletedEventAttributes(scheduled_event_id=scheduled, started_event_id=started)
            self.add(T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, workflow_task_completed_event_attributes=attributes)
        else:
            self.add(T.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
        return self

    def update(self, name: str, update_id: str, complete: bool = True) -> History:
        request = Request(meta=Meta(update_id=update_id), input=Input(name=name))
        accepted = self.add(
            T.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            workflow_execution_update_accepted_event_attributes=WorkflowExecutionUpdateAcceptedEventAttributes(accepted_request=request),
        )
        if complete:
            attributes = WorkflowExecutionUpdateCompletedEventAttributes(meta=Meta(update_id=update_id), accepted_event_id=accepted)
            self.add(T.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, workflow_execution_update_completed_event_attributes=attributes)
        return self


def test_signals_in_one_task_are_co_delivered():
    found = delivery(History().signal("approve").signal("cancel").task().events)
    assert found.signals == {"approve": 1, "cancel": 1} and found.co_delivered and found.message_tasks == (8, 8)


def test_signals_that_reached_an_earlier_run_count_and_a_burst_split_by_continue_as_new_is_not_co_delivered():
    first = History().signal("approve").task()  # took the first signal, then continued as new
    latest = History().signal("approve").task()  # the same event ids as the first run's
    found = delivery_of_runs([first.events, latest.events])
    assert found.signals == {"approve": 2} and not found.co_delivered
    assert delivery(first.events).message_tasks == delivery(latest.events).message_tasks  # why the runs are kept apart
    assert delivery_of_runs([History().signal("approve").signal("cancel").task().events]) == delivery(
        History().signal("approve").signal("cancel").task().events
    )
    lost = SignalRun("a + a", "a, a", "wf-1", "COMPLETED", (MessageOutcome("approve", True),) * 2, found)
    assert lost.lost_signals == {}  # both were delivered, one to each run


def test_a_task_started_between_the_signals_splits_the_burst():
    found = delivery(History().signal("approve").task().signal("approve").task().events)
    assert found.signals == {"approve": 2} and not found.co_delivered and found.message_tasks == (7, 11)


def test_a_task_that_timed_out_delivered_nothing():
    """A worker killed holding the task: the retry after the timeout carries every signal since the last completed task."""
    found = delivery(History().signal("approve").task(completes=False).signal("cancel").task().events)
    assert found.co_delivered and found.message_tasks == (11, 11)


def test_one_message_is_not_a_burst_and_unpicked_signals_have_no_task():
    assert not delivery(History().signal("approve").task().events).co_delivered
    found = delivery(History().signal("approve").signal("cancel").events)
    assert found.message_tasks == (None, None) and not found.co_delivered


def test_updates_are_counted_by_name_and_placed_in_the_task_that_accepted_them():
    history = History().signal("cancel").task().update("amend", "u1").update("amend", "u2", complete=False)
    found = delivery(history.events)
    assert found.updates_accepted == {"amend": 2} and found.updates_completed == {"amend": 1}
    assert found.message_tasks == (7, 7, 7) and found.co_delivered
    later = delivery(History().update("amend", "u1").signal("cancel").task().events)
    assert later.message_tasks == (3, 9) and not later.co_delivered


def test_messages_after_the_first_can_be_co_delivered_on_their_own():
    found = delivery(History().signal("a").task().signal("b").signal("c").task().events)
    assert not found.co_delivered and found.co_delivered_after(1)
    assert not Delivery({}, {}, {}, (5, 8)).co_delivered_after(1)


@pytest.mark.parametrize(
    ("fixture", "signals", "updates", "tasks", "co_delivered"),
    [
        # The server refused to complete the workflow while a signal was arriving (UnhandledCommand): the retried task
        # carried both signals.
        ("unhandled-command-retry.json", {"approve": 1, "cancel": 1}, {}, (12, 12), True),
        ("signals-and-update-one-task.json", {"cancel": 1, "approve": 1}, {"amend": 1}, (9, 9, 9), True),
        ("update-then-signals.json", {"approve": 1, "cancel": 1}, {"amend": 1}, (7, 14, 14), False),
        # Workers killed after the update; the signals sent meanwhile waited for the sticky task to time out.
        ("restart-mid-burst.json", {"approve": 2, "cancel": 1}, {"amend": 1}, (7, 17, 17, 17), False),
    ],
)
def test_real_dev_server_histories(fixture, signals, updates, tasks, co_delivered):
    history = WorkflowHistory.from_json("wf", (FIXTURES / fixture).read_text())
    found = delivery(history.events)
    assert found.signals == signals and found.updates_accepted == updates and found.updates_completed == updates
    assert found.message_tasks == tasks and found.co_delivered is co_delivered


def run_with(messages: list[MessageOutcome], signals: dict[str, int]) -> SignalRun:
    return SignalRun("a + b", "a, b", "wf-1", "COMPLETED", tuple(messages), Delivery(signals, {}, {}, (3, 3)))


def test_lost_signals_are_accepted_ones_missing_from_history():
    accepted = [MessageOutcome("approve", True), MessageOutcome("approve", True), MessageOutcome("cancel", True)]
    refused = [MessageOutcome("cancel", False, "workflow closed"), MessageOutcome("update:amend", True)]
    assert run_with(accepted + refused, {"approve": 1, "cancel": 1}).lost_signals == {"approve": 1}
    assert run_with(accepted, {"approve": 2, "cancel": 1}).lost_signals == {}


def test_invariant_names():
    messages = [MessageOutcome("approve", True), MessageOutcome("cancel", False, "closed"), MessageOutcome("update:amend", False, "x")]
    found = Delivery({"approve": 1}, {"amend": 1}, {}, (5, 5))
    queries = {"state": {"status": "approved", "approvals": 1, "result": "clash"}, "audit": {"approvals": 9, "entries": 3}}
    names = invariant_names(messages, found, "COMPLETED", {"done": True}, queries)
    assert set(SIGNALS_RESERVED_NAMES) <= set(names)
    assert names["sent_signals"] == 1 and names["sent"] == {"approve": 1} and names["rejected"] == {"cancel": 1, "update:amend": 1}
    assert names["delivered_signals"] == 1 and names["updates_sent"] == 1 and names["updates_accepted"] == 1
    assert names["updates_completed"] == 0 and names["co_delivered"] is True and names["workflow_status"] == "COMPLETED"
    assert names["result"] == {"done": True} and names["state"]["result"] == "clash"
    # Keys of query results become names unless they clash: `approvals` is in two results, `result` is reserved.
    assert names["status"] == "approved" and names["entries"] == 3 and "approvals" not in names
    assert set(names) == set(SIGNALS_RESERVED_NAMES) | {"state", "audit", "status", "entries"}


def test_violations_carry_the_values_read_or_why_they_could_not_be_evaluated():
    names = {"approvals": 2, "status": "approved", "sent_signals": 2}
    found = violated(["approvals <= 1", "status in ['approved', 'cancelled']", "decisions == 1", "approvals + status"], names)
    assert found[0] == Violation("approvals <= 1", "approvals=2")
    assert [v.invariant for v in found] == ["approvals <= 1", "decisions == 1", "approvals + status"]
    assert found[1].detail.startswith("cannot evaluate") and "unknown name 'decisions'" in found[1].detail
    assert "TypeError" in found[2].detail
