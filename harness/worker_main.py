"""Entry point of a supervised Python worker process: `python -m harness.worker_main`.

Reads its spec from READINESS_WORKER_SPEC (JSON of PythonWorkerSpec), connects with TEMPORAL_* variables,
exposes SDK metrics on READINESS_METRICS_PORT and polls TEMPORAL_TASK_QUEUE as READINESS_WORKER_IDENTITY.
With READINESS_ACTIVITY_FAULTS set, the harness's activity-fault interceptor is installed on the client; with
READINESS_DEPLOYMENT set (JSON: deployment_name, build_id, behavior), the worker polls as that Worker Deployment Version.
With READINESS_TAG_REQUESTS set, HTTP requests sent by activities carry their attempt (harness.faults.request_tags).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import inspect
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.envconfig import ClientConfigProfile
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker, WorkerDeploymentConfig

from harness.config.models import PythonWorkerSpec
from harness.faults import request_tags
from harness.faults.activity import FAULTS_FILE_ENV, FaultInterceptor
from harness.faults.ledger import TAG_ENV

SPEC_ENV = "READINESS_WORKER_SPEC"
METRICS_PORT_ENV = "READINESS_METRICS_PORT"
METRICS_HOST_ENV = "READINESS_METRICS_HOST"
IDENTITY_ENV = "READINESS_WORKER_IDENTITY"
TASK_QUEUE_ENV = "TEMPORAL_TASK_QUEUE"
DEPLOYMENT_ENV = "READINESS_DEPLOYMENT"


def resolve(import_path: str) -> Any:
    module_name, _, attribute = import_path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def resolve_all(import_paths: list[str]) -> list[Any]:
    """Each path names one object or a list/tuple of them (e.g. `module:ACTIVITIES`)."""
    found: list[Any] = []
    for path in import_paths:
        value = resolve(path)
        found.extend(value if isinstance(value, (list, tuple)) else [value])
    return found


async def build_worker(spec: PythonWorkerSpec, client: Client, task_queue: str) -> Worker:
    if spec.factory:
        worker = resolve(spec.factory)(client, task_queue)
        return await worker if inspect.isawaitable(worker) else worker
    options: dict[str, Any] = {}
    if spec.max_concurrent_workflow_tasks:
        options["max_concurrent_workflow_tasks"] = spec.max_concurrent_workflow_tasks
    if spec.max_concurrent_activities:
        options["max_concurrent_activities"] = spec.max_concurrent_activities
    if deployment := os.environ.get(DEPLOYMENT_ENV):
        version = json.loads(deployment)
        options["deployment_config"] = WorkerDeploymentConfig(
            version=WorkerDeploymentVersion(version["deployment_name"], version["build_id"]), use_worker_versioning=True,
            default_versioning_behavior=VersioningBehavior[version.get("behavior", "AUTO_UPGRADE")],
        )
    activities = resolve_all(spec.activities)
    if any(not inspect.iscoroutinefunction(a) for a in activities):
        options["activity_executor"] = concurrent.futures.ThreadPoolExecutor(max_workers=16)
    return Worker(client, task_queue=task_queue, workflows=resolve_all(spec.workflows), activities=activities, **options)


async def run() -> None:
    spec = PythonWorkerSpec.model_validate_json(os.environ[SPEC_ENV])
    runtime = Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"{os.environ.get(METRICS_HOST_ENV, '127.0.0.1')}:{os.environ[METRICS_PORT_ENV]}"))
    )
    options = dict(ClientConfigProfile.load(disable_file=True).to_client_connect_config())
    if os.environ.get(TAG_ENV):
        request_tags.install()
    faults_file = os.environ.get(FAULTS_FILE_ENV)
    interceptors = [FaultInterceptor(Path(faults_file))] if faults_file else []
    client = await Client.connect(**options, runtime=runtime, identity=os.environ[IDENTITY_ENV], interceptors=interceptors)
    worker = await build_worker(spec, client, os.environ[TASK_QUEUE_ENV])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        print(f"worker {os.environ[IDENTITY_ENV]} polling {os.environ[TASK_QUEUE_ENV]}", flush=True)
        await stop.wait()
    print("worker stopped", flush=True)


def main() -> None:
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        sys.exit(130)
    # The worker has shut down; skip interpreter finalization, where the SDK core's threads can still call into Python
    # and abort the process (seen as exit -6 after a clean SIGTERM), which would read as a crash on every deploy.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
