"""resilience.server_connection: did the workflows survive a fault between the workers and the Temporal frontend?
PASS when the fault was seen to take effect, every workflow (those running when it began and those started while it
lasted) completed, and the drain after it stayed within its limit; the evidence says when the workers noticed (their
SDK request-failure counters), how the backlog grew and which tasks timed out because of it. When only part of the
fleet is cut off (`healthy_workers`), the workers that stayed connected must carry on: a FAIL when they completed no
workflow task while the fault lasted."""

from __future__ import annotations

from collections import Counter

from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.client import WorkflowHistory

from harness.config.models import ReadinessConfig
from harness.config.types import Duration, Strict
from harness.observe.model import ServerConnectionObservations
from harness.scorecard.model import CheckResult, Status, subjects

CHECK_ID = "resilience.server_connection"
FAILURE_MODE = "workers cut off from the cluster: a partition or a slow frontend"
REMEDIATION = (
    "Workflows failed or never finished because the workers could not reach Temporal for a while. Timeouts shorter than "
    "a partition turn it into failures: a schedule-to-start or schedule-to-close timeout on an activity (non-retryable "
    "by design), a heartbeat timeout shorter than the outage without retries, or a workflow run/execution timeout. Give "
    "activities a start-to-close timeout with a retry policy instead, keep schedule-to-start unset (or longer than the "
    "outages you must survive), and page on the workers' request failures so a partition is seen while it lasts."
)


class ServerConnectionThresholds(Strict):
    max_failed_workflows: int = 0
    max_drain: Duration = 60.0
    """From the end of the fault until every workflow closed."""


def timeouts_of(histories: list[WorkflowHistory]) -> tuple[tuple[str, str], ...]:
    """(workflow id, what timed out) for every activity or workflow-task timeout in the histories."""
    found = []
    for history in histories:
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
                kind = event.activity_task_timed_out_event_attributes.failure.timeout_failure_info.timeout_type
                found.append((history.workflow_id, "activity " + TimeoutType.Name(kind).removeprefix("TIMEOUT_TYPE_").lower()))
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
                found.append((history.workflow_id, "workflow execution"))
    return tuple(found)


def completed_tasks(histories: list[WorkflowHistory], identities: set[str]) -> tuple[tuple[str, float], ...]:
    """(workflow id, when) of every workflow task completed by a worker of `identities`."""
    return tuple(
        (history.workflow_id, event.event_time.ToMicroseconds() / 1e6)
        for history in histories for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        and event.workflow_task_completed_event_attributes.identity in identities
    )


def _detection_s(obs: ServerConnectionObservations) -> float | None:
    """Seconds from the fault to the first rise of the workers' request-failure counters."""
    before = [f for f in obs.failures if f.at <= obs.fault.started_at]
    base = (before[-1].requests + before[-1].long_polls) if before else 0.0
    first = next((f for f in obs.failures if f.at > obs.fault.started_at and f.requests + f.long_polls > base), None)
    return round(first.at - obs.fault.started_at, 1) if first else None


def server_connection(obs: ServerConnectionObservations, spec, config: ReadinessConfig) -> CheckResult:
    limits: ServerConnectionThresholds = spec.thresholds
    fault = obs.fault
    during = [b for b in obs.backlog if fault.started_at <= b.at <= fault.ended_at]
    drain_s = round(obs.drained_at - obs.restored_at, 1) if obs.drained_at else None
    failed = [r for r in obs.workflows if r.status not in ("COMPLETED", "RUNNING")]
    still_open = [r for r in obs.workflows if r.status == "RUNNING"]
    last = obs.failures[-1] if obs.failures else None
    first = obs.failures[0] if obs.failures else None
    evidence = {
        "fault": fault.kind, "fault_s": round(fault.ended_at - fault.started_at, 1), "confirmed": fault.confirmed,
        "proxy": fault.evidence,
        "detected_after_s": _detection_s(obs),
        "request_failures_during_fault": round((last.requests - first.requests) if last and first else 0),
        "long_poll_failures_during_fault": round((last.long_polls - first.long_polls) if last and first else 0),
        "peak_backlog_during_fault": {"workflow": max((b.workflow for b in during), default=0),
                                      "activity": max((b.activity for b in during), default=0)},
        "drain_s": drain_s,
        "workflows_before_fault": len(obs.started_before), "workflows_started_during_fault": len(obs.started_during),
        "completed": sum(r.status == "COMPLETED" for r in obs.workflows),
        "timeouts": dict(Counter(kind for _, kind in obs.timeouts)),
        "problems": [
            {"workflow_id": r.workflow_id, "status": r.status, "failure": (r.failure_cause or r.failure_message or "")[:200],
             **({"history": r.history_file} if r.history_file else {})}
            for r in failed + still_open
        ],
    }

    carried = [(wf, at) for wf, at in obs.healthy_tasks if fault.started_at <= at <= fault.ended_at]
    if obs.healthy_workers:
        evidence.update(
            healthy_workers=len(obs.healthy_workers), healthy_tasks_during_fault=len(carried),
            taken_over=len({wf for wf, _ in carried} & set(obs.started_before)),
        )

    def result(status: Status, summary: str, remediation: str = "", failing: list[str] | None = None) -> CheckResult:
        return CheckResult(id=CHECK_ID, scenario=obs.scenario, failure_mode=FAILURE_MODE, status=status, summary=summary,
                           evidence=evidence, remediation=remediation, subjects=failing or [])

    if not fault.confirmed:
        return result(Status.NO_DATA, f"The {fault.kind} fault was not seen to take effect on the workers' connections "
                      f"({fault.evidence}), so nothing shows how the app survives it.")
    seen = f"noticed by the workers after {evidence['detected_after_s']} s" if evidence["detected_after_s"] is not None \
        else "never showed in the workers' request-failure counters"
    if len(failed) > limits.max_failed_workflows or still_open or obs.stuck:
        names = ", ".join(f"{p['workflow_id']} ({p['status']})" for p in evidence["problems"][:5])
        timeouts = ", ".join(f"{n} {k}" for k, n in evidence["timeouts"].items()) or "none"
        return result(
            Status.FAIL,
            f"{len(failed)} workflows failed and {len(still_open)} never finished after {evidence['fault_s']} s of {fault.kind} "
            f"between the workers and Temporal ({seen}): {names}. Timeouts: {timeouts}.",
            REMEDIATION, subjects(workflow_types=[r.workflow_type for r in failed + still_open]),
        )
    if obs.healthy_workers and not carried:
        return result(
            Status.FAIL,
            f"{len(obs.healthy_workers)} workers stayed connected, yet completed no workflow task during the "
            f"{evidence['fault_s']} s the others were cut off: the work waited for the cut-off workers ({seen}).",
            "Work pinned to cut-off workers waits for them: check that the healthy workers poll the same task queue, have "
            "free slots, and that nothing routes work to one worker only (a per-worker task queue, a session).",
        )
    if drain_s is None or drain_s > limits.max_drain:
        return result(Status.FAIL, f"After {evidence['fault_s']} s of {fault.kind} the workflows took {drain_s} s to drain "
                      f"(limit {limits.max_drain:g} s).", REMEDIATION)
    return result(
        Status.PASS,
        f"All {len(obs.workflows)} workflows completed across {evidence['fault_s']} s of {fault.kind} between the workers and "
        f"Temporal ({seen}; backlog up to {evidence['peak_backlog_during_fault']['workflow']} workflow and "
        f"{evidence['peak_backlog_during_fault']['activity']} activity tasks), drained {drain_s} s after it ended"
        + (f"; {len(obs.healthy_workers)} workers that stayed connected completed {len(carried)} workflow tasks while it lasted "
           f"({evidence['taken_over']} in-flight workflows taken over)." if obs.healthy_workers else "."),
    )
