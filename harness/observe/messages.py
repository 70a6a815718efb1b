"""Signals and updates sent to a workflow, and what its history says about them (pure: no I/O).

A signal is delivered to the worker in the first workflow task started after its WorkflowExecutionSignaled event that
completes (a task that timed out or failed, e.g. on a killed worker, is delivered again in the next one);
an accepted update is recorded (WorkflowExecutionUpdateAccepted) right after the completion of the workflow task
that delivered it. A burst of messages was co-delivered when every message that left an event landed in the same
workflow task: the worker then ran all their handlers in one activation, which is where handlers can interleave.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from harness.invariants import InvariantError, evaluate
from harness.observe.model import KillRecord, WorkflowRecord

UPDATE_PREFIX = "update:"


@dataclass(frozen=True)
class MessageOutcome:
    """One signal or update the scenario sent, as the client saw it."""

    label: str
    """The signal name, or `update:<name>`."""
    accepted: bool
    """The server took the signal, or the update was accepted by its validator."""
    error: str | None = None
    """Why it was refused (workflow closed, validator rejected it, timed out)."""


@dataclass(frozen=True)
class Delivery:
    """What a history says about the messages a workflow received."""

    signals: Mapping[str, int]
    """WorkflowExecutionSignaled events per signal name."""
    updates_accepted: Mapping[str, int]
    updates_completed: Mapping[str, int]
    message_tasks: tuple[int | None, ...]
    """For each message event in history order: the WorkflowTaskStarted event id of the completed workflow task that
    delivered it (None for a signal no completed workflow task picked up before the workflow closed)."""

    @property
    def co_delivered(self) -> bool:
        """At least two messages left events, and one workflow task delivered them all."""
        return self.co_delivered_after(0)

    def co_delivered_after(self, first: int) -> bool:
        """The messages from the `first`-th event on (at least two) were delivered by one workflow task."""
        tasks = self.message_tasks[first:]
        return len(tasks) >= 2 and None not in tasks and len(set(tasks)) == 1


def delivery(events: Sequence[HistoryEvent]) -> Delivery:
    # A workflow task that timed out or failed delivered nothing: the next one carries its messages again.
    completed_tasks = {
        e.workflow_task_completed_event_attributes.started_event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    }
    signals: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    completed: Counter[str] = Counter()
    update_names: dict[str, str] = {}
    tasks: list[int | None] = []
    waiting_signals: list[int] = []  # indexes into `tasks` of signals no workflow task has started on yet
    last_completed_task: int | None = None
    for event in events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            signals[event.workflow_execution_signaled_event_attributes.signal_name] += 1
            waiting_signals.append(len(tasks))
            tasks.append(None)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED and event.event_id in completed_tasks:
            for index in waiting_signals:
                tasks[index] = event.event_id
            waiting_signals = []
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            last_completed_task = event.workflow_task_completed_event_attributes.started_event_id
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            update_names[request.meta.update_id] = request.input.name
            accepted[request.input.name] += 1
            tasks.append(last_completed_task)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            update_id = event.workflow_execution_update_completed_event_attributes.meta.update_id
            completed[update_names.get(update_id, "?")] += 1
    return Delivery(dict(signals), dict(accepted), dict(completed), tuple(tasks))


RUN_STRIDE = 1_000_000
"""Added to the task ids of each later run in delivery_of_runs: a history holds at most 51,200 events, so tasks of two
runs never compare equal (a burst split by a continue-as-new was not co-delivered)."""


def delivery_of_runs(runs: Sequence[Sequence[HistoryEvent]]) -> Delivery:
    """What a workflow's whole chain of runs (continue-as-new; oldest first) says about the messages it received: a
    signal that reached an earlier run was delivered, not lost."""
    parts = [delivery(events) for events in runs]
    total = [Counter(), Counter(), Counter()]
    for part in parts:
        for counter, counts in zip(total, (part.signals, part.updates_accepted, part.updates_completed), strict=True):
            counter.update(counts)
    tasks = tuple(None if t is None else t + i * RUN_STRIDE for i, part in enumerate(parts) for t in part.message_tasks)
    return Delivery(dict(total[0]), dict(total[1]), dict(total[2]), tasks)


@dataclass(frozen=True)
class Violation:
    invariant: str
    """The expression (or the `check` callable's import path)."""
    detail: str
    """The values it read, the callable's message, or why it could not be evaluated."""


@dataclass(frozen=True)
class SignalRun:
    """One workflow that received one burst of messages."""

    combination: str
    """The messages as declared, e.g. `approve + cancel`."""
    order: str
    """The order they were sent in, e.g. `cancel, approve`."""
    workflow_id: str
    workflow_status: str
    """Status when the burst had settled (before the scenario terminated anything)."""
    messages: tuple[MessageOutcome, ...]
    delivery: Delivery
    violations: tuple[Violation, ...] = ()
    """Invariants that did not hold or could not be evaluated."""
    history_file: str | None = None

    @property
    def lost_signals(self) -> dict[str, int]:
        """Signals the server accepted that never appeared in the history, per name."""
        sent = Counter(m.label for m in self.messages if m.accepted and not m.label.startswith(UPDATE_PREFIX))
        return {name: count - self.delivery.signals.get(name, 0) for name, count in sent.items() if count > self.delivery.signals.get(name, 0)}


@dataclass(frozen=True)
class SignalsObservations:
    """What the signals-concurrent scenario saw."""

    scenario: str
    delivery_mode: str
    """`concurrent` (each burst sent at once) or `sequential` (one message per workflow task, the control case)."""
    runs: tuple[SignalRun, ...]
    workflows: tuple[WorkflowRecord, ...] = ()
    restart_during_burst: bool = False
    kills: tuple[KillRecord, ...] = ()
    """Worker kills made in the middle of bursts (restart_during_burst)."""
    not_idle: tuple[str, ...] = field(default=())
    """Workflows that had not finished their first workflow task when their burst was sent."""


def invariant_names(
    messages: Sequence[MessageOutcome], found: Delivery, workflow_status: str, result: Any, queries: Mapping[str, Any]
) -> dict[str, Any]:
    """The names an invariant can use. Top-level keys of dict query results are names of their own unless they
    clash with a reserved name, a query name or a key of another query's result."""
    signals = Counter(m.label for m in messages if m.accepted and not m.label.startswith(UPDATE_PREFIX))
    updates = [m for m in messages if m.label.startswith(UPDATE_PREFIX)]
    names: dict[str, Any] = {
        "result": result,
        "workflow_status": workflow_status,
        "sent_signals": sum(signals.values()),
        "sent": dict(signals),
        "rejected": dict(Counter(m.label for m in messages if not m.accepted)),
        "delivered_signals": sum(found.signals.values()),
        "updates_sent": len(updates),
        "updates_accepted": sum(found.updates_accepted.values()),
        "updates_completed": sum(found.updates_completed.values()),
        "co_delivered": found.co_delivered,
    }
    keys = Counter(k for value in queries.values() if isinstance(value, dict) for k in value if isinstance(k, str))
    for value in queries.values():
        if isinstance(value, dict):
            names.update({k: v for k, v in value.items() if keys.get(k) == 1 and k not in names and k not in queries})
    names.update(queries)
    return names


def _referenced(source: str, names: Mapping[str, Any]) -> str:
    used = sorted({n.id for n in ast.walk(ast.parse(source.strip(), mode="eval")) if isinstance(n, ast.Name) and n.id in names})
    return ", ".join(f"{n}={names[n]!r}" for n in used)


def violated(invariants: Sequence[str], names: Mapping[str, Any]) -> list[Violation]:
    """The invariants that do not hold, with the values of the names they read; one that cannot be evaluated
    counts as violated, with the reason."""
    found = []
    for source in invariants:
        try:
            if not evaluate(source, names):
                found.append(Violation(source, _referenced(source, names)))
        except InvariantError as exc:
            found.append(Violation(source, f"cannot evaluate: {exc}"))
    return found
