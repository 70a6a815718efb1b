"""What a load run starts: workflow types and their shares, task queue, ids, inputs and stages, as JSON for the
Locust processes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from harness.load.shape import Stage

COUNTER_PLACEHOLDER = "{i}"
SPEC_ENV = "READINESS_LOAD_SPEC"
"""Environment variable through which the Locust processes receive the LoadSpec as JSON."""
WORK_DIR_ENV = "READINESS_LOAD_DIR"
"""Folder where each Locust process that runs users writes `ids-<pid>.txt`."""
_GOLDEN = (5**0.5 - 1) / 2


@dataclass(frozen=True)
class WorkflowStart:
    """One workflow type of the load and what each of its starts is given."""

    workflow: str
    """Workflow type name."""
    inputs: list
    """Workflow arguments, one per start, used in turn; `{i}` in a string becomes the start's counter."""
    execution_timeout_s: float
    share: float = 1.0
    """Relative weight among the load's workflow types."""
    id_prefix: str | None = None
    """Its workflow ids' prefix instead of the spec's, so each type's ids say what they are."""

    def args(self, counter: int) -> list:
        """Arguments of start number `counter`: the next input in turn (none when `inputs` is empty)."""
        if not self.inputs:
            return []
        return [substitute_counter(self.inputs[counter % len(self.inputs)], counter)]


@dataclass(frozen=True)
class LoadSpec:
    """The workflows a load run starts and how fast."""

    workflows: tuple[WorkflowStart, ...]
    task_queue: str
    id_prefix: str
    """Workflow ids are `{id_prefix}-{process tag}-{counter}` (the type's own id_prefix when it has one); the counter
    alone makes them unique per process."""
    stages: tuple[Stage, ...]
    signal: str | None = None
    """Signal (no arguments) sent to each workflow right after it started, when set."""

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError("a load spec needs at least one stage")
        if not self.workflows:
            raise ValueError("a load spec needs at least one workflow type")
        object.__setattr__(self, "stages", tuple(self.stages))
        object.__setattr__(self, "workflows", tuple(self.workflows))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LoadSpec:
        data = json.loads(text)
        data["stages"] = tuple(Stage(**stage) for stage in data["stages"])
        data["workflows"] = tuple(WorkflowStart(**start) for start in data["workflows"])
        return cls(**data)

    def workflow_id(self, process_tag: str, counter: int) -> str:
        return f"{self.start(counter).id_prefix or self.id_prefix}-{process_tag}-{counter}"

    def start(self, counter: int) -> WorkflowStart:
        """The workflow type start number `counter` runs, by share."""
        return self.workflows[pick_by_share([w.share for w in self.workflows], counter)]


def pick_by_share(shares: Sequence[float], index: int) -> int:
    """Which of the weighted entries start number `index` is. The golden-ratio sequence spreads every run of
    consecutive indexes over the entries in proportion to their shares without state, so each Locust process (which
    counts on its own) and every short scenario get the mix, not a block of one type."""
    if len(shares) == 1:
        return 0
    point = (index * _GOLDEN) % 1.0 * sum(shares)
    for position, share in enumerate(shares):
        point -= share
        if point < 0:
            return position
    return len(shares) - 1


def substitute_counter(value: Any, counter: int) -> Any:
    """`value` with `{i}` replaced by `counter` in every string, also inside lists and dicts."""
    if isinstance(value, str):
        return value.replace(COUNTER_PLACEHOLDER, str(counter))
    if isinstance(value, list):
        return [substitute_counter(item, counter) for item in value]
    if isinstance(value, dict):
        return {key: substitute_counter(item, counter) for key, item in value.items()}
    return value
