"""What a scenario gets from the runner: the client, the worker supervisor, the journal and the plan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from harness.config.loader import RunPlan
from harness.journal import Journal
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
