"""What a load run starts: workflow type, task queue, ids, inputs and stages, as JSON for the Locust processes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from harness.load.shape import Stage

COUNTER_PLACEHOLDER = "{i}"
SPEC_ENV = "READINESS_LOAD_SPEC"
"""Environment variable through which the Locust processes receive the LoadSpec as JSON."""
WORK_DIR_ENV = "READINESS_LOAD_DIR"
"""Folder where each Locust process that runs users writes `ids-<pid>.txt`."""


@dataclass(frozen=True)
class LoadSpec:
    """The workflows a load run starts and how fast."""

    workflow: str
    """Workflow type name."""
    task_queue: str
    id_prefix: str
    """Workflow ids are `{id_prefix}-{process tag}-{counter}`, unique per run."""
    inputs: list
    """Workflow arguments, one per start, used in turn; `{i}` in a string becomes the start's counter."""
    execution_timeout_s: float
    stages: tuple[Stage, ...]
    signal: str | None = None
    """Signal (no arguments) sent to each workflow right after it started, when set."""

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError("a load spec needs at least one stage")
        object.__setattr__(self, "stages", tuple(self.stages))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LoadSpec:
        data = json.loads(text)
        data["stages"] = tuple(Stage(**stage) for stage in data["stages"])
        return cls(**data)

    def workflow_id(self, process_tag: str, counter: int) -> str:
        return f"{self.id_prefix}-{process_tag}-{counter}"

    def workflow_args(self, counter: int) -> list:
        """Arguments of start number `counter`: the next input in turn (none when `inputs` is empty)."""
        if not self.inputs:
            return []
        return [substitute_counter(self.inputs[counter % len(self.inputs)], counter)]


def substitute_counter(value: Any, counter: int) -> Any:
    """`value` with `{i}` replaced by `counter` in every string, also inside lists and dicts."""
    if isinstance(value, str):
        return value.replace(COUNTER_PLACEHOLDER, str(counter))
    if isinstance(value, list):
        return [substitute_counter(item, counter) for item in value]
    if isinstance(value, dict):
        return {key: substitute_counter(item, counter) for key, item in value.items()}
    return value
