"""deploy: start workflows on the current code, wait until they are mid-flight, replace the workers by the new version
(rolling or all at once), and follow every in-flight workflow to its end on the new code. The old version is put back
afterwards, whatever happened, so the scenarios after this one run the config's code."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from temporalio.service import RPCError

from harness import code_versions
from harness.checks import deploy as deploy_check
from harness.config.models import WorkerConfig
from harness.config.references import References
from harness.config.scenarios import StartsItsOwnWorkflows
from harness.config.types import Duration, Strict
from harness.observe import metrics
from harness.observe.model import DeployObservations
from harness.scenarios import steps
from harness.scenarios.base import ScenarioContext
from harness.scenarios.kind import ScenarioCheck, ScenarioKind

NON_DETERMINISM = ("non_determinism",)


class NewVersion(Strict):
    """The code the workers are replaced by: other workers, another code root, a git ref, or a mix."""

    workers: list[WorkerConfig] | None = Field(
        None, min_length=1, description="The new version's workers (the shape of the config's `workers`); default: the config's."
    )
    app_path: str | None = Field(None, min_length=1, description="The new version's code root, relative to the config's `app.path`.")
    git_ref: str | None = Field(
        None, min_length=1, description="A commit, branch or tag of the app's git repository, checked out into a temporary "
        "worktree that is the new version's code root.",
    )

    @model_validator(mode="after")
    def _says_what_changes(self) -> NewVersion:
        if self.workers is None and self.app_path is None and self.git_ref is None:
            raise ValueError("give the new version: `workers`, `app_path` or `git_ref`")
        if self.app_path is not None and self.git_ref is not None:
            raise ValueError("give `app_path` or `git_ref`, not both")
        return self

    def label(self) -> str:
        parts = [f"git ref {self.git_ref}"] if self.git_ref else [f"app_path {self.app_path}"] if self.app_path else []
        if self.workers:
            parts.append("workflows " + ", ".join(p for w in self.workers if w.python for p in w.python.workflows))
        return "; ".join(p for p in parts if p) or "the new version"


class DeployScenario(StartsItsOwnWorkflows):
    """Workflows of the current version in flight while the workers are replaced by the new version."""

    kind: Literal["deploy"]
    to: NewVersion
    workflows: int = Field(6, ge=1, le=1000, description="How many workflows to start on the current version.")
    rollout: Literal["rolling", "all_at_once"] = Field(
        "rolling", description="rolling: new workers start and poll before old ones stop, `batch` at a time; "
        "all_at_once: every old worker stops, then the new ones start.",
    )
    batch: int = Field(1, ge=1, le=16, description="Workers replaced per step of a rolling deploy.")
    pause_between: Duration = Field(1.0, description="Pause between the steps of a rolling deploy.")
    mid_flight_timeout: Duration = Field(30.0, gt=0, description="How long to wait for every workflow to have made progress.")
    completion_timeout: Duration = Field(120.0, gt=0, description="Deadline for every workflow to close after the rollout.")


def validate_version(version: NewVersion, refs: References, key: str) -> None:
    """The new version's code root exists: its `app_path` folder, or its `git_ref` in the app's repository."""
    if version.app_path is not None and not (refs.app_path / version.app_path).is_dir():
        refs.fail(f"{key}.app_path", f"{refs.app_path / version.app_path} is not a folder")
    if version.git_ref is not None:
        code_versions.resolve_ref(refs.app_path, version.git_ref, file=str(refs.file), key_path=f"{key}.git_ref")


def validate(spec: DeployScenario, refs: References) -> None:
    validate_version(spec.to, refs, "to")


@contextlib.contextmanager
def new_code(app_path: Path, version: NewVersion) -> Iterator[Path]:
    if version.git_ref:
        with code_versions.checked_out(app_path, version.git_ref) as checked_out:
            yield checked_out
    else:
        yield (app_path / version.app_path).resolve() if version.app_path else app_path


async def run(ctx: ScenarioContext, scenario: DeployScenario) -> DeployObservations:
    journal, name, supervisor = ctx.journal, scenario.name, ctx.supervisor
    with journal.step("start workflows on the current version", name, count=scenario.workflows) as step:
        ids = await steps.start_own_workflows(ctx, scenario, scenario.workflows)
        step.detail["first"] = ids[0]
    with journal.step("wait until mid-flight", name, timeout_s=scenario.mid_flight_timeout) as step:
        async with steps.metric_window(ctx, name, "baseline", "workflows in flight on the current version"):
            progressed = await steps.wait_mid_flight(ctx, ids, scenario.mid_flight_timeout)
        in_flight = await steps.open_workflows(ctx.client, progressed)
        step.detail["running"] = len(in_flight)
    before, _ = await metrics.scrape(supervisor.metrics_endpoints(), phase="before_deploy")
    old_workers, old_path, old_identities = supervisor.configs, supervisor.app_path, [w.identity for w in supervisor.running]
    version = scenario.to.label()
    batch = scenario.batch if scenario.rollout == "rolling" else None
    loop = asyncio.get_running_loop()
    with new_code(ctx.plan.app_path, scenario.to) as new_path:
        try:
            described = f"deploy of {version} ({scenario.rollout.replace('_', ' ')}) until every workflow closed"
            async with steps.metric_window(ctx, name, "rollout", described, follow_targets=True) as window:
                with journal.step("roll the workers over to the new version", name, version=version, rollout=scenario.rollout) as step:
                    began = loop.time()
                    rolled = await supervisor.roll_to(scenario.to.workers or old_workers, new_path, batch, scenario.pause_between)
                    rollout_s = loop.time() - began
                    step.detail.update(steps=[{"started": list(s.started), "stopped": list(s.stopped)} for s in rolled])
                with journal.step("wait for workflows to close", name, timeout_s=scenario.completion_timeout) as step:
                    drained = await steps.drain(ctx, ids, scenario.completion_timeout)
                    step.detail.update(drained)
                with journal.step("collect histories and metrics", name) as step:
                    fetched, records = await steps.collect_histories(ctx, ids)
                    after, scrape_errors = await metrics.scrape(supervisor.metrics_endpoints(), phase="after")
                    step.detail.update(histories=len(records), scrape_errors=scrape_errors)
                broken = [r.workflow_id for r in records if any("NON_DETERMINISTIC" in f.cause for f in r.task_failures)]
                if broken and window is not None:  # the deploy broke workflows (stuck or not): a fault the NDE alert must page
                    window.phase, window.expects = "fault", NON_DETERMINISM
                    window.description = f"deploy of {version}: {len(broken)} workflows failed on non-determinism"
        finally:
            with journal.step("put the current version back", name) as step:
                try:
                    with contextlib.suppress(RPCError):
                        await steps.terminate(ctx.client, await steps.open_workflows(ctx.client, ids), f"readiness {name}: deploy over")
                finally:
                    await supervisor.roll_to(old_workers, old_path, batch=None)
                    step.detail["identities"] = [w.identity for w in supervisor.running]
    return DeployObservations(
        scenario=name, version=version, rollout=scenario.rollout, started=tuple(ids), in_flight_at_deploy=tuple(in_flight),
        steps=tuple(rolled), rollout_s=round(rollout_s, 2), new_identities=tuple(i for s in rolled for i in s.started),
        workflows=records, stuck=tuple(drained["stuck"]), explanations=steps.explain_stuck(fetched, records),
        metrics=before + after, drain_deadline_hit=drained["deadline_hit"], old_identities=tuple(old_identities),
    )


KIND = ScenarioKind(
    name="deploy",
    spec=DeployScenario,
    run=run,
    checks=(ScenarioCheck(deploy_check.CHECK_ID, deploy_check.deploy),),
    effect="starts workflows and replaces every worker by another version of the code",
    validate=validate,
)
