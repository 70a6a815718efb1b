"""Flawed: the batch's chunks are started in the order of a set of their ids, which follows PYTHONHASHSEED, so a
worker started with another seed (any restart) issues the child workflows in another order than the history
recorded and the replay fails."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from sample_workflows.batch.models import Batch, Chunk
    from sample_workflows.batch.workflows import CHUNK_RETRY, ChunkWorkflow


@workflow.defn(name="BatchWorkflow")
class SetOrderBatchWorkflow:
    @workflow.run
    async def run(self, batch: Batch) -> dict:
        keys = {f"{batch.batch_id}-part-{start}" for start in range(0, batch.items, batch.chunk_size)}
        chunks = [Chunk(batch.batch_id, int(key.rsplit("-", 1)[1]), batch.chunk_size, batch.item_ms) for key in keys]
        results = await asyncio.gather(*(
            workflow.execute_child_workflow(
                ChunkWorkflow.run, chunk, id=f"{workflow.info().workflow_id}-chunk-{chunk.start}",
                retry_policy=CHUNK_RETRY, execution_timeout=timedelta(minutes=10),
            )
            for chunk in chunks
        ))
        return {"batch_id": batch.batch_id, "processed": sum(r.items for r in results)}
