"""Planted failure mode: a long activity that dies silently.

The same 15-second export as sample_workflows/exports.py, but it never heartbeats and has no heartbeat
timeout; its only bound is the 10-minute start-to-close timeout. When its worker is killed, the server cannot
tell: the attempt stays "started" for 10 minutes before it is retried. `longrun.heartbeat` must FAIL.
The fix is the well-built export: `heartbeat_timeout` plus `activity.heartbeat()` in the loop.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from sample_workflows.exports import ExportRequest


@activity.defn(name="export_orders")
async def export_orders_silently(request: ExportRequest) -> int:
    for _ in range(request.seconds):
        await asyncio.sleep(1)
    return request.seconds


SILENT_EXPORT_ACTIVITIES = [export_orders_silently]


@workflow.defn(name="ExportWorkflow")
class SilentExportWorkflow:
    @workflow.run
    async def run(self, request: ExportRequest) -> int:
        return await workflow.execute_activity(
            export_orders_silently,
            request,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=5),
        )
