"""The batch app's payloads (plain dataclasses: the default JSON converter carries them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Batch:
    batch_id: str
    items: int = 40
    chunk_size: int = 10
    item_ms: int = 100
    """How long transforming one item takes."""
    chunks_per_run: int = 2
    """Child workflows started in parallel per run; the workflow continues as new after each such wave."""
    done: int = 0
    """Items processed by earlier runs of the chain (continue-as-new carries it)."""
    runs: int = 1
    resizes: int = 0
    """Updates accepted by earlier runs."""


@dataclass
class Chunk:
    batch_id: str
    start: int
    size: int
    item_ms: int


@dataclass
class ChunkResult:
    start: int
    items: int
    stored_as: str
