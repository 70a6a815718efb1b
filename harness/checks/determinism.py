"""Failure mode: workflows that break on replay after a worker restart (or a deploy).

`restart_replay` reads the worker-restart scenario's observations: the kill must have been confirmed and
must have hit workflows mid-flight, restarted workers must have picked them up, every workflow must
complete, and every history must replay against the worker's code.
"""

from __future__ import annotations

from harness.checks.families import family_note, history_file, latest_runs, replays_by_started, unreplayable
from harness.config.models import ReadinessConfig
from harness.observe import metrics
from harness.observe.model import RestartObservations, WorkflowRecord
from harness.replay.classify import short_message
from harness.scorecard.model import CheckResult, Status, subjects

CHECK_ID = "determinism.restart_replay"
FAILURE_MODE = "workflows break on replay after a worker restart or deploy"

REMEDIATION_NONDETERMINISM = (
    "Workflow code took a different path on replay than in the original run: something it read changed "
    "between the two (the wall clock, randomness, environment, a module-level global, a local file or "
    "database, a passed-through helper module, or the iteration order of a set, which changes with PYTHONHASHSEED "
    "between processes: iterate sorted(...) instead). Use workflow.now(), workflow.random() and workflow.uuid4() "
    "instead of time/datetime, "
    "random and uuid; move I/O and configuration reads into activities; guard intentional code changes with "
    "`if workflow.patched('change-id'):` so running workflows keep their old path."
)
REMEDIATION_FAILED = (
    "Workflows did not complete after the restart. Read the failure in each listed history; make activities "
    "idempotent and give them explicit retry policies and timeouts so a crash mid-activity is retried, not fatal."
)


def add_explanation(row: dict, explanation: dict | None) -> None:
    """A problem row gets, for a non-determinism failure, the recorded command, the one the new code issued and the guard."""
    if explanation:
        row["recorded"], row["new_code_issued"] = explanation["recorded"], explanation["issued"]
        row["recorded_commands"], row["guard"] = list(explanation["recorded_commands"]), explanation["guard"]


def _problem(
    record: WorkflowRecord | None, replay_error: tuple[str, str, str | None] | None, workflow_id: str, explanation: dict | None = None
) -> dict | None:
    """A row for a started workflow that did not survive, or None. `replay_error` is (kind, message, the history file
    that failed when it is not the workflow's latest run: a child's or an earlier run's)."""
    row: dict = {"workflow_id": workflow_id}
    if record is None:
        return {**row, "status": "UNKNOWN", "error_class": "MissingHistory", "message": "history was not collected"}
    row["status"] = record.status
    if replay_error:
        row["error_class"], row["message"] = replay_error[0], short_message(replay_error[1])
    elif record.task_failures:
        last = record.task_failures[-1]
        row["error_class"], row["message"] = last.cause, short_message(last.message)
    elif record.status == "FAILED":
        row["error_class"], row["message"] = "WorkflowFailed", record.failure_message or ""
    elif record.status == "RUNNING":
        row["error_class"], row["message"] = "DeadlineExceeded", "still running at the completion deadline"
    elif record.status != "COMPLETED":
        row["error_class"], row["message"] = record.status, f"workflow closed as {record.status}"
    if record.status == "COMPLETED" and not replay_error:
        return None
    add_explanation(row, explanation)
    if history := (replay_error[2] if replay_error else None) or record.history_file:
        row["history"] = history
    return row


def failing_workflow_types(problems: list[dict], records: dict[str, WorkflowRecord]) -> list[str]:
    """Subjects of a FAIL: the types of the workflows that did not survive; none when one has no history (its type
    is unknown, so only a waiver of the whole check can cover it)."""
    found = [records[p["workflow_id"]].workflow_type if p["workflow_id"] in records else "" for p in problems]
    return subjects(workflow_types=found) if all(found) else []


def measure_restart(obs: RestartObservations) -> tuple[dict, list[dict], list[str]]:
    """What the restart did: the evidence, the workflows that did not survive (rows), and the workflows running at the
    kill that a restarted worker went on with."""
    kills = [
        {"worker": k.worker, "pid": k.pid, "signal": k.signal, "returncode": k.returncode, "confirmed": k.confirmed}
        for k in obs.kills
    ]
    records = latest_runs(obs.workflows)
    replays = replays_by_started(obs.replays, obs.family_of, records)
    replay_errors = {
        w: (r.kind or r.error_class or "", r.error_message or "", history_file(r, obs.workflows)) for w, r in replays.items() if not r.ok
    }
    unjudged = unreplayable(obs.replays, obs.family_of)
    restarted = set(obs.restarted_identities)
    resumed = [w for w in obs.running_at_kill if restarted & set(getattr(records.get(w), "task_identities", ()))]
    evidence = {
        "workflows_started": len(obs.started),
        "running_at_kill": len(obs.running_at_kill),
        "workers_killed": sum(k["confirmed"] for k in kills),
        "resumed_by_restarted_workers": len(resumed),
        "completed": sum(w in records and records[w].status == "COMPLETED" for w in obs.started),
        "histories_collected": len(obs.workflows),
        "histories_replayed": len(obs.replays) - len(unjudged),
        "histories_not_judged": [{"workflow_id": o.workflow_id, "workflow_type": o.workflow_type} for o in unjudged],
        "replay_failures": len(replay_errors),
        "nondeterminism_task_failures_metric": metrics.total(
            obs.metrics, "temporal_workflow_task_execution_failed", failure_reason="NonDeterminismError"
        ),
        "kills": kills,
    }
    if obs.live_replays:
        evidence["replayed_on_restarted_workers"] = sum(not r.error for r in obs.live_replays)
        evidence["live_replay_errors"] = [{"workflow_id": r.workflow_id, "error": short_message(r.error)} for r in obs.live_replays if r.error]
    live_errors = {r.workflow_id: ("nondeterminism", r.error, None) for r in obs.live_replays if r.nondeterministic}
    # a replay failure's explanation describes the history its message names (perhaps a child's or an earlier run's)
    explanations = {**obs.explanations, **{w: r.explanation for w, r in replays.items() if r.explanation and not r.ok}}
    problems = [
        row for wid in obs.started
        if (row := _problem(records.get(wid), replay_errors.get(wid) or live_errors.get(wid), wid, explanations.get(wid))) is not None
    ]
    return evidence, problems, resumed


SHORT_WORKFLOWS_NOTE = (
    "Not exercised: a workflow resuming mid-flight on a restarted worker (give the workflows a timer, e.g. in the "
    "workload inputs, to see it)."
)


def _closed_before_kill(obs: RestartObservations, evidence: dict, result) -> CheckResult:
    """Every workflow closed before the kill (millisecond workflows): what the restart could still exercise is the
    restarted workers replaying the recorded histories from scratch, and the offline replay."""
    replayed = evidence.get("replayed_on_restarted_workers", 0)
    evidence["exercised"] = [
        f"{replayed} of {len(obs.started)} closed histories replayed by the restarted workers (cold cache, via a query)",
        f"{len(obs.replays)} of {len(obs.workflows)} histories replayed offline",
    ]
    evidence["not_exercised"] = ["a workflow resuming mid-flight on a restarted worker"]
    if replayed < len(obs.started) or len(obs.replays) < len(obs.workflows):
        errors = evidence.get("live_replay_errors") or [{"error": "the Python workflow classes are needed to replay offline"}]
        return result(
            Status.NO_DATA,
            f"No workflow was mid-flight when the workers were killed, and only {replayed} of {len(obs.started)} closed "
            f"workflows could be replayed on the restarted workers and {len(obs.replays)} offline ({errors[0]['error'][:160]}).",
            evidence,
            "Give the workflows longer work (e.g. a longer timer in the workload inputs) or raise `workflows`.",
        )
    return result(
        Status.PASS,
        f"No workflow was mid-flight at the kill: all {len(obs.started)} closed before it. After {evidence['workers_killed']} "
        f"worker(s) were killed with {obs.kills[0].signal} and restarted, the restarted workers replayed all {replayed} "
        f"histories from scratch and all {len(obs.replays)} replay offline. {SHORT_WORKFLOWS_NOTE}",
        evidence,
    )


def restart_replay(obs: RestartObservations, spec: object, config: ReadinessConfig) -> CheckResult:
    def result(status: Status, summary: str, evidence: dict, remediation: str = "", failing: list[str] | None = None) -> CheckResult:
        return CheckResult(
            id=CHECK_ID, scenario=obs.scenario, failure_mode=FAILURE_MODE, status=status,
            summary=summary, evidence=evidence, remediation=remediation, subjects=failing or [],
        )

    evidence, problems, resumed = measure_restart(obs)
    if not obs.kills or not all(k.confirmed for k in obs.kills):
        return result(
            Status.NO_DATA,
            "The worker kill was not confirmed, so nothing shows how workflows survive a crash.",
            evidence,
            "Check the journal and the worker logs: a worker that ignores the signal or has already exited cannot be tested.",
        )
    evidence["problems"] = problems
    if not obs.running_at_kill and not problems:
        return _closed_before_kill(obs, evidence, result)
    if problems:
        nondeterministic = any(
            "nondetermin" in (p.get("error_class", "") + p.get("message", "")).lower() for p in problems
        )
        names = ", ".join(f"{p['workflow_id']} ({p['error_class']})" for p in problems[:5])
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        return result(
            Status.FAIL,
            f"{len(problems)} of {len(obs.started)} workflows did not survive the restart: {names}{more}. "
            f"First error: {problems[0]['message'][:240]}",
            evidence,
            REMEDIATION_NONDETERMINISM if nondeterministic else REMEDIATION_FAILED,
            failing_workflow_types(problems, latest_runs(obs.workflows)),
        )
    if not resumed:
        return result(
            Status.NO_DATA,
            "No workflow task was processed by a restarted worker, so replay after the restart was not exercised.",
            evidence,
            "Make sure the restarted workers poll the same task queue and that workflows still have work after the kill.",
        )
    if len(obs.replays) < len(obs.workflows):
        return result(
            Status.NO_DATA,
            f"Only {len(obs.replays)} of {len(obs.workflows)} histories were replayed (replay needs the Python workflow classes).",
            evidence,
            "List the workflow classes under `workers[].python.workflows` so histories can be replayed.",
        )
    return result(
        Status.PASS,
        f"All {len(obs.started)} workflows completed after {evidence['workers_killed']} worker(s) were killed with "
        f"{obs.kills[0].signal} mid-flight ({len(resumed)} resumed by restarted workers) and all "
        f"{len(obs.replays)} histories replay{family_note(obs.started, obs.workflows, unreplayable(obs.replays, obs.family_of))}.",
        evidence,
    )
