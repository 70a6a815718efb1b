"""Where a finished command meets the history store: "since the last GO" before the reports are written, and
recording after. Neither may cost a run its verdict: the callers turn failures into a warning."""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import ConfigError
from harness.history.diff import since_last_go
from harness.history.store import HistoryStore
from harness.scorecard.model import Scorecard, SinceLastGo


def check_usable(path: Path) -> None:
    """Before anything runs: an existing file must be a history database we can read, and a missing one must be
    creatable (ConfigError otherwise). Creates nothing: an interrupted run leaves no database behind."""
    path = Path(path)
    if path.exists():
        if not path.is_file():
            raise ConfigError("expected a history database file, found a folder", file=str(path), key_path="--history-db")
        HistoryStore.open(path, create=False).close()
        return
    ancestor = path.parent.resolve()
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot create the history database: {ancestor} is not a writable folder", file=str(path), key_path="--history-db")


def last_go_changes(path: Path, card: Scorecard) -> SinceLastGo | None:
    """Changes since the newest earlier GO run with the card's app name, profile and command; None without one."""
    if not Path(path).is_file():
        return None
    with HistoryStore.open(path, create=False) as store:
        last_go = store.last_go(card.run.app_name, card.run.profile, card.run.command)
    return since_last_go(last_go, card) if last_go is not None and last_go.run.id != card.run.id else None


def record(path: Path, card: Scorecard, report_dir: Path | None) -> None:
    with HistoryStore.open(path, create=True) as store:
        store.record(card, report_dir.resolve() if report_dir else None)
