"""Every exception the harness raises on purpose, in one place.

    HarnessError                 the harness itself could not do its job        -> exit 3
     +-- ConfigError             bad config, scenario or CLI input               -> exit 2
     +-- TargetError             Temporal server could not be started/reached
     +-- ProcessError            a worker or dependency process failed to start or misbehaved
     +-- OutputError             the report folder could not be written (a full disk, a folder made read-only)

A system under test that fails a check is not an exception: it is a FAIL in the scorecard (exit 1).
"""

from __future__ import annotations

from pathlib import Path


class HarnessError(Exception):
    """The harness could not complete its job (exit code 3)."""

    exit_code = 3


class ConfigError(HarnessError):
    """Invalid input from the user: names the file, the key path and what was expected (exit code 2)."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, key_path: str | None = None) -> None:
        self.file = file
        self.key_path = key_path
        self.detail = message
        where = ": ".join(part for part in (file, key_path) if part)
        super().__init__(f"{where}: {message}" if where else message)


class TargetError(HarnessError):
    """The Temporal server could not be started or reached."""


class ProcessError(HarnessError):
    """A supervised process (worker or dependency) failed to start or did not behave as expected."""


class OutputError(HarnessError):
    """The journal or the reports could not be written: the disk is full, or the folder stopped being writable."""

    def __init__(self, what: Path, exc: OSError, during: str | None = None) -> None:
        reason = exc.strerror or str(exc) or type(exc).__name__
        step = f" after step '{during}'" if during else ""
        super().__init__(f"cannot write {what}{step}: {reason}")
