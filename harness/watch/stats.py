"""Pure statistics of a watch window: per workflow type counts, failure rate, end-to-end latency, failure classes;
which runs to sample; and whether a history shows a workflow task that keeps failing."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, islice, zip_longest

from temporalio.api.enums.v1 import EventType, TimeoutType, WorkflowTaskFailedCause
from temporalio.client import WorkflowHistory

from harness.observe.figures import percentile
from harness.observe.workflow_types import workflow_type_stats
from harness.scorecard.model import WorkflowTypeStats
from harness.watch.model import VisibleRun, WatchObservations

NOT_COMPLETED = ("FAILED", "TIMED_OUT", "TERMINATED", "CANCELED")
SUCCEEDED = ("COMPLETED", "CONTINUED_AS_NEW")
BENIGN_TASK_FAILURES = frozenset({"UNHANDLED_COMMAND", "UNHANDLED_UPDATE", "RESET_STICKY_TASK_QUEUE", "RESET_WORKFLOW"})
"""Workflow-task failure causes the server raises on purpose (new events arrived mid-task, a reset): the next task
normally completes, so they do not mean the workflow is stuck."""


def duration_text(seconds: float) -> str:
    """30m, 1h, 90s, 2.5s: a window or a latency the way people write it."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and round(seconds) % size == 0:
            return f"{round(seconds) // size}{unit}"
    return f"{seconds:.3g}s" if seconds < 100 else f"{seconds:,.0f}s"


@dataclass(frozen=True)
class TypeCounts:
    """How the runs of one workflow type that started in the window stand."""

    workflow_type: str
    started: int
    completed: int
    continued_as_new: int
    failed: int
    timed_out: int
    terminated: int
    canceled: int
    open: int
    latencies_s: tuple[float, ...]
    """End-to-end (close time - start time) of every COMPLETED run."""

    @property
    def not_completed(self) -> int:
        return self.failed + self.timed_out + self.terminated + self.canceled

    @property
    def closed(self) -> int:
        return self.completed + self.continued_as_new + self.not_completed

    @property
    def failure_rate(self) -> float | None:
        """Closed runs that did not complete / closed runs; None when none closed."""
        return self.not_completed / self.closed if self.closed else None

    def latency(self, q: float) -> float | None:
        value = percentile(self.latencies_s, q)
        return None if value is None else round(value, 3)


def type_counts(runs: Iterable[VisibleRun], exact: Mapping[str, Mapping[str, int]] | None = None) -> list[TypeCounts]:
    """One row per workflow type (sorted by name), each run counted once. A type in `exact` takes its counts from
    there (runs per status over the whole window) and only its latencies from the listed runs."""
    by_type: dict[str, list[VisibleRun]] = defaultdict(list)
    for run in {(r.workflow_id, r.run_id): r for r in runs}.values():
        by_type[run.workflow_type].append(run)
    rows = []
    for workflow_type in sorted(by_type):
        group = by_type[workflow_type]
        statuses = (exact or {}).get(workflow_type) or Counter(r.status for r in group)
        rows.append(TypeCounts(
            workflow_type=workflow_type, started=sum(statuses.values()), completed=statuses.get("COMPLETED", 0),
            continued_as_new=statuses.get("CONTINUED_AS_NEW", 0), failed=statuses.get("FAILED", 0), timed_out=statuses.get("TIMED_OUT", 0),
            terminated=statuses.get("TERMINATED", 0), canceled=statuses.get("CANCELED", 0), open=statuses.get("RUNNING", 0),
            latencies_s=tuple(max(0.0, r.closed_at - r.started_at) for r in group if r.status == "COMPLETED" and r.closed_at is not None),
        ))
    return rows


def window_counts(obs: WatchObservations) -> list[TypeCounts]:
    return type_counts(obs.runs, obs.exact_counts)


def scorecard_types(obs: WatchObservations) -> list[WorkflowTypeStats]:
    """The scorecard's per-type rows: counts and latencies from visibility, failure classes from the sampled
    histories (their counts are of the sample, not of every failed run)."""
    classes = {row.workflow_type: row.failure_classes for row in workflow_type_stats(obs.sampled)}
    return [
        WorkflowTypeStats(
            workflow_type=c.workflow_type, workflows=c.started, completed=c.completed + c.continued_as_new, failed=c.not_completed,
            still_open=c.open, failure_rate=round(c.failure_rate or 0.0, 4),
            latency_p50_s=c.latency(50), latency_p95_s=c.latency(95), latency_p99_s=c.latency(99), clock="wall",
            failure_classes=classes.get(c.workflow_type, []),
        )
        for c in window_counts(obs)
    ]


def choose_sample(runs: Sequence[VisibleRun], stuck: set[tuple[str, str]], size: int) -> list[VisibleRun]:
    """At most `size` runs of one workflow type whose histories are worth fetching, taken in turn from: runs seen
    stuck (their failure message), runs that did not complete (failure classes), other open runs (a failing task
    the describe missed) and completed runs (the activities' retry policies), so no group crowds out the others.
    `stuck` holds (workflow id, run id) pairs."""
    groups: list[list[VisibleRun]] = [[], [], [], []]
    for run in runs:
        if (run.workflow_id, run.run_id) in stuck:
            groups[0].append(run)
        elif run.status in NOT_COMPLETED:
            groups[1].append(run)
        elif run.status == "RUNNING":
            groups[2].append(run)
        else:
            groups[3].append(run)
    interleaved = (r for r in chain.from_iterable(zip_longest(*groups)) if r is not None)
    return list(islice(interleaved, size))


@dataclass(frozen=True)
class TaskFailureSeen:
    cause: str
    message: str
    at: float


def failing_task(history: WorkflowHistory) -> TaskFailureSeen | None:
    """The workflow task that failed (or timed out while running) after the last one that completed, if the workflow
    is still open: the sign of a workflow no worker can advance. The server records only the first failure of a
    streak; later attempts are not in the history."""
    seen: TaskFailureSeen | None = None
    for event in history.events:
        kind = event.event_type
        at = event.event_time.ToMicroseconds() / 1e6
        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            seen = None
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            attrs = event.workflow_task_failed_event_attributes
            cause = WorkflowTaskFailedCause.Name(attrs.cause).removeprefix("WORKFLOW_TASK_FAILED_CAUSE_")
            if cause not in BENIGN_TASK_FAILURES:
                seen = seen or TaskFailureSeen(cause, attrs.failure.message, at)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            # A schedule-to-start timeout is the sticky queue handing the task back: not a failure of the task.
            if event.workflow_task_timed_out_event_attributes.timeout_type == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE:
                seen = seen or TaskFailureSeen("TIMED_OUT", "the workflow task timed out (start-to-close) on the worker", at)
        elif _closes(kind):
            return None
    return seen


def _closes(kind: int) -> bool:
    return kind in (
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    )
