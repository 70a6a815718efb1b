"""Flawed: the resize update checks the storage quota before it applies the new size, reading the counter before
the await and writing it after, so concurrent resizes overwrite each other and one is lost."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from sample_workflows.batch.models import Batch
    from sample_workflows.batch.workflows import BatchWorkflow


@workflow.defn(name="BatchWorkflow")
class RacyResizeBatchWorkflow(BatchWorkflow):
    @workflow.update
    async def resize(self, chunk_size: int) -> int:
        resizes = self._resizes
        await workflow.sleep(timedelta(milliseconds=100))  # stands in for a quota lookup
        self._chunk_size = chunk_size
        self._resizes = resizes + 1
        return chunk_size

    @workflow.run
    async def run(self, batch: Batch) -> dict:
        return await super().run(batch)
