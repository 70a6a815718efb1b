"""The batch app's activities: `reserve_quota` (run as a local activity) and `transform_chunk`, a plain `def`
that the worker runs on its thread pool, heartbeating per item. Both call the storage service."""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request

from temporalio import activity
from temporalio.exceptions import ApplicationError

from sample_workflows.batch.models import Chunk, ChunkResult

STORAGE_ENV = "STORAGE_URL"


def _call(path: str, body: dict | None = None, key: str | None = None) -> dict:
    request = urllib.request.Request(
        os.environ[STORAGE_ENV] + path, data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})},
    )
    with urllib.request.urlopen(request, timeout=3) as response:
        return json.loads(response.read())


@activity.defn
async def reserve_quota(chunk: Chunk) -> int:
    if chunk.size < 1:
        raise ApplicationError(f"chunk at {chunk.start} is empty", type="InvalidChunk", non_retryable=True)
    return int((await asyncio.to_thread(_call, "/quota"))["granted"])


@activity.defn
def transform_chunk(chunk: Chunk) -> ChunkResult:
    for item in range(chunk.size):
        time.sleep(chunk.item_ms / 1000)
        activity.heartbeat(item)
    info = activity.info()
    stored = _call("/chunks", {"batch_id": chunk.batch_id, "start": chunk.start, "items": chunk.size},
                   key=f"{info.workflow_id}-{info.activity_id}")  # the same key on every attempt of this write
    return ChunkResult(chunk.start, chunk.size, stored["stored_as"])


BATCH_ACTIVITIES = [reserve_quota, transform_chunk]
