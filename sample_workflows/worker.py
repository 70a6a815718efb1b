"""Two ways to run the order app's worker outside the YAML lists.

- `build(client, task_queue)`: a factory for `workers[].python.factory`, for custom worker options.
- `python -m sample_workflows.worker`: a standalone worker process, as a team's own (or non-Python) worker
  would be run through `workers[].command`; it reads TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and TEMPORAL_TASK_QUEUE.
"""

from __future__ import annotations

import asyncio
import os
import signal

from temporalio.client import Client
from temporalio.worker import Worker

from sample_workflows.activities import ACTIVITIES
from sample_workflows.orders import OrderWorkflow


def build(client: Client, task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[OrderWorkflow],
        activities=ACTIVITIES,
        max_concurrent_activities=50,
        max_concurrent_workflow_tasks=20,
    )


async def main() -> None:
    client = await Client.connect(os.environ["TEMPORAL_ADDRESS"], namespace=os.environ.get("TEMPORAL_NAMESPACE", "default"))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with build(client, os.environ["TEMPORAL_TASK_QUEUE"]):
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
