"""The run journal: every step with start, end, duration, status, details and error, written as it happens.

Each step is recorded in a `finally`, so a failed or interrupted run still leaves a complete journal.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.errors import OutputError


@dataclass
class Step:
    name: str
    scenario: str | None
    started_at: str
    ended_at: str | None = None
    duration_s: float | None = None
    status: str = "running"
    """ok, failed or interrupted."""
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def label(step: Step) -> str:
    """How a step is named to people: `[scenario] name`, or its name for a run-wide step."""
    return f"[{step.scenario}] {step.name}" if step.scenario else step.name


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file (nor, after a failure such as a
    full disk, the half-written temporary file)."""
    write_all_or_nothing({path: text})


def write_all_or_nothing(files: dict[Path, str]) -> None:
    """Write every file to a temporary name first and rename them only when all are written, so a failure
    (a full disk, a folder that cannot be created) leaves none of them half-done."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            staged.append((tmp, path))  # before writing: a write that fails half-way leaves a file to remove too
            tmp.write_text(text, encoding="utf-8")
    except OSError:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)


class Journal:
    def __init__(self, path: Path, on_step: Callable[[Step], None] | None = None) -> None:
        self.path = path
        self.steps: list[Step] = []
        self._on_step = on_step or (lambda step: None)
        self._unwritable: OutputError | None = None
        """The first failed save: the later ones (cleanup steps) report it, the step the run was in, not their own."""

    @contextmanager
    def step(self, name: str, scenario: str | None = None, **detail: Any) -> Iterator[Step]:
        """Record a step; the body may add to `step.detail`. Exceptions propagate after being recorded."""
        step = Step(name=name, scenario=scenario, started_at=now_iso(), detail=dict(detail))
        self.steps.append(step)
        self._on_step(step)
        started = time.monotonic()
        try:
            yield step
            step.status = "ok"
        except BaseException as exc:
            interrupted = isinstance(exc, (KeyboardInterrupt, GeneratorExit)) or type(exc).__name__ == "CancelledError"
            step.status = "interrupted" if interrupted else "failed"
            step.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise
        finally:
            step.ended_at = now_iso()
            step.duration_s = round(time.monotonic() - started, 3)
            self.save(step)
            self._on_step(step)

    def save(self, after: Step | None = None) -> None:
        """Write the journal; OutputError (naming the step just recorded) when the folder cannot be written."""
        text = json.dumps({"steps": [asdict(s) for s in self.steps]}, indent=2, default=str)
        try:
            write_atomic(self.path, text)
        except OSError as exc:
            self._unwritable = self._unwritable or OutputError(self.path, exc, label(after) if after else None)
            raise self._unwritable from None
