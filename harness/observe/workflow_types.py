"""The first-48-hours view: per workflow type, end-to-end latency, failure rate and failure classes.

Read from the WorkflowRecords every scenario collected, whatever the checks said: these are the numbers an on-call
engineer watches in the first days after launch.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from harness.observe.figures import percentile
from harness.observe.model import WorkflowRecord
from harness.scorecard.model import FailureClass, WorkflowTypeStats

# Replaced in failure messages so that one class covers every instance: uuids, long hex ids, then numbers.
_VARIABLE_PARTS = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<uuid>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{12,}\b", re.I), "<id>"),
    (re.compile(r"\d+(\.\d+)?"), "<n>"),
)
MAX_PATTERN = 160
HARNESS_TERMINATION = "readiness scenario "
"""Reasons the scenarios give when they terminate what they leave open: not a failure of the app."""


def message_pattern(message: str | None) -> str:
    """A failure message with its variable parts masked ('order A-17 declined' -> 'order A-<n> declined')."""
    text = " ".join((message or "").split())
    for pattern, replacement in _VARIABLE_PARTS:
        text = pattern.sub(replacement, text)
    return text[:MAX_PATTERN]


def _failure_class(record: WorkflowRecord) -> tuple[str, str, str]:
    return record.status, record.failure_type or record.status.title(), message_pattern(record.failure_cause or record.failure_message)


def workflow_type_stats(records: Iterable[WorkflowRecord], time_skipped: Iterable[WorkflowRecord] = ()) -> list[WorkflowTypeStats]:
    """One row per workflow type, each workflow run counted once. `time_skipped` workflows ran on the time-skipping
    server: their latencies are in workflow time, so they get rows of their own."""
    return _rows(records, "wall") + _rows(time_skipped, "workflow time (time-skipping server)")


def _rows(records: Iterable[WorkflowRecord], clock: str) -> list[WorkflowTypeStats]:
    unique = {(r.workflow_id, r.run_id): r for r in records}
    by_type: dict[str, list[WorkflowRecord]] = defaultdict(list)
    for record in unique.values():
        by_type[record.workflow_type or "(unknown)"].append(record)
    rows = []
    for workflow_type in sorted(by_type):
        runs = by_type[workflow_type]
        stopped = [r for r in runs if r.status == "TERMINATED" and (r.failure_cause or "").startswith(HARNESS_TERMINATION)]
        closed = [r for r in runs if r.status != "RUNNING" and r not in stopped]
        completed = [r for r in closed if r.status in ("COMPLETED", "CONTINUED_AS_NEW")]
        failed = [r for r in closed if r not in completed]
        latencies = [r.closed_at - r.started_at for r in completed if r.closed_at is not None and r.started_at is not None]
        classes = Counter(_failure_class(r) for r in failed)
        samples = {_failure_class(r): r for r in reversed(failed)}  # the first one of each class
        rows.append(
            WorkflowTypeStats(
                workflow_type=workflow_type,
                workflows=len(runs),
                completed=len(completed),
                failed=len(failed),
                still_open=len(runs) - len(closed) - len(stopped),
                stopped_by_harness=len(stopped),
                failure_rate=round(len(failed) / len(closed), 4) if closed else 0.0,
                latency_p50_s=_round(percentile(latencies, 50)),
                latency_p95_s=_round(percentile(latencies, 95)),
                latency_p99_s=_round(percentile(latencies, 99)),
                clock=clock,
                failure_classes=[
                    FailureClass(
                        status=status, error_type=error_type, message_pattern=pattern, count=count,
                        sample_workflow_id=samples[(status, error_type, pattern)].workflow_id,
                        sample_history=samples[(status, error_type, pattern)].history_file,
                    )
                    for (status, error_type, pattern), count in classes.most_common()
                ],
            )
        )
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
