"""Where a run points: `local` (the config's target, an embedded dev server by default) or `compose` (the stack in
docker-compose.yml: Temporal on 127.0.0.1:7233, and a Prometheus in a container that scrapes the workers)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Profile:
    name: str
    address: str | None = None
    """Temporal frontend to target; None: the config's `target`."""
    namespace: str | None = None
    prometheus_targets: Path | None = None
    """Prometheus file_sd file the run keeps listing its live workers in (relative to the working directory)."""
    metrics_host: str = "127.0.0.1"
    """Interface the workers' metrics endpoints listen on."""
    scrape_host: str = "127.0.0.1"
    """Host name Prometheus reaches those endpoints by."""


PROFILES = {
    "local": Profile("local"),
    "compose": Profile(
        "compose", address="127.0.0.1:7233", namespace="default",
        prometheus_targets=Path("dashboards/prometheus/targets/harness-workers.json"),
        metrics_host="0.0.0.0", scrape_host="host.docker.internal",  # noqa: S104 - Prometheus runs in a container
    ),
}


def write_targets(path: Path, ports: dict[str, int], host: str, job: str = "temporal-workers") -> None:
    """Rewrite the file_sd file atomically (Prometheus may read it at any moment): one target per live worker."""
    groups = [{"targets": [f"{host}:{port}"], "labels": {"job": job, "worker": worker}} for worker, port in sorted(ports.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(groups, indent=2) + "\n")
    os.replace(partial, path)
