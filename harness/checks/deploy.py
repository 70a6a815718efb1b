"""determinism.deploy: did the workflows in flight on the current code survive the workers being replaced by the new
version? FAIL names each stuck or failed workflow, its history and, for a non-determinism failure, the command the
history recorded next to the one the new code issued and the `workflow.patched(...)` guard that makes the change safe.
PASS needs in-flight workflows of every type present to have crossed the deploy (a workflow task completed by a
worker of the new version)."""

from __future__ import annotations

from collections import defaultdict

from harness.checks.determinism import add_explanation
from harness.config.models import ReadinessConfig
from harness.observe import metrics
from harness.observe.model import DeployObservations, WorkflowRecord
from harness.replay.classify import short_message
from harness.scorecard.model import CheckResult, Status, subjects

CHECK_ID = "determinism.deploy"
FAILURE_MODE = "workflows break on replay after a deploy"
REMEDIATION = (
    "The new code issues other commands than the running workflows recorded: each problem shows the recorded command, "
    "the one the new code issued instead and the guard to add. Put the new path behind `if workflow.patched('change-id'):` "
    "and keep the old path in the `else` branch until every workflow started before the deploy has closed "
    "(`readiness patches` says when a patch can be retired), or ship the change as a new Worker Deployment Version with "
    "pinned workflows. Then run this scenario again."
)
REMEDIATION_FAILED = (
    "Workflows failed or never closed after the deploy: read each listed history; a new version must accept the inputs, "
    "signals and activity results of workflows started on the old one."
)


def _problem(record: WorkflowRecord, stuck: bool, explanation: dict | None) -> dict | None:
    nondeterministic = [f for f in record.task_failures if "NON_DETERMINISTIC" in f.cause]
    if record.status == "COMPLETED" and not stuck and not nondeterministic:
        return None
    row: dict = {"workflow_id": record.workflow_id, "workflow_type": record.workflow_type, "status": record.status}
    if nondeterministic and not stuck:  # e.g. the retry landed on an old worker still polling: the new code cannot run it
        row["problem"] = f"failed on non-determinism on {nondeterministic[0].identity}, then went on as {record.status}"
        row["error"] = short_message(nondeterministic[0].message)
    elif stuck:
        last = record.task_failures[-1] if record.task_failures else None
        row["problem"] = "stuck: its workflow task fails on the new code"
        row["error"] = short_message(last.message) if last else ""
    elif record.status == "RUNNING":
        row["problem"] = "still running at the completion deadline"
    else:
        row["problem"] = f"closed as {record.status}" + (f": {record.failure_message[:200]}" if record.failure_message else "")
    add_explanation(row, explanation)
    if record.history_file:
        row["history"] = record.history_file
    return row


def deploy(obs: DeployObservations, spec: object, config: ReadinessConfig) -> CheckResult:
    def result(status: Status, summary: str, remediation: str = "", failing: list[str] | None = None) -> CheckResult:
        return CheckResult(
            id=CHECK_ID, scenario=obs.scenario, failure_mode=FAILURE_MODE, status=status, summary=summary,
            evidence=evidence, remediation=remediation, subjects=failing or [],
        )

    records = {r.workflow_id: r for r in obs.workflows}
    new, old = set(obs.new_identities), set(obs.old_identities)

    def ran_on(workflow_id: str, identities: set[str]) -> bool:
        return bool(identities & set(getattr(records.get(workflow_id), "task_identities", ())))

    # crossed: the current version ran it before the rollout and the new one went on with it
    crossed = [w for w in obs.in_flight_at_deploy if ran_on(w, new) and (not old or ran_on(w, old))]
    by_type: dict[str, dict[str, int]] = defaultdict(lambda: {"started": 0, "in_flight_at_deploy": 0, "crossed": 0})
    for workflow_id in obs.started:
        row = by_type[records[workflow_id].workflow_type if workflow_id in records else "(no history)"]
        row["started"] += 1
        row["in_flight_at_deploy"] += workflow_id in obs.in_flight_at_deploy
        row["crossed"] += workflow_id in crossed
    problems = [
        row for w in obs.started if w in records
        and (row := _problem(records[w], w in obs.stuck, obs.explanations.get(w))) is not None
    ]
    evidence: dict = {
        "version": obs.version,
        "rollout": obs.rollout,
        "rollout_s": obs.rollout_s,
        "rollout_steps": [{"started": list(s.started), "stopped": list(s.stopped)} for s in obs.steps],
        "workflows_started": len(obs.started),
        "in_flight_at_deploy": len(obs.in_flight_at_deploy),
        "crossed_the_deploy": len(crossed),
        "completed": sum(r.status == "COMPLETED" for r in obs.workflows),
        "stuck": len(obs.stuck),
        "by_workflow_type": dict(sorted(by_type.items())),
        "nondeterminism_task_failures_metric": metrics.total(
            obs.metrics, "temporal_workflow_task_execution_failed", failure_reason="NonDeterminismError"
        ),
        "problems": problems,
    }
    if missing := len(obs.started) - len(records):
        return result(Status.ERROR, f"{missing} of {len(obs.started)} histories could not be collected after the deploy.")
    if problems:
        names = ", ".join(f"{p['workflow_id']} ({p['problem'].split(':')[0]})" for p in problems[:5])
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        first = next((p for p in problems if "new_code_issued" in p), None)
        divergence = (
            f" At {first['recorded']} the history recorded that command; the new code issued {first['new_code_issued']}."
            if first else f" First error: {problems[0].get('error') or problems[0]['problem']}"
        )
        return result(
            Status.FAIL,
            f"{len(problems)} of {len(obs.started)} workflows did not survive the deploy of {obs.version}: {names}{more}.{divergence}",
            REMEDIATION if obs.stuck else REMEDIATION_FAILED,
            subjects(workflow_types=[p["workflow_type"] for p in problems]),
        )
    not_crossed = sorted(t for t, row in by_type.items() if not row["crossed"])
    if not_crossed:
        return result(
            Status.NO_DATA,
            f"No in-flight workflow of {', '.join(not_crossed)} crossed the deploy (all closed before the rollout, or no new "
            "worker ran their next task), so the new code was not put under running workflows of every type.",
            "Give the workflows longer work (a timer or a wait for a signal in the workload inputs) or raise `workflows`.",
        )
    return result(
        Status.PASS,
        f"All {len(obs.started)} workflows completed across the {obs.rollout.replace('_', ' ')} deploy of {obs.version} "
        f"({obs.rollout_s:g} s, {len(obs.steps)} steps): {len(crossed)} were in flight and went on on the new code, "
        f"every type ({', '.join(sorted(by_type))}) among them.",
    )
