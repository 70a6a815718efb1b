"""non-retryable: raise each business error in an activity; it must fail on attempt 1, not burn retries."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from temporalio.client import WorkflowExecutionStatus

from harness.checks import retry
from harness.config.references import References
from harness.config.scenarios import StartsItsOwnWorkflows
from harness.config.types import Duration
from harness.errors import ConfigError
from harness.faults.activity import ActivityFault
from harness.observe import activities
from harness.observe.model import NonRetryableCase, NonRetryableObservations
from harness.scenarios import steps
from harness.scenarios.base import ScenarioContext
from harness.scenarios.kind import ScenarioCheck, ScenarioKind


class NonRetryableScenario(StartsItsOwnWorkflows):
    """Raise each declared business error in an activity: it must fail on attempt 1, not burn retries."""

    kind: Literal["non_retryable"]
    activity: str = Field(min_length=1, description="Activity type that raises the business error.")
    error_types: list[str] = Field(
        default_factory=list, description="Business error types to raise; default: the config's `retry.business_errors`."
    )
    workflows: int = Field(2, ge=1, le=100, description="Workflows started per error type.")
    timeout: Duration = Field(30.0, gt=0, description="How long to wait for the activity to fail or retry.")


def validate(scenario: NonRetryableScenario, refs: References) -> None:
    if not (scenario.error_types or refs.config.retry.business_errors):
        refs.fail("error_types", "no business error types to raise: list them here or under `retry.business_errors` in the config")


async def _watch(ctx: ScenarioContext, ids: list[str], activity: str, timeout: float) -> dict[str, int]:
    """Poll until each workflow has closed or is seen retrying `activity`; returns {workflow id: attempt} of those
    still retrying (the attempt the server is on)."""
    retrying: dict[str, int] = {}
    pending = list(ids)

    async def probe() -> list[str]:
        descriptions = await steps.bounded(ctx.client.get_workflow_handle(w).describe() for w in pending)
        pending.clear()
        for d in descriptions:
            if d.status != WorkflowExecutionStatus.RUNNING:
                continue
            attempts = [p.attempt for p in d.raw_description.pending_activities if p.activity_type.name == activity]
            if attempts and max(attempts) >= 2:
                retrying[d.id] = max(attempts)
            else:
                pending.append(d.id)
        return pending

    await steps.poll_until(probe, lambda left: not left, timeout=timeout)
    return retrying


async def run(ctx: ScenarioContext, scenario: NonRetryableScenario) -> NonRetryableObservations:
    name, journal, config = scenario.name, ctx.journal, ctx.plan.config
    if ctx.faults is None:
        raise ConfigError("activity faults need Python workers started by the harness", key_path="workers")
    error_types = scenario.error_types or config.retry.business_errors
    started: dict[str, str] = {}
    retrying: dict[str, int] = {}
    injections_before = sum(ctx.faults.injections().values())
    for index, error_type in enumerate(error_types):
        with journal.step(f"raise {error_type} in {scenario.activity}", name, workflows=scenario.workflows) as step:
            described = f"{error_type} raised in {scenario.activity}"
            async with steps.metric_window(ctx, name, "fault", described, steps.WORKFLOWS_FAILING), \
                    ctx.faults.injected([ActivityFault(activity=scenario.activity, error_type=error_type)]):
                ids = await steps.start_own_workflows(ctx, scenario, scenario.workflows, tag=f"-e{index}")
                found = await _watch(ctx, ids, scenario.activity, scenario.timeout)
            await steps.terminate(ctx.client, list(found), f"readiness scenario {name}: retried a business error")
            started.update(dict.fromkeys(ids, error_type))
            retrying.update(found)
            step.detail.update(retried=len(found))
    with journal.step("collect histories", name) as step:
        families, records = await steps.collect_families(ctx, list(started))  # the activity may run in a child workflow
        step.detail["histories"] = len(records)
    history_files = {r.workflow_id: r.history_file for r in reversed(records)}  # a workflow id's latest run wins
    cases = []
    for workflow_id, error_type in started.items():
        mine = [a for h in families[workflow_id] for a in activities.activities(h) if a.activity_type == scenario.activity]
        attempts = max([a.attempts for a in mine] + [retrying.get(workflow_id, 0)])
        last = mine[-1] if mine else None
        cases.append(NonRetryableCase(
            error_type=error_type, workflow_id=workflow_id, attempts=attempts,
            outcome="retrying" if workflow_id in retrying else (last.outcome if last else "not scheduled"),
            retry_state=last.retry_state if last else "", history_file=history_files.get(workflow_id),
        ))
    return NonRetryableObservations(
        scenario=name, activity=scenario.activity, cases=tuple(cases),
        injections=sum(ctx.faults.injections().values()) - injections_before, workflows=records,
    )


KIND = ScenarioKind(
    name="non_retryable",
    spec=NonRetryableScenario,
    run=run,
    checks=(ScenarioCheck(retry.NON_RETRYABLE_ID, retry.non_retryable),),
    effect="injects business errors into activities",
    validate=validate,
)
