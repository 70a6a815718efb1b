"""What every command that writes a scorecard shares (run, watch, parity): the report folder made ready before
anything starts, and the RunInfo that says who produced the scorecard, from what, and when."""

from __future__ import annotations

import platform
import shutil
import subprocess
import time
from importlib.metadata import version
from pathlib import Path

import harness
from harness.errors import ConfigError
from harness.journal import now_iso
from harness.scorecard.model import RunInfo, TargetInfo

REPORT_FILES = ("scorecard.json", "scorecard.md", "junit.xml", "scorecard.html", "journal.json")
RUN_FOLDERS = ("histories", "logs", "load", "faults")


def ensure_writable(out_dir: Path) -> None:
    """Create the report folder and prove a file can be written there, before anything starts (ConfigError on --out)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot write reports there: {exc}", key_path="--out") from None


def prepare_out_dir(out_dir: Path, also: tuple[str, ...] = ()) -> None:
    """Remove the previous reports (and the files `also` names) so a crashed command can never be mistaken for an
    earlier verdict."""
    ensure_writable(out_dir)
    for name in (*REPORT_FILES, *also):
        (out_dir / name).unlink(missing_ok=True)
    for folder in RUN_FOLDERS:
        shutil.rmtree(out_dir / folder, ignore_errors=True)


def git_commit(path: Path) -> str | None:
    """HEAD of the git checkout at `path`, with '-dirty' if modified; None outside a checkout."""
    try:
        head = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain"], capture_output=True, text=True, timeout=5)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def run_info(
    *, run_id: str, command: str, profile: str, started_at: str, started: float, config_file: Path, app_name: str,
    app_path: Path | None, target: TargetInfo,
) -> RunInfo:
    """The scorecard's `run`, finished now; `started` is the command's time.monotonic() at its start."""
    return RunInfo(
        id=run_id, command=command, profile=profile, started_at=started_at, finished_at=now_iso(),
        duration_s=round(time.monotonic() - started, 2), config_file=str(config_file), app_name=app_name,
        app_git_commit=git_commit(app_path) if app_path else None, harness_version=harness.__version__,
        sdk_version=version("temporalio"), python_version=platform.python_version(), target=target,
    )
