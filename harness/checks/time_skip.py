"""Failure mode: workflows that run for days meet worker restarts that a minutes-long staging test never sees.

`longrun_time_skip` reads the time-skip scenario's observations: every restart must have been confirmed and must
have caught workflows mid-wait, every workflow must end as the scenario expects (status, invariants over its
result and query answers, the optional `check` callable), and every history must replay against the worker's code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.checks.determinism import add_explanation
from harness.checks.families import family_note, history_file, latest_runs, replays_by_started, unreplayable
from harness.config.models import ReadinessConfig
from harness.config.scenarios import TimeSkipExpect
from harness.invariants import InvariantError, evaluate
from harness.observe.model import ReplayOutcome, WorkflowRecord
from harness.observe.time_skip import STUCK, TimeSkipObservations, WorkflowEnd
from harness.replay.classify import short_message
from harness.scorecard.model import CheckResult, Status

if TYPE_CHECKING:  # specs are read here, never built: their kinds' modules import this one
    from harness.scenarios.time_skip import TimeSkipScenario

CHECK_ID = "longrun.time_skip"
FAILURE_MODE = "workflows that run for days meet worker restarts a minutes-long staging test never sees"
DAY_S = 86400.0

REMEDIATION_NONDETERMINISM = (
    "A workflow that waits for days is resumed by a different worker process than the one that started it: anything "
    "its code read from process memory (a cache or module global filled by an activity, a client object, a counter) "
    "is gone, so replay takes another path than the history. Keep every decision in workflow state (fields set from "
    "activity results and signals), pass values the workflow needs as activity results, and guard intentional code "
    "changes with `workflow.patched()` so workflows already waiting keep their old path."
)
REMEDIATION_END_STATE = (
    "The workflows did not end as the scenario expects after the simulated days and restarts. Read each listed "
    "history (open it in the Temporal UI or replay it with `readiness replay`): check that timers are durable "
    "(`workflow.sleep`, not a loop of short waits), that signals arriving late in the wait change the state, and "
    "that every activity has a retry policy and timeouts that survive a crashed worker."
)


def _violations(end: WorkflowEnd, expect: TimeSkipExpect) -> list[str]:
    names = {"result": end.result, "queries": dict(end.queries), "workflow_status": end.status}
    found = []
    for source in expect.invariants:
        try:
            if not evaluate(source, names):
                found.append(f"invariant failed: {source}")
        except InvariantError as exc:
            found.append(f"invariant could not be evaluated: {exc}")
    return found


def _status_problem(end: WorkflowEnd, expect: TimeSkipExpect, stopped: bool) -> str:
    problem = f"status {end.status}, expected {expect.status}"
    if end.progress == STUCK:
        return problem + " (stuck: its workflow task keeps failing)"
    if end.status == "RUNNING" and stopped:
        return problem + " (workflow time stopped advancing when another workflow got stuck)"
    return problem


def _row(
    workflow_id: str, end: WorkflowEnd | None, record: WorkflowRecord | None, replay: ReplayOutcome | None,
    expect: TimeSkipExpect, stopped: bool, explanation: dict | None = None,
) -> dict | None:
    """The problems of one workflow as an evidence row, or None when it ended as expected and its history replays."""
    status = end.status if end else (record.status if record else "UNKNOWN")
    problems: list[str] = []
    if end is None:
        problems.append("end state was not read")
    elif status != expect.status:
        problems += [_status_problem(end, expect, stopped), *end.errors]
    else:
        problems += [*end.errors, *_violations(end, expect)]
    replay_failed = replay is not None and not replay.ok
    if replay_failed:
        problems.append("replay failed")
    if not problems:
        return None
    row = {"workflow_id": workflow_id, "status": status, "failed": "; ".join(problems)}
    if record and record.task_failures and status != expect.status:
        last = record.task_failures[-1]
        row["task_failure"] = f"{last.cause}: {short_message(last.message)}"
    if replay_failed:
        row["replay_error"] = replay.kind or replay.error_class or "error"
        row["message"] = short_message(replay.error_message or "")
    add_explanation(row, (replay.explanation if replay_failed else None) or explanation)
    if record and record.history_file:
        row["history"] = record.history_file
    return row


def _label(row: dict) -> str:
    if row.get("replay_error"):
        return row["replay_error"]
    return "nondeterminism" if "NON_DETERMINISTIC" in row.get("task_failure", "") else row["status"]


def measure_time_skip(obs: TimeSkipObservations, expect: TimeSkipExpect) -> tuple[dict, list[dict], set[str], list[str]]:
    """The evidence, the workflows that did not end as expected (rows), those open at a restart, and those a
    restarted worker went on with."""
    records = latest_runs(obs.workflows)
    ends = {e.workflow_id: e for e in obs.ends}
    replays = replays_by_started(obs.replays, obs.family_of, records)
    open_at_restart = {w for r in obs.restarts for w in r.open_workflows}
    restarted = {identity for r in obs.restarts for identity in r.restarted_identities}
    resumed = sorted(w for w in open_at_restart if restarted & set(getattr(records.get(w), "task_identities", ())))
    workflow_days = obs.workflow_time_s / DAY_S
    evidence: dict = {
        "workflows_started": len(obs.started),
        "workflow_days": round(workflow_days, 2),
        "wall_seconds": round(obs.wall_time_s, 1),
        "workflow_days_per_wall_minute": round(workflow_days / (obs.wall_time_s / 60), 1) if obs.wall_time_s > 0 else None,
        "restarts": len(obs.restarts),
        "workers_killed": sum(k.confirmed for r in obs.restarts for k in r.kills),
        "open_at_restart": len(open_at_restart),
        "resumed_by_restarted_workers": len(resumed),
        "reached_expected_status": sum(e.status == expect.status for e in obs.ends),
        "histories_replayed": len(obs.replays) - len(unreplayable(obs.replays, obs.family_of)),
        "replay_failures": sum(not r.ok for r in replays.values()),
        "timeline": [
            {"step": t.step, "workflow_day": round(t.workflow_time_s / DAY_S, 2), "wall_s": t.wall_s, **({"note": t.note} if t.note else {})}
            for t in obs.timeline
        ],
    }
    stopped = any(e.progress == STUCK for e in obs.ends)
    problems = [
        row for w in obs.started if (row := _row(w, ends.get(w), records.get(w), replays.get(w), expect, stopped, obs.explanations.get(w))) is not None
    ]
    for row in problems:  # a child's or an earlier run's replay failure: its own history
        if row.get("replay_error") and (failed := history_file(replays[row["workflow_id"]], obs.workflows)):
            row["history"] = failed
    return evidence, problems, open_at_restart, resumed


def longrun_time_skip(obs: TimeSkipObservations, spec: TimeSkipScenario, config: ReadinessConfig) -> CheckResult:
    expect = spec.expect

    def result(status: Status, summary: str, remediation: str = "") -> CheckResult:
        return CheckResult(
            id=CHECK_ID, scenario=obs.scenario, failure_mode=FAILURE_MODE, status=status,
            summary=summary, evidence=evidence, remediation=remediation,
        )

    evidence, problems, open_at_restart, resumed = measure_time_skip(obs, expect)
    kills = [k for r in obs.restarts for k in r.kills]
    workflow_days = obs.workflow_time_s / DAY_S
    if not obs.started:
        return result(Status.NO_DATA, "No workflow was started, so nothing ran for days.", "See journal.json and logs/ for why.")
    if not kills or not all(k.confirmed for k in kills):
        return result(
            Status.NO_DATA, "The worker restart was not confirmed (a worker did not die of SIGKILL), so the restart was not tested.",
            "Check the worker logs: a worker that had already exited cannot be restarted mid-wait.",
        )
    if not open_at_restart:
        return result(
            Status.NO_DATA, "No workflow was still waiting when the workers were restarted, so no restart hit a long wait.",
            "Move `restart_workers: true` earlier in the timeline, before the workflows' last timer.",
        )
    evidence["problems"] = problems
    if problems:
        nondeterministic = any(_label(p) == "nondeterminism" for p in problems)
        named = ", ".join(f"{p['workflow_id']} ({_label(p)})" for p in problems[:5])
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        explained = next((p for p in problems if p.get("message") or p.get("task_failure")), problems[0])
        first = explained.get("message") or explained.get("task_failure") or explained["failed"]
        return result(
            Status.FAIL,
            f"{len(problems)} of {len(obs.started)} workflows did not survive {workflow_days:.0f} days of workflow time with "
            f"{len(obs.restarts)} worker restart(s): {named}{more}. First error: {first[:240]}",
            REMEDIATION_NONDETERMINISM if nondeterministic else REMEDIATION_END_STATE,
        )
    if not resumed:
        return result(
            Status.NO_DATA, "No workflow task was completed by a restarted worker, so resuming after the restart was not exercised.",
            "Make sure the workflows still have timers or signals to handle after the `restart_workers` step.",
        )
    if len(obs.replays) < len(obs.workflows):
        return result(
            Status.NO_DATA, f"Only {len(obs.replays)} of {len(obs.workflows)} histories were replayed, so replay after the restart is unproven.",
            "List the workflow classes under `workers[].python.workflows` so histories can be replayed.",
        )
    return result(
        Status.PASS,
        f"All {len(obs.started)} workflows ran {workflow_days:.1f} days of workflow time in {obs.wall_time_s:.0f}s, survived "
        f"{len(obs.restarts)} restart(s) of every worker mid-wait ({len(resumed)} resumed by restarted workers), ended "
        f"{expect.status} with every invariant holding, and all {len(obs.replays)} histories replay"
        f"{family_note(obs.started, obs.workflows, unreplayable(obs.replays, obs.family_of))}.",
    )
