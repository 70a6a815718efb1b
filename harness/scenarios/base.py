"""What a scenario gets from the runner: the client, the worker supervisor, the journal and the plan."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client

from harness import replay
from harness.config.loader import RunPlan
from harness.dependencies import Dependencies
from harness.faults.activity import ActivityFaultSwitch
from harness.journal import Journal
from harness.observe.model import ReplayOutcome, WorkflowRecord
from harness.observe.recorder import MetricRecorder
from harness.workers import WorkerSupervisor


@dataclass(frozen=True)
class ScenarioContext:
    client: Client
    supervisor: WorkerSupervisor
    plan: RunPlan
    journal: Journal
    out_dir: Path
    run_tag: str
    """Short id unique to this run, used in workflow ids."""
    dependencies: Dependencies = field(default_factory=Dependencies)
    faults: ActivityFaultSwitch | None = None
    """Turns activity faults on and off in every Python worker."""
    load_env: dict[str, str] = field(default_factory=dict)
    """Environment for load generators: where the target is (and its credentials)."""
    locust_workers: int = 0
    """Locust worker processes (0: Locust runs in one process)."""
    recorder: MetricRecorder | None = None
    """Scrapes the workers through baseline, fault and load windows (the series alerts.fire tests the rules on)."""

    def rates(self) -> tuple[float | None, float | None]:
        """(expected, peak) starts per second from the config's `load`, when declared."""
        load = self.plan.config.load
        return (load.expected_rate, load.peak_rate) if load else (None, None)


WORKERS_KILLED = ("pollers", "worker_down")
"""Alert categories (harness.alerts.catalog.CATEGORIES) that should fire when every worker is gone."""
ACTIVITIES_FAILING = ("activity_failures",)
WORKFLOWS_FAILING = ("workflow_failures",)


def metric_window(ctx: ScenarioContext, scenario: str, phase: str, description: str, expects: tuple[str, ...] = ()):
    """`async with` this around a baseline, fault or load phase to record the workers' metrics through it."""
    if ctx.recorder is None:
        return contextlib.nullcontext()
    return ctx.recorder.window(scenario, phase, description, expects)


async def replay_histories(ctx: ScenarioContext, name: str, records: tuple[WorkflowRecord, ...]) -> tuple[ReplayOutcome, ...]:
    """Replay the histories a scenario wrote against the Python workers' workflow code, in child processes that get
    a worker's environment; nothing to replay against when every worker is an external command."""
    python_workers = [w for w in ctx.plan.config.workers if w.python]
    if not python_workers:
        return ()
    return await replay.replay_files(
        {r.workflow_id: ctx.out_dir / r.history_file for r in records if r.history_file},
        sorted({p for w in python_workers for p in w.python.workflows}),
        env=ctx.supervisor.worker_env(python_workers[0]),
        cwd=ctx.plan.app_path,
        log_dir=ctx.out_dir / "logs" / f"replay-{name}",
        jobs=min(2, len(records)),
    )
