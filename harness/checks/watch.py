"""Failure modes of live traffic, read by `readiness watch` from a namespace (the first 48 hours after a launch):

- `watch.failure_rate`: a workflow type fails more often than the team accepts.
- `watch.latency`: a workflow type's end-to-end p99 (start to close of completed runs) is over its limit.
- `watch.stuck`: open workflows whose workflow task fails on every attempt: no worker can advance them.

Pure functions of `WatchObservations` and the config's `watch` thresholds. A window without workflows is NO_DATA;
a workflow type with fewer than `min_runs` closed (for latency: completed) runs is not judged.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from harness.config.models import WatchThresholds
from harness.scorecard.model import CheckResult, Status
from harness.watch.model import WatchObservations
from harness.watch.stats import NOT_COMPLETED, TypeCounts, duration_text, window_counts

FAILURE_RATE_ID, LATENCY_ID, STUCK_ID = "watch.failure_rate", "watch.latency", "watch.stuck"
CHECK_IDS = (FAILURE_RATE_ID, LATENCY_ID, STUCK_ID)
FAILURE_MODES = {
    FAILURE_RATE_ID: "workflows failing in production more often than accepted",
    LATENCY_ID: "workflows taking longer end to end than accepted",
    STUCK_ID: "workflows stuck on a workflow task that fails on every attempt",
}
MAX_STUCK_ROWS = 50
MAX_MESSAGE = 300


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="seconds")


def window_evidence(obs: WatchObservations) -> dict:
    return {
        "namespace": obs.namespace,
        "window": f"started in the last {duration_text(obs.since_s)} (since {_iso(obs.window_start)})",
        "listed": len(obs.runs),
        "matching": obs.matching,
        "limit": obs.limit,
        "limit_reached": obs.limit_reached,
        "counts": "exact per workflow type (CountWorkflowExecutions)" if obs.exact_counts else "from the listed runs",
    }


def _window_note(obs: WatchObservations) -> str:
    if not obs.limit_reached:
        return ""
    total = f"{obs.matching}" if obs.matching is not None else "more"
    covered = "counts are exact per type, latencies and samples" if obs.exact_counts else "these figures"
    return f" (--limit {obs.limit} cut the list: {total} workflows started in the window, {covered} cover the {len(obs.runs)} listed)"


def _result(check_id: str, status: Status, summary: str, evidence: dict, remediation: str = "", subjects: list[str] | None = None) -> CheckResult:
    return CheckResult(
        id=check_id, scenario="watch", failure_mode=FAILURE_MODES[check_id], status=status, summary=summary, evidence=evidence,
        remediation=remediation if status != Status.PASS else "", subjects=(subjects or []) if status == Status.FAIL else [],
    )


def _no_workflows(check_id: str, obs: WatchObservations) -> CheckResult:
    return _result(
        check_id, Status.NO_DATA,
        f"No workflow started in namespace {obs.namespace} in the last {duration_text(obs.since_s)}: nothing to judge.",
        window_evidence(obs), "Widen --since, or check the profile points at the namespace the app runs in.",
    )


def _overall(check_id: str, obs: WatchObservations, rows: list[dict], failing: dict[str, str], judged: str, problem: str,
             remediation: str, thresholds: WatchThresholds, evidence: dict) -> CheckResult:
    """FAIL when a type is over its limit (`failing`: type -> why); NO_DATA when no type had enough runs; WARN when
    some types could not be judged; PASS otherwise."""
    unjudged = [r["workflow_type"] for r in rows if r["status"] == Status.NO_DATA.value]
    note = _window_note(obs)
    if failing:
        reasons = [f"{name}: {why}" for name, why in failing.items()]
        return _result(check_id, Status.FAIL, f"{len(failing)} workflow type(s) {problem}: {'; '.join(reasons[:3])}{note}.", evidence,
                       remediation, [f"workflow_type:{name}" for name in failing])
    if len(unjudged) == len(rows):
        return _result(
            check_id, Status.NO_DATA,
            f"No workflow type had {thresholds.min_runs} {judged} runs in the window ({', '.join(unjudged)}): not judged{note}.", evidence,
            f"Widen --since until each type has {thresholds.min_runs} {judged} runs, or lower `watch.min_runs`.",
        )
    passed = [r["workflow_type"] for r in rows if r["status"] == Status.PASS.value]
    summary = f"{len(passed)} workflow type(s) within limits ({', '.join(passed)})"
    if unjudged:
        return _result(
            check_id, Status.WARN, f"{summary}; not judged, fewer than {thresholds.min_runs} {judged} runs: {', '.join(unjudged)}{note}.",
            evidence, f"Widen --since to judge {', '.join(unjudged)}, or lower `watch.min_runs`.",
        )
    return _result(check_id, Status.PASS, summary + note + ".", evidence)


def _classes(obs: WatchObservations, counts: TypeCounts) -> str:
    records = [r for r in obs.sampled if r.workflow_type == counts.workflow_type and r.status in NOT_COMPLETED]
    if not records:
        return "none" if not counts.not_completed else "not sampled"
    seen = Counter(f"{r.status} {r.failure_type or r.status.title()}" for r in records)
    return ", ".join(f"{name} x{n}" for name, n in seen.most_common()) + f" (in {len(records)} sampled of {counts.not_completed})"


def failure_rate(obs: WatchObservations, thresholds: WatchThresholds) -> CheckResult:
    if not obs.runs:
        return _no_workflows(FAILURE_RATE_ID, obs)
    rows, failing = [], {}
    for c in window_counts(obs):
        rate = c.failure_rate
        status = Status.NO_DATA if c.closed < thresholds.min_runs else Status.FAIL if rate > thresholds.max_failure_rate else Status.PASS
        rows.append({
            "workflow_type": c.workflow_type, "started": c.started, "completed": c.completed, "continued_as_new": c.continued_as_new,
            "failed": c.failed, "timed_out": c.timed_out, "terminated": c.terminated, "canceled": c.canceled, "open": c.open,
            "failure_rate": None if rate is None else round(rate, 4), "limit": thresholds.max_failure_rate,
            "failure_classes": _classes(obs, c), "status": status.value,
        })
        if status == Status.FAIL:
            failing[c.workflow_type] = (f"{c.not_completed} of {c.closed} closed runs did not complete ({rate:.1%}, limit "
                                        f"{thresholds.max_failure_rate:.1%})")
    evidence = {**window_evidence(obs), "max_failure_rate": thresholds.max_failure_rate, "min_runs": thresholds.min_runs, "workflow_types": rows}
    return _overall(
        FAILURE_RATE_ID, obs, rows, failing, "closed", "fail too often",
        "Read the failure classes (the workflow types table) and the sample histories under histories/: handle expected business "
        "outcomes in the workflow instead of failing it, fix the failing dependency or code, or loosen timeouts that are too tight.",
        thresholds, evidence,
    )


def latency(obs: WatchObservations, thresholds: WatchThresholds) -> CheckResult:
    if not obs.runs:
        return _no_workflows(LATENCY_ID, obs)
    rows, failing = [], {}
    for c in window_counts(obs):
        limit, p99 = thresholds.latency_limit(c.workflow_type), c.latency(99)
        status = Status.NO_DATA if len(c.latencies_s) < thresholds.min_runs else Status.FAIL if p99 > limit else Status.PASS
        rows.append({
            "workflow_type": c.workflow_type, "completed": len(c.latencies_s), "p50_s": c.latency(50), "p95_s": c.latency(95),
            "p99_s": p99, "max_s": None if not c.latencies_s else round(max(c.latencies_s), 3), "limit_p99_s": limit,
            "status": status.value,
        })
        if status == Status.FAIL:
            failing[c.workflow_type] = f"p99 {duration_text(p99)} over {len(c.latencies_s)} completed runs (limit {duration_text(limit)})"
    evidence = {**window_evidence(obs), "min_runs": thresholds.min_runs, "workflow_types": rows}
    return _overall(
        LATENCY_ID, obs, rows, failing, "completed", "take too long end to end",
        "Open a slow run's history and see where the time goes: tasks waiting for a worker (scale the workers), an activity "
        "retrying (fix the dependency or its retry policy), or timers by design (raise `watch.latency_p99` for that type).",
        thresholds, evidence,
    )


def stuck(obs: WatchObservations, thresholds: WatchThresholds) -> CheckResult:
    if not obs.runs:
        return _no_workflows(STUCK_ID, obs)
    per_type = Counter(s.workflow_type for s in obs.stuck)
    open_runs = sum(r.status == "RUNNING" for r in obs.runs)
    rows = [
        {
            "workflow_id": s.workflow_id, "run_id": s.run_id, "workflow_type": s.workflow_type, "task_attempt": s.task_attempt,
            "cause": s.cause, "message": " ".join(s.message.split())[:MAX_MESSAGE], "failing_since": _iso(s.failing_since),
            "history": s.history_file or "",
        }
        for s in sorted(obs.stuck, key=lambda s: (s.workflow_type, s.workflow_id))[:MAX_STUCK_ROWS]
    ]
    evidence = {
        **window_evidence(obs), "open": open_runs, "open_described": obs.open_described, "max_stuck": thresholds.max_stuck,
        "stuck": len(obs.stuck), "stuck_per_type": dict(sorted(per_type.items())), "stuck_workflows": rows,
    }
    note = _window_note(obs)
    over = sorted(t for t, n in per_type.items() if n > thresholds.max_stuck)
    remediation = (
        "The workflow task of each listed workflow fails on every attempt (a bug in workflow code, non-determinism after a "
        "deploy, a sandbox violation): it retries forever. Fix the code and deploy, or reset the workflow to before the "
        "failing task (`temporal workflow reset`); `readiness replay --from-cluster` reproduces it locally."
    )
    if over:
        first = rows[0] if rows else {}
        return _result(
            STUCK_ID, Status.FAIL,
            f"{len(obs.stuck)} open workflow(s) stuck on a failing workflow task ({', '.join(f'{t}: {per_type[t]}' for t in over)}; "
            f"limit {thresholds.max_stuck} per type), e.g. {first.get('workflow_id')}: {first.get('message')}{note}.",
            evidence, remediation, [f"workflow_type:{t}" for t in over],
        )
    if obs.stuck:
        return _result(
            STUCK_ID, Status.WARN,
            f"{len(obs.stuck)} open workflow(s) stuck on a failing workflow task, within the limit of {thresholds.max_stuck} per type{note}.",
            evidence, remediation,
        )
    summary = (f"None of the {open_runs} open workflows has a failing workflow task" if open_runs
               else "No workflow that started in the window is open: none can be stuck")
    return _result(STUCK_ID, Status.PASS, summary + note + ".", evidence)
