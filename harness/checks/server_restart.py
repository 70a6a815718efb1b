"""resilience.server_restart: the Temporal server SIGKILLed with workflows in flight and started again on the same
state. PASS when workflows were in flight at the kill, the server knew every one afterwards, every one completed and
every history replays."""

from __future__ import annotations

from harness.checks.families import family_note, history_file, latest_runs, replays_by_started, unreplayable
from harness.config.models import ReadinessConfig
from harness.observe.model import ServerRestartObservations
from harness.replay.classify import short_message
from harness.scorecard.model import CheckResult, Status, subjects

CHECK_ID = "resilience.server_restart"
FAILURE_MODE = "the Temporal server restarts under running workflows"
REMEDIATION = (
    "Workflows did not survive a restart of the Temporal server. A lost workflow means the server's persistence did not "
    "keep it (on a real cluster: check the database's durability settings); a failed one usually means a timeout shorter "
    "than the restart (a schedule-to-start or schedule-to-close timeout, a short workflow execution timeout)."
)


def server_restart(obs: ServerRestartObservations, spec: object, config: ReadinessConfig) -> CheckResult:
    records = latest_runs(obs.workflows)
    replay_errors = {w: r for w, r in replays_by_started(obs.replays, obs.family_of, records).items() if not r.ok}
    problems = [{"workflow_id": w, "problem": "lost: the server did not know it after the restart"} for w in obs.lost]
    for workflow_id, record in ((w, r) for w, r in records.items() if w not in obs.family_of):  # a child's fate is its parent's
        if record.status != "COMPLETED" or workflow_id in replay_errors:
            row = {"workflow_id": workflow_id, "problem": f"closed as {record.status}" if record.status != "COMPLETED" else "does not replay"}
            if workflow_id in replay_errors:
                row["replay_error"] = short_message(replay_errors[workflow_id].error_message or "")
            if history := (history_file(replay_errors[workflow_id], obs.workflows) if workflow_id in replay_errors else None) or record.history_file:
                row["history"] = history
            problems.append(row)
    evidence = {
        "workflows_started": len(obs.started), "running_at_kill": len(obs.running_at_kill), "lost": len(obs.lost),
        "completed": sum(w in records and records[w].status == "COMPLETED" for w in obs.started),
        "histories_collected": len(obs.workflows), "histories_replayed": len(obs.replays),
        "problems": problems,
    }

    def result(status: Status, summary: str, remediation: str = "", failing: list[str] | None = None) -> CheckResult:
        return CheckResult(id=CHECK_ID, scenario=obs.scenario, failure_mode=FAILURE_MODE, status=status, summary=summary,
                           evidence=evidence, remediation=remediation, subjects=failing or [])

    if problems:
        names = ", ".join(f"{p['workflow_id']} ({p['problem'].split(':')[0]})" for p in problems[:5])
        types = [records[p["workflow_id"]].workflow_type for p in problems if p["workflow_id"] in records]
        return result(Status.FAIL, f"{len(problems)} of {len(obs.started)} workflows did not survive the server restart: {names}.",
                      REMEDIATION, subjects(workflow_types=types))
    if not obs.running_at_kill:
        return result(Status.NO_DATA, f"All {len(obs.started)} workflows closed before the server was killed: nothing was in "
                      "flight across the restart.", "Give the workflows longer work (a timer in the workload inputs).")
    if len(obs.replays) < len(obs.workflows):
        return result(Status.NO_DATA, f"Only {len(obs.replays)} of {len(obs.workflows)} histories were replayed (replay needs the "
                      "Python workflow classes).")
    return result(
        Status.PASS,
        f"All {len(obs.started)} workflows ({len(obs.running_at_kill)} in flight at the kill) survived a SIGKILL of the Temporal "
        f"server and its restart on the same state: none lost, all completed, all {len(obs.replays)} histories replay"
        f"{family_note(obs.started, obs.workflows, unreplayable(obs.replays, obs.family_of))}.",
    )
