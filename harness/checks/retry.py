"""Failure mode: retry storms when a dependency goes down, and business errors that burn the retry budget.

- (`retry.policy` judges every history of the run and the code: harness.checks.policies.)
- `retry.outage`: what the retries did to the dependency during and after an outage.
- `retry.non_retryable`: a business error must fail on attempt 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.config.models import ReadinessConfig
from harness.config.scenarios import OutageThresholds
from harness.observe import attempt_counters
from harness.observe.activities import ActivityRecord, attempt_times
from harness.observe.attempt_counters import counted_attempt_times
from harness.observe.figures import peak_rate, rate
from harness.observe.model import BacklogSample, FaultRecord, LoadObservations, NonRetryableObservations, WorkflowRecord
from harness.scorecard.evidence import AttemptsInSecond, BacklogPoint, OutageEvidence
from harness.scorecard.model import CheckResult, Status, subjects

if TYPE_CHECKING:  # specs are read here, never built: their kinds' modules import this one
    from harness.scenarios.retry_outage import RetryOutageScenario

OUTAGE_ID, NON_RETRYABLE_ID = "retry.outage", "retry.non_retryable"
FAILURE_MODE = "retry storms when a dependency goes down"
MAX_BACKLOG_ROWS = 120


def _result(
    check_id: str, scenario: str, status: Status, summary: str, evidence: dict, remediation: str = "", *, activity_types: Sequence[str] = ()
) -> CheckResult:
    return CheckResult(
        id=check_id, scenario=scenario, failure_mode=FAILURE_MODE, status=status, summary=summary,
        evidence=evidence, remediation=remediation if status != Status.PASS else "",
        subjects=subjects(activity_types=activity_types) if status == Status.FAIL else [],
    )


def _hit_by_fault(record: ActivityRecord, start: float, end: float) -> bool:
    """The activity was in progress (scheduled, not yet closed) at some moment of the fault window."""
    return record.scheduled_at < end and (record.closed_at is None or record.closed_at > start)


@dataclass(frozen=True)
class OutageMeasure:
    """What the retries did during and after the outage, unrounded (the evidence holds the rounded record)."""

    failed_types: list[str]
    hit: int
    """Activities of the failed types in progress during the fault."""
    never_closed: int
    outage_s: float
    before: float
    """Attempts/s of the failed types between the load's start and the fault's."""
    peak: float
    storm: float | None
    """peak / before; None without attempts before the fault."""
    amplification: float
    failed_workflows: list[WorkflowRecord]
    drain: float | None
    """From restore until the last activity hit closed; None when one never did."""
    calls_per_attempt: float | None = None
    """Calls the proxy counted at the dependency per attempt in the fault; None when it cannot count them."""


def measure_outage(obs: LoadObservations, burst_window: float) -> tuple[OutageEvidence, OutageMeasure | None, tuple[str, str]]:
    """The outage's figures (None, with a NO_DATA summary and fix, when the fault did not take effect or reached no
    activity), and the evidence that records them."""
    fault = obs.fault
    base = OutageEvidence(fault={**(fault.evidence if fault else {}), "confirmed": bool(fault and fault.confirmed)})
    if fault is None or not fault.confirmed:
        return base, None, (
            "The fault was not seen to take effect, so the outage was not tested.",
            "Check that the app reaches the dependency through the harness's proxy (the URL in its environment variable) "
            "and see journal.json for the fault's counters.",
        )
    start, end, load_start = fault.started_at, fault.ended_at, obs.load.started_at
    failed_types = {r.activity_type for r in obs.activities if _hit_by_fault(r, start, end) and (r.attempts > 1 or r.outcome != "completed")}
    hit = [r for r in obs.activities if r.activity_type in failed_types and _hit_by_fault(r, start, end)]
    if not hit:
        return base, None, (
            "No activity failed or retried during the fault window: the outage never reached the app.",
            "Make sure the load keeps calling the dependency during the window (raise `rate` or `outage`).",
        )
    from_history = {t: [x for r in obs.activities if r.activity_type == t for x in attempt_times(r)] for t in failed_types}
    counted = counted_attempt_times(obs.attempt_scrapes, failed_types)
    attempts = [x for t in sorted(failed_types) for x in counted.get(t, from_history[t])]
    before = rate(attempts, load_start, start)
    peak, peak_at = peak_rate(attempts, start, end + burst_window, burst_window)
    history_attempts = [x for times in from_history.values() for x in times]
    history_before = rate(history_attempts, load_start, start)
    history_peak, _ = peak_rate(history_attempts, start, end + burst_window, burst_window)
    closed = [r.closed_at for r in hit if r.closed_at is not None]
    drain = None if len(closed) < len(hit) else max(0.0, max(closed) - end)
    calls = _calls_at_the_proxy(fault, sum(start <= t < end for t in attempts))
    measured = OutageMeasure(
        failed_types=sorted(failed_types), hit=len(hit), never_closed=len(hit) - len(closed), outage_s=end - start,
        before=before, peak=peak, storm=peak / before if before > 0 else None,
        amplification=sum(r.attempts for r in hit) / len(hit),
        failed_workflows=[w for w in obs.workflows if w.status in ("FAILED", "TIMED_OUT")], drain=drain,
        calls_per_attempt=calls.get("calls_per_attempt_during_fault"),
    )
    evidence = OutageEvidence(
        fault=base.fault,
        faulted_activity_types=measured.failed_types,
        outage_s=round(end - start, 1),
        attempts_per_s_before=round(before, 2),
        attempts_per_s_during=round(rate(attempts, start, end), 2),
        attempts_per_s_after=round(rate(attempts, end, obs.load.ended_at), 2),
        attempts_per_s_burst_after_restore=round(rate(attempts, end, end + burst_window), 2),
        peak_attempts_per_s=round(peak, 2),
        peak_at_s_into_outage=round(peak_at - start, 1),
        storm_factor=None if measured.storm is None else round(measured.storm, 2),
        activities_hit=len(hit),
        retry_amplification=round(measured.amplification, 2),
        workflows_failed=len(measured.failed_workflows),
        drain_after_restore_s=None if drain is None else round(drain, 1),
        peak_backlog_workflow_tasks=max((b.workflow for b in obs.backlog), default=None),
        peak_backlog_activity_tasks=max((b.activity for b in obs.backlog), default=None),
        attempt_times=_attempt_source(sorted(counted), sorted(failed_types - set(counted)), any(r.local for r in hit)),
        attempts_counted_by_workers=sum(len(v) for v in counted.values()) if counted else None,
        attempts_in_history=sum(r.attempts for r in obs.activities if r.activity_type in failed_types),
        storm_factor_from_history=round(history_peak / history_before, 2) if counted and history_before > 0 else None,
        **calls,
        attempts_per_second=_series(attempts, load_start, obs.load.ended_at + burst_window),
        fault_from_s=round(start - load_start, 1),
        fault_to_s=round(end - load_start, 1),
        **({"backlog": backlog_series(obs.backlog, load_start)} if obs.backlog else {}),
    )
    return evidence, measured, ("", "")


def _calls_at_the_proxy(fault: FaultRecord, attempts_during: int) -> dict[str, Any]:
    """Under a reset or a black hole every connection is killed, so each call the app makes opens a new one and the
    proxy's count of connections is the count of calls that reached the dependency; more calls than attempts means
    the activity (its HTTP client, a retry decorator) retries inside each attempt, unseen by Temporal."""
    calls = fault.evidence.get("connections_during_fault")
    if fault.kind not in ("network:reset_peer", "network:timeout") or calls is None:
        return {}
    per_attempt = round(calls / attempts_during, 2) if attempts_during else None
    return {"calls_at_the_dependency_during_fault": calls, "calls_per_attempt_during_fault": per_attempt}


def _attempt_source(counted: list[str], reconstructed: list[str], local: bool) -> str:
    parts = []
    if counted:
        parts.append(f"{', '.join(counted)}: counted every second where they ran, by the workers' {attempt_counters.COUNTED_BY}")
    if reconstructed:
        parts.append(
            f"{', '.join(reconstructed)}: reconstructed from each activity's last attempt and its retry policy (failed attempts "
            "assumed short)" + ("; local activities: exact attempt counts from their markers, spread by the policy their code "
                                "writes" if local else "") + " (no worker counted their attempts)"
        )
    return "; ".join(parts)


def outage_problems(m: OutageMeasure, thresholds: OutageThresholds) -> list[str]:
    problems = []
    if m.storm is not None and m.storm > thresholds.max_storm_factor:
        problems.append(f"attempts peaked at {m.storm:.1f}x the normal rate (limit {thresholds.max_storm_factor:g}x)")
    if m.amplification > thresholds.max_amplification:
        problems.append(f"{m.amplification:.1f} attempts per activity hit by the outage (limit {thresholds.max_amplification:g})")
    if len(m.failed_workflows) > thresholds.max_failed_workflows:
        problems.append(f"{len(m.failed_workflows)} workflows failed (limit {thresholds.max_failed_workflows})")
    if m.calls_per_attempt is not None and m.calls_per_attempt > thresholds.max_calls_per_attempt:
        problems.append(
            f"{m.calls_per_attempt:.1f} calls reached the dependency per attempt (limit {thresholds.max_calls_per_attempt:g}): "
            "the activity retries inside each attempt, on top of Temporal's retries"
        )
    if m.drain is None:
        problems.append(f"{m.never_closed} activities hit by the outage never completed")
    elif m.drain > thresholds.max_drain:
        problems.append(f"recovery took {m.drain:.0f}s after restore (limit {thresholds.max_drain:g}s)")
    return problems


def retry_outage(obs: LoadObservations, spec: RetryOutageScenario, config: ReadinessConfig) -> CheckResult:
    thresholds = spec.thresholds
    evidence, m, (no_data, fix) = measure_outage(obs, thresholds.burst_window)
    if m is None:
        return _result(OUTAGE_ID, obs.scenario, Status.NO_DATA, no_data, evidence.dump(), fix)
    if m.storm is None:
        return _result(
            OUTAGE_ID, obs.scenario, Status.NO_DATA, "No attempts were measured before the outage, so there is no baseline to compare.",
            evidence.dump(), "Lengthen `baseline` so steady load is measured before the fault.",
        )
    problems = outage_problems(m, thresholds)
    figures = (
        f"{m.hit} activities ({', '.join(m.failed_types)}) hit by a {m.outage_s:.0f}s outage: "
        f"{m.before:.1f} attempts/s before, peak {m.peak:.1f}/s ({m.storm:.1f}x), {m.amplification:.1f} attempts each, "
        f"{len(m.failed_workflows)} workflows failed, recovered {'never' if m.drain is None else f'{m.drain:.0f}s'} after restore"
    )
    if problems:
        failed = [{"workflow_id": w.workflow_id, "message": (w.failure_message or "")[:200]} for w in m.failed_workflows[:10]]
        return _result(
            OUTAGE_ID, obs.scenario, Status.FAIL, f"{figures}: {'; '.join(problems)}.",
            evidence.dump() | {"failed_workflows": failed},
            "Back off harder so retries thin out while the dependency is down (a longer initial_interval and a backoff_coefficient "
            "of 2-3 with maximum_interval of a minute or more), bound retries with a schedule_to_close_timeout that outlasts the "
            "outages you expect, and cap the calls to a fragile dependency (a dedicated task queue with "
            "max_task_queue_activities_per_second). Leave retrying to Temporal: no retry loop, decorator or HTTP-client "
            "retries inside the activity, which multiply every attempt the policy makes.",
            activity_types=m.failed_types,
        )
    return _result(OUTAGE_ID, obs.scenario, Status.PASS, figures + ".", evidence.dump())


def _series(times: list[float], start: float, end: float) -> list[AttemptsInSecond]:
    """Attempts per whole second since the load started, for charts."""
    buckets = [0] * max(0, int(end - start) + 1)
    for t in times:
        if start <= t < end:
            buckets[int(t - start)] += 1
    return [AttemptsInSecond(t=i, attempts=n) for i, n in enumerate(buckets)]


def backlog_series(samples: Sequence[BacklogSample], start: float, limit: int = MAX_BACKLOG_ROWS) -> list[BacklogPoint]:
    """Backlog samples as seconds since the load started; more than `limit` samples are merged in runs, keeping
    each run's highest backlog so a peak is never averaged away."""
    ordered = sorted(samples, key=lambda s: s.at)
    size = math.ceil(len(ordered) / limit) if ordered else 1
    rows = []
    for i in range(0, len(ordered), size):
        group = ordered[i:i + size]
        rows.append(BacklogPoint(t=round(group[0].at - start, 1), workflow=max(s.workflow for s in group), activity=max(s.activity for s in group)))
    return rows


def non_retryable(obs: NonRetryableObservations, spec: object, config: ReadinessConfig) -> CheckResult:
    rows = [
        {"error_type": c.error_type, "workflow_id": c.workflow_id, "attempts": c.attempts, "outcome": c.outcome,
         "retry_state": c.retry_state, "history": c.history_file or ""}
        for c in obs.cases
    ]
    evidence = {"activity": obs.activity, "injections": obs.injections, "cases": rows}
    result = lambda status, summary, fix="": _result(  # noqa: E731
        NON_RETRYABLE_ID, obs.scenario, status, summary, evidence, fix, activity_types=[obs.activity]
    )
    retried = [c for c in obs.cases if c.attempts > 1]
    if retried:
        types = sorted({c.error_type for c in retried})
        return result(
            Status.FAIL,
            f"{obs.activity} retried business errors it can never recover from: {', '.join(types)} "
            f"(up to {max(c.attempts for c in retried)} attempts).",
            f"Add {', '.join(types)} to the retry policy's non_retryable_error_types for {obs.activity} (or raise them with "
            "ApplicationError(non_retryable=True)), so the workflow learns at once instead of burning its retry budget.",
        )
    if obs.injections == 0 or not obs.cases or any(c.attempts == 0 for c in obs.cases):
        return result(
            Status.NO_DATA, f"The business error was not raised in every workflow: {obs.activity} did not run in some of them.",
            f"Check that the workload's workflow calls {obs.activity} and that its workers are Python workers started by the harness.",
        )
    types = sorted({c.error_type for c in obs.cases})
    return result(Status.PASS, f"{obs.activity} failed on attempt 1 for every business error ({', '.join(types)}), in {len(rows)} workflows.")
