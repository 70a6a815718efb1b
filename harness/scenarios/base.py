"""What a scenario gets from the runner: the client, the worker supervisor, the journal and the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client

from harness.dependencies import Dependencies
from harness.faults.activity import ActivityFaultSwitch
from harness.journal import Journal
from harness.observe.recorder import MetricRecorder
from harness.plan import RunPlan
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
