"""A long-running export, built to be noticed when its worker dies.

`export_orders` works for `seconds` seconds and heartbeats its progress every second, with a 5 s heartbeat
timeout: if its worker crashes, the server notices within about 5 s (not after the 10-minute start-to-close
timeout) and retries it on another worker, where it resumes from the last heartbeated progress.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

EXPORT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
)


@dataclass
class ExportRequest:
    export_id: str
    seconds: int = 15
    """How long the export works, one heartbeat per second."""


@activity.defn
async def export_orders(request: ExportRequest) -> int:
    """Export one batch per second; on a retry, continue after the last batch the server recorded."""
    details = activity.info().heartbeat_details
    done = int(details[0]) if details else 0
    for batch in range(done, request.seconds):
        await asyncio.sleep(1)
        activity.heartbeat(batch + 1)
    return request.seconds - done


EXPORT_ACTIVITIES = [export_orders]


@workflow.defn(name="ExportWorkflow")
class ExportWorkflow:
    @workflow.run
    async def run(self, request: ExportRequest) -> int:
        return await workflow.execute_activity(
            export_orders,
            request,
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(seconds=5),
            retry_policy=EXPORT_RETRY,
        )
