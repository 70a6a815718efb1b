"""Flawed: the quota reservation is a local activity on Temporal's default policy (unlimited attempts, 1 s x2).
No history records a local activity's policy, so only the code shows it; during a storage outage every chunk
retries it in a tight loop inside its workflow task."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from sample_workflows.batch.activities import reserve_quota, transform_chunk
    from sample_workflows.batch.models import Chunk, ChunkResult
    from sample_workflows.batch.workflows import STORAGE_RETRY, BatchWorkflow


@workflow.defn(name="ChunkWorkflow")
class DefaultRetryChunkWorkflow:
    @workflow.run
    async def run(self, chunk: Chunk) -> ChunkResult:
        await workflow.execute_local_activity(reserve_quota, chunk, start_to_close_timeout=timedelta(seconds=5))
        return await workflow.execute_activity(
            transform_chunk, chunk, start_to_close_timeout=timedelta(seconds=60), heartbeat_timeout=timedelta(seconds=5),
            retry_policy=STORAGE_RETRY,
        )


__all__ = ["BatchWorkflow", "DefaultRetryChunkWorkflow"]
