"""What `readiness watch` read from a live namespace: frozen, so the watch checks are pure functions of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.observe.activities import ActivityRecord
from harness.observe.model import WorkflowRecord

SCENARIO = "watch"
"""The `scenario` every watch check reports under (watch runs no scenario)."""


@dataclass(frozen=True)
class VisibleRun:
    """One workflow run as visibility lists it."""

    workflow_id: str
    run_id: str
    workflow_type: str
    status: str
    """RUNNING, COMPLETED, FAILED, TIMED_OUT, TERMINATED, CANCELED or CONTINUED_AS_NEW."""
    started_at: float
    closed_at: float | None = None
    """Epoch seconds; None while open."""


@dataclass(frozen=True)
class StuckWorkflow:
    """An open workflow whose workflow task keeps failing: no worker can advance it."""

    workflow_id: str
    run_id: str
    workflow_type: str
    task_attempt: int | None
    """Attempt of the pending workflow task (DescribeWorkflowExecution); None when it was not described."""
    cause: str
    """Cause of the last WorkflowTaskFailed (e.g. WORKFLOW_WORKER_UNHANDLED_FAILURE), TIMED_OUT, or `unknown` without a history."""
    message: str
    failing_since: float | None = None
    """Epoch seconds of the failed (or timed-out) task after the last completed one."""
    history_file: str | None = None
    """Relative to the report folder."""


@dataclass(frozen=True)
class WatchObservations:
    """Visibility over the window, plus a bounded sample of histories per workflow type."""

    address: str
    namespace: str
    window_start: float
    window_end: float
    """Epoch seconds: the window is workflows started after `window_start`, read at `window_end`."""
    query: str
    limit: int
    matching: int | None
    """Workflows the query matched (CountWorkflowExecutions); None when the server could not count them."""
    runs: tuple[VisibleRun, ...]
    """The listed runs: at most `limit`."""
    sample_per_type: int
    sampled: tuple[WorkflowRecord, ...] = ()
    """Summaries of the sampled histories (failure classes are read from these)."""
    activities: tuple[ActivityRecord, ...] = ()
    """Every activity the sampled histories scheduled (the retry-policy audit reads these)."""
    stuck: tuple[StuckWorkflow, ...] = ()
    open_described: int = 0
    """Open runs whose pending workflow task was read with DescribeWorkflowExecution."""
    histories_gone: int = 0
    """Sampled runs whose history was deleted (retention) before it could be fetched."""
    exact_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """When --limit cut the list: per workflow type seen in it, runs per status (RUNNING, COMPLETED, ...) over the whole
    window, from CountWorkflowExecutions grouped by ExecutionStatus. Empty: the listed runs are every run."""

    @property
    def limit_reached(self) -> bool:
        return len(self.runs) >= self.limit and (self.matching is None or self.matching > len(self.runs))

    @property
    def scenario(self) -> str:
        return SCENARIO

    @property
    def since_s(self) -> float:
        return self.window_end - self.window_start
