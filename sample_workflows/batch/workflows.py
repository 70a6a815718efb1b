"""The well-built batch workflows: bounded retry policies everywhere (the local activity's included, which no
history records), a heartbeat timeout on the long transform, child workflows with their own timeouts, and a
`tag` signal and a `resize` update whose handlers change state in one synchronous step, so concurrent resizes never lose one."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from sample_workflows.batch.activities import reserve_quota, transform_chunk
    from sample_workflows.batch.models import Batch, Chunk, ChunkResult

STORAGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), backoff_coefficient=3.0, maximum_interval=timedelta(seconds=60),
    maximum_attempts=8, non_retryable_error_types=["InvalidChunk"],
)
CHUNK_RETRY = RetryPolicy(maximum_attempts=2, non_retryable_error_types=["InvalidChunk"])


@workflow.defn(name="ChunkWorkflow")
class ChunkWorkflow:
    @workflow.run
    async def run(self, chunk: Chunk) -> ChunkResult:
        await workflow.execute_local_activity(
            reserve_quota, chunk, start_to_close_timeout=timedelta(seconds=5), retry_policy=STORAGE_RETRY,
        )
        return await workflow.execute_activity(
            transform_chunk, chunk, start_to_close_timeout=timedelta(seconds=60), heartbeat_timeout=timedelta(seconds=5),
            retry_policy=STORAGE_RETRY,
        )


@workflow.defn(name="BatchWorkflow")
class BatchWorkflow:
    def __init__(self) -> None:
        self._chunk_size: int | None = None
        self._resizes = 0
        self._done = 0
        self._tags: list[str] = []

    @workflow.signal
    def tag(self, label: str) -> None:
        self._tags.append(label)

    @workflow.update
    def resize(self, chunk_size: int) -> int:
        self._chunk_size = chunk_size
        self._resizes += 1
        return chunk_size

    @resize.validator
    def _sensible_size(self, chunk_size: int) -> None:
        if not 1 <= chunk_size <= 100:
            raise ValueError(f"chunk_size must be 1..100, got {chunk_size}")

    @workflow.query
    def progress(self) -> dict:
        return {"processed": self._done, "chunk_size": self._chunk_size, "resizes": self._resizes, "tags": len(self._tags)}

    @workflow.run
    async def run(self, batch: Batch) -> dict:
        self._done = batch.done
        self._resizes += batch.resizes
        size = self._chunk_size or batch.chunk_size
        wave = [
            Chunk(batch.batch_id, start, min(size, batch.items - start), batch.item_ms)
            for start in range(batch.done, batch.items, size)
        ][: batch.chunks_per_run]
        results = await asyncio.gather(*(
            workflow.execute_child_workflow(
                ChunkWorkflow.run, chunk, id=f"{workflow.info().workflow_id}-chunk-{chunk.start}",
                retry_policy=CHUNK_RETRY, execution_timeout=timedelta(minutes=10),
            )
            for chunk in wave
        ))
        self._done += sum(r.items for r in results)
        if self._done < batch.items:
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(replace(
                batch, done=self._done, chunk_size=self._chunk_size or batch.chunk_size, runs=batch.runs + 1, resizes=self._resizes,
            ))
        return {"batch_id": batch.batch_id, "processed": self._done, "runs": batch.runs, "resizes": self._resizes}
