"""deploy.versioning: a Worker Versioning rollout judged stage by stage. The current and the next version run side by
side as two versions of one worker deployment; each ramp stage compares them (non-determinism, failures, workflow-task
schedule-to-start p99, end-to-end latency) and a stage where the next version regresses is rolled back. FAIL when the
next version regressed (with proof of what the rollback kept safe) or when a pinned workflow did not complete on the
current version; PASS when every stage held and the next version was promoted."""

from __future__ import annotations

from dataclasses import dataclass

from harness.config.models import ReadinessConfig
from harness.config.types import Duration, Strict
from harness.observe.figures import percentile
from harness.observe.model import VersionedRun, VersioningObservations
from harness.scorecard.model import CheckResult, Status, subjects

CHECK_ID = "deploy.versioning"
FAILURE_MODE = "workflows break on replay after a deploy"
REMEDIATION = (
    "The next version regressed under the ramp (see the stage that failed): running workflows that auto-upgraded to it "
    "broke. Guard the change with `workflow.patched(...)` (each problem shows the recorded and the issued command), or "
    "ship it with the workflows pinned (`VersioningBehavior.PINNED`) so running ones finish on the version they started "
    "on; then rehearse the ramp again."
)


class VersioningThresholds(Strict):
    max_nondeterminism: int = 0
    max_failed: int = 0
    workflow_task_p99: Duration = 2.0


@dataclass(frozen=True)
class VersionFigures:
    build_id: str
    workflows: int
    nondeterminism: int
    failed: int
    workflow_task_p99_s: float | None
    latency_p50_s: float | None

    def row(self) -> dict:
        return {"version": self.build_id, "workflows": self.workflows, "nondeterminism": self.nondeterminism, "failed": self.failed,
                "workflow_task_p99_s": self.workflow_task_p99_s, "latency_p50_s": self.latency_p50_s}


def figures(runs: tuple[VersionedRun, ...], build_id: str) -> VersionFigures:
    mine = [r for r in runs if build_id in r.versions]
    waits = [seconds for r in runs for b, seconds in r.task_waits if b == build_id]
    last_on_it = [r for r in mine if r.versions[-1] == build_id]
    p99, p50 = percentile(waits, 99), percentile([r.latency_s for r in last_on_it if r.latency_s is not None], 50)
    return VersionFigures(
        build_id, len(mine), sum(build_id in r.nondeterminism_on for r in runs),
        sum(r.status == "FAILED" for r in last_on_it),
        round(p99, 3) if p99 is not None else None, round(p50, 3) if p50 is not None else None,
    )


def regressions(runs: tuple[VersionedRun, ...], next_build: str, limits: VersioningThresholds) -> list[str]:
    """Why the next version fails this stage (empty: it holds)."""
    found = figures(runs, next_build)
    why = []
    if found.nondeterminism > limits.max_nondeterminism:
        why.append(f"{found.nondeterminism} workflows failed on non-determinism on {next_build}")
    if found.failed > limits.max_failed:
        why.append(f"{found.failed} workflows failed on {next_build}")
    if found.workflow_task_p99_s is not None and found.workflow_task_p99_s > limits.workflow_task_p99:
        why.append(f"workflow-task schedule-to-start p99 {found.workflow_task_p99_s:g} s on {next_build} (limit {limits.workflow_task_p99:g} s)")
    return why


def versioning(obs: VersioningObservations, spec, config: ReadinessConfig) -> CheckResult:
    limits: VersioningThresholds = spec.thresholds
    stages = []
    for stage in obs.stages:
        why = regressions(stage.runs, obs.next, limits)
        stages.append({
            "ramp": f"{stage.percent}%", "seconds": stage.duration_s, "verdict": "REGRESSED" if why else "held",
            "why": "; ".join(why), "versions": [figures(stage.runs, b).row() for b in (obs.current, obs.next)],
        })
    pinned = [r for r in obs.final if r.group == "pinned"]
    pinned_off = [r.workflow_id for r in pinned if r.status != "COMPLETED" or set(r.versions) != {obs.current}]
    broken = [r for r in obs.final if r.nondeterminism_on]
    moved = [r for r in obs.final if r.versions[:1] == (obs.current,) and obs.next in r.versions and r.status == "COMPLETED"]
    evidence = {
        "deployment": obs.deployment, "current": obs.current, "next": obs.next, "version": obs.version,
        "stages": stages, "rolled_back": obs.rolled_back, "promoted": obs.promoted,
        "side_by_side": [figures(obs.final, b).row() for b in (obs.current, obs.next)],
        "pinned_workflows": len(pinned), "pinned_completed_on_current": len(pinned) - len(pinned_off),
        "moved_to_next_and_completed": len(moved),
        "final_status": {s: sum(r.status == s for r in obs.final) for s in sorted({r.status for r in obs.final})},
        "problems": [
            {"workflow_id": r.workflow_id, "group": r.group, "status": r.status, "versions": list(r.versions),
             **({k: obs.explanations[r.workflow_id][k] for k in ("recorded", "issued", "guard")} if r.workflow_id in obs.explanations else {}),
             **({"history": r.history_file} if r.history_file else {})}
            for r in broken
        ],
    }

    def result(status: Status, summary: str, remediation: str = "", failing: list[str] | None = None) -> CheckResult:
        return CheckResult(id=CHECK_ID, scenario=obs.scenario, failure_mode=FAILURE_MODE, status=status, summary=summary,
                           evidence=evidence, remediation=remediation, subjects=failing or [])

    ramps = " -> ".join(s["ramp"] for s in stages)
    if pinned_off:
        return result(Status.FAIL, f"{len(pinned_off)} of {len(pinned)} workflows pinned to {obs.current} did not complete on it "
                      f"({', '.join(pinned_off[:5])}): pinning did not protect them through the ramp {ramps}.", REMEDIATION)
    failed_stage = next((s for s in stages if s["verdict"] == "REGRESSED"), None)
    if failed_stage:
        rollback = "rolled back" if obs.rolled_back else "NOT rolled back"
        recovered = [r for r in broken if r.status == "COMPLETED" and r.versions[-1] == obs.current]
        evidence["recovered_on_current_after_rollback"] = len(recovered)
        return result(
            Status.FAIL,
            f"{obs.next} regressed at {failed_stage['ramp']} ({failed_stage['why']}) and was {rollback}: "
            f"{len(recovered)} of the {len(broken)} workflows it broke went back to {obs.current} and completed, and all "
            f"{len(pinned)} workflows pinned to {obs.current} completed on it.",
            REMEDIATION, subjects(workflow_types=[r.workflow_type for r in broken]),
        )
    if not obs.promoted or not stages:
        return result(Status.NO_DATA, "The ramp did not run to the end, so the next version was not judged.")
    after = regressions(obs.final, obs.next, limits)
    unfinished = [r.workflow_id for r in obs.final if r.status != "COMPLETED"]
    if after or unfinished:  # what woke up on the next version after the last stage's snapshot
        why = "; ".join(after) or f"{len(unfinished)} workflows did not complete ({', '.join(unfinished[:5])})"
        return result(Status.FAIL, f"{obs.next} held at every stage of the ramp {ramps} and was promoted, but after the last "
                      f"stage: {why}.", REMEDIATION, subjects(workflow_types=[r.workflow_type for r in broken]))
    if not moved:
        return result(Status.NO_DATA, f"No workflow started on {obs.current} moved to {obs.next} during the ramp {ramps}, so the "
                      "next version never replayed a running workflow's history.",
                      "Give the workflows longer work (a timer in the workload inputs) or raise `auto_upgrade`.")
    return result(
        Status.PASS,
        f"{obs.next} held at every stage of the ramp {ramps}: {len(moved)} workflows started on {obs.current} moved to it "
        f"and completed, no non-determinism, no failure; it was promoted, and all {len(pinned)} workflows pinned to "
        f"{obs.current} completed on it.",
    )
