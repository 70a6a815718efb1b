"""Where a command points: an environment profile from the config's `profiles`, or a built-in one.

Built-ins exist without being declared (a config may declare them to override their values):
`local`, the config's `target` (an embedded dev server by default), and `compose`, the stack in docker-compose.yml
(Temporal on 127.0.0.1:7233, and a Prometheus in a container that scrapes the workers).

A profile holds references to its secrets (`{env: NAME}`, `{file: PATH}`), never the secrets: they are read when a
command uses the profile and handed to the SDK as the TEMPORAL_* variables its envconfig reads, so workers, Locust and
the harness's own client connect with the same settings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from temporalio.client import Client

from harness import server
from harness.config.models import BUILT_IN_PROFILES, ExistingTarget, ProfileDifferences, ReadinessConfig, SecretRef, TlsSettings
from harness.errors import ConfigError

LOCAL, COMPOSE = BUILT_IN_PROFILES
DEFAULT_NAMESPACE = "default"

READ_ONLY_COMMANDS = (
    "readiness replay --from-cluster",
    "readiness audit-histories --from-cluster",
    "readiness patches --from-cluster",
    "readiness watch (with the alert lint and the retry-policy audit)",
    "readiness parity",
)


@dataclass(frozen=True)
class Profile:
    name: str
    address: str | None = None
    """Temporal frontend; None: the config's embedded target (the `local` profile)."""
    namespace: str | None = None
    protected: bool = False
    """Scenarios are refused here; only read-only commands may use it."""
    differences: ProfileDifferences = field(default_factory=ProfileDifferences)
    """What the team documents as intentionally different in this environment."""
    api_key: SecretRef | None = None
    tls: TlsSettings | None = None
    config_file: Path | None = None
    """The config that declared the profile: `{file: ...}` references are relative to its folder."""
    prometheus_targets: Path | None = None
    """Prometheus file_sd file the run keeps listing its live workers in (relative to the working directory)."""
    metrics_host: str = "127.0.0.1"
    """Interface the workers' metrics endpoints listen on."""
    scrape_host: str = "127.0.0.1"
    """Host name Prometheus reaches those endpoints by."""

    @property
    def has_credentials(self) -> bool:
        """The profile says how to authenticate (API key and/or TLS), instead of inheriting TEMPORAL_* variables."""
        return self.api_key is not None or self.tls is not None

    def __repr__(self) -> str:
        secrets = [f"api_key={self.api_key.describe()}"] if self.api_key else []
        if self.tls is not None:
            refs = {k: getattr(self.tls, k) for k in ("ca_cert", "client_cert", "client_key")}
            secrets.append("tls=" + (", ".join(f"{k}={r.describe()}" for k, r in refs.items() if r) or str(self.tls.enabled).lower()))
        return (
            f"Profile(name={self.name!r}, address={self.address!r}, namespace={self.namespace!r}, protected={self.protected}"
            + "".join(f", {s}" for s in secrets) + ")"
        )

    __str__ = __repr__


BUILT_IN: dict[str, Profile] = {
    LOCAL: Profile(LOCAL),
    COMPOSE: Profile(
        COMPOSE, address="127.0.0.1:7233", namespace=DEFAULT_NAMESPACE,
        prometheus_targets=Path("dashboards/prometheus/targets/harness-workers.json"),
        metrics_host="0.0.0.0", scrape_host="host.docker.internal",  # noqa: S104 - Prometheus runs in a container
    ),
}


def known(config: ReadinessConfig | None) -> list[str]:
    return sorted({*BUILT_IN, *(config.profiles if config else {})})


def resolve(name: str, config: ReadinessConfig | None, config_file: Path | None = None, *, check_secrets: bool = True) -> Profile:
    """The profile `name` from the config (built-ins with the config's overrides). Its secret references are checked
    now unless told otherwise (an unset variable or a missing file is a ConfigError), so a command fails before it
    starts anything. Only the profile in use is resolved: the others' variables need not exist."""
    declared = config.profiles.get(name) if config else None
    if name not in BUILT_IN and declared is None:
        raise ConfigError(f"unknown profile {name!r} (known: {', '.join(known(config))})", key_path="--profile")
    profile = replace(BUILT_IN.get(name, Profile(name)), config_file=config_file.resolve() if config_file else None)
    if name == LOCAL and config is not None and isinstance(config.target, ExistingTarget):
        profile = replace(profile, address=config.target.address, namespace=config.target.namespace)
    if declared is not None:
        profile = replace(
            profile, address=declared.address or profile.address, namespace=declared.namespace or profile.namespace,
            protected=declared.protected, differences=declared.differences, api_key=declared.api_key, tls=declared.tls,
        )
    if check_secrets:
        credential_env(profile)
    return profile


def credential_env(profile: Profile, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The profile's credentials as the TEMPORAL_* variables the SDK's envconfig reads (empty without credentials).
    The result holds secrets: pass it to processes and clients, never to a report, journal or log."""
    environ = os.environ if environ is None else environ
    env: dict[str, str] = {}
    if profile.api_key is not None:
        env["TEMPORAL_API_KEY"] = _secret_value(profile, "api_key", profile.api_key, environ)
    tls = profile.tls
    if tls is not None:
        env["TEMPORAL_TLS"] = "true" if tls.enabled else "false"
        for key, ref, variable in (
            ("ca_cert", tls.ca_cert, "TEMPORAL_TLS_SERVER_CA_CERT"),
            ("client_cert", tls.client_cert, "TEMPORAL_TLS_CLIENT_CERT"),
            ("client_key", tls.client_key, "TEMPORAL_TLS_CLIENT_KEY"),
        ):
            if ref is None:
                continue
            if ref.file is not None:  # the SDK reads the file itself: the secret never passes through an environment
                env[f"{variable}_PATH"] = str(_existing_file(profile, f"tls.{key}", ref.file))
            else:
                env[f"{variable}_DATA"] = _secret_value(profile, f"tls.{key}", ref, environ)
        if tls.server_name:
            env["TEMPORAL_TLS_SERVER_NAME"] = tls.server_name
    return env


def client_env(profile: Profile, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`environ` as the profile's processes get it: a profile that declares credentials replaces any TEMPORAL_* ones
    inherited from the shell (e.g. another environment's API key); one that declares none keeps them, as --address does."""
    environ = dict(os.environ if environ is None else environ)
    if not profile.has_credentials:
        return environ
    kept = {k: v for k, v in environ.items() if not k.startswith(server.CREDENTIAL_ENV_PREFIXES)}
    return {**kept, **credential_env(profile, environ)}


async def connect(profile: Profile, *, address: str | None = None, namespace: str | None = None, timeout: float = 10.0) -> Client:
    """A client for the existing cluster the profile points at, with its TLS / API key (`address` and `namespace`
    override the profile's). TargetError when the cluster cannot be used."""
    address = address or profile.address
    if not address:
        raise ConfigError(
            f"this command reads an existing cluster, and profile {profile.name!r} has no address (it is the embedded dev "
            "server `readiness run` starts): choose a profile with an address, or give --address",
            key_path="--profile",
        )
    target = server.Target(kind="existing", address=address, namespace=namespace or profile.namespace or DEFAULT_NAMESPACE)
    return await server.connect(target, timeout=timeout, env=client_env(profile))


def refuse_if_protected(profile: Profile, scenarios: Iterable[tuple[str, str]]) -> None:
    """A protected profile (e.g. production) refuses scenarios, given as (name, what its kind does to the environment):
    each one injects faults, kills workers or generates load."""
    if not profile.protected:
        return
    refused = [f"{name} ({effect})" for name, effect in scenarios]
    if refused:
        raise ConfigError(
            f"profile {profile.name!r} is protected, and running scenarios would start workers and workflows there: "
            f"{'; '.join(refused)}. Nothing was started. Allowed on a protected profile: {', '.join(READ_ONLY_COMMANDS)}",
            key_path="--profile",
        )


def _where(profile: Profile, key: str) -> dict[str, str | None]:
    return {"file": str(profile.config_file) if profile.config_file else None, "key_path": f"profiles.{profile.name}.{key}"}


def _existing_file(profile: Profile, key: str, path: Path) -> Path:
    base = profile.config_file.parent if profile.config_file else Path.cwd()
    full = (base / path).resolve()
    if not full.is_file():
        raise ConfigError(f"file {full} does not exist", **_where(profile, key))
    if not os.access(full, os.R_OK):
        raise ConfigError(f"file {full} is not readable", **_where(profile, key))
    return full


def _secret_value(profile: Profile, key: str, ref: SecretRef, environ: Mapping[str, str]) -> str:
    if ref.env is not None:
        value = environ.get(ref.env, "")
        if not value.strip():
            raise ConfigError(f"environment variable {ref.env} is {'empty' if ref.env in environ else 'not set'}", **_where(profile, key))
        return value.strip()
    path = _existing_file(profile, key, ref.file)
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read file {path}: {type(exc).__name__}", **_where(profile, key)) from None
    if not value:
        raise ConfigError(f"file {path} is empty", **_where(profile, key))
    return value


def write_targets(path: Path, ports: dict[str, int], host: str, job: str = "temporal-workers") -> None:
    """Rewrite the file_sd file atomically (Prometheus may read it at any moment): one target per live worker."""
    groups = [{"targets": [f"{host}:{port}"], "labels": {"job": job, "worker": worker}} for worker, port in sorted(ports.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(groups, indent=2) + "\n")
    os.replace(partial, path)
