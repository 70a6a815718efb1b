"""non-retryable: raise each business error in an activity; it must fail on attempt 1, not burn retries."""

from __future__ import annotations

import asyncio

from temporalio.client import WorkflowExecutionStatus

from harness.config.scenarios import NonRetryableScenario
from harness.errors import ConfigError
from harness.faults.activity import ActivityFault
from harness.observe.model import NonRetryableCase, NonRetryableObservations
from harness.scenarios import load_common
from harness.scenarios.base import WORKFLOWS_FAILING, ScenarioContext, metric_window
from harness.workload import start_workflows

POLL_INTERVAL_S = 0.5


async def _watch(ctx: ScenarioContext, ids: list[str], activity: str, timeout: float) -> dict[str, int]:
    """Poll until each workflow has closed or is seen retrying `activity`; returns {workflow id: attempt} of those
    still retrying (the attempt the server is on)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    retrying: dict[str, int] = {}
    pending = list(ids)
    while pending and loop.time() < deadline:
        descriptions = await load_common.bounded(ctx.client.get_workflow_handle(w).describe() for w in pending)
        pending = []
        for d in descriptions:
            if d.status != WorkflowExecutionStatus.RUNNING:
                continue
            attempts = [p.attempt for p in d.raw_description.pending_activities if p.activity_type.name == activity]
            if attempts and max(attempts) >= 2:
                retrying[d.id] = max(attempts)
            else:
                pending.append(d.id)
        if pending:
            await asyncio.sleep(POLL_INTERVAL_S)
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
            async with metric_window(ctx, name, "fault", described, WORKFLOWS_FAILING), \
                    ctx.faults.injected([ActivityFault(activity=scenario.activity, error_type=error_type)]):
                ids = await start_workflows(ctx.client, config.workload, config.task_queue, f"{ctx.run_tag}-{name}-e{index}", scenario.workflows)
                found = await _watch(ctx, ids, scenario.activity, scenario.timeout)
            await load_common.terminate(ctx.client, list(found), f"readiness scenario {name}: retried a business error")
            started.update(dict.fromkeys(ids, error_type))
            retrying.update(found)
            step.detail.update(retried=len(found))
    with journal.step("collect histories", name) as step:
        records, activities, _ = await load_common.collect(ctx, list(started))
        step.detail["histories"] = len(records)
    history_files = {r.workflow_id: r.history_file for r in records}
    cases = []
    for workflow_id, error_type in started.items():
        mine = [a for a in activities if a.workflow_id == workflow_id and a.activity_type == scenario.activity]
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
