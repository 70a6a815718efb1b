"""Hand-built observations for the pure check tests."""

from __future__ import annotations

from harness.observe.model import KillRecord, MetricSample, ReplayOutcome, RestartObservations, TaskFailure, WorkflowRecord

NDE_MESSAGE = (
    'Workflow activation completion failed: Failure { failure: Some(Failure { message: "[TMPRL1100] Nondeterminism '
    'error: Timer machine does not handle this event: HistoryEvent(id: 5, ActivityTaskScheduled)", source: "" }) }'
)


def kill(confirmed: bool = True) -> KillRecord:
    return KillRecord("w-0", "w-0-g0", 4242, "SIGKILL", -9 if confirmed else None, confirmed)


def record(wid: str, status: str = "COMPLETED", identities=("w-0-g0", "w-0-g1"), failures=(), message=None) -> WorkflowRecord:
    return WorkflowRecord(wid, f"run-{wid}", "OrderWorkflow", status, 20, tuple(identities), tuple(failures), message, f"histories/{wid}.json")


def observations(n: int = 3, **overrides) -> RestartObservations:
    ids = tuple(f"wf-{i}" for i in range(n))
    values = dict(
        scenario="worker-restart",
        started=ids,
        running_at_kill=ids,
        kills=(kill(),),
        restarted_identities=("w-0-g1",),
        workflows=tuple(record(w) for w in ids),
        replays=tuple(ReplayOutcome(w, f"run-{w}", True) for w in ids),
        metrics=(MetricSample("w-0-g1", "after", "temporal_workflow_completed", (("namespace", "default"),), float(n)),),
    )
    values.update(overrides)
    return RestartObservations(**values)


def nondeterministic(n: int = 3) -> RestartObservations:
    ids = tuple(f"wf-{i}" for i in range(n))
    failure = TaskFailure(9, "NON_DETERMINISTIC_ERROR", NDE_MESSAGE, "w-0-g1")
    return observations(
        n,
        workflows=tuple(record(w, "RUNNING", identities=("w-0-g0",), failures=(failure,)) for w in ids),
        replays=tuple(ReplayOutcome(w, f"run-{w}", False, "NondeterminismError", NDE_MESSAGE) for w in ids),
        metrics=(
            MetricSample("w-0-g1", "after", "temporal_workflow_task_execution_failed", (("failure_reason", "NonDeterminismError"),), 4.0),
        ),
    )
