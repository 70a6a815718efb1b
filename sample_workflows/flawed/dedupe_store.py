"""A worker-local "already charged?" store in SQLite. Harmless in an activity, fatal inside workflow code."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

# Resolved at import: the sandbox forbids tempfile and os calls while workflow code runs.
DB_PATH = Path(os.environ.get("TMPDIR", "/tmp")) / "sample-orders-dedupe.sqlite"


def first_time(key: str) -> bool:
    """True the first time `key` is seen on this machine, False ever after (even in a new process)."""
    with sqlite3.connect(DB_PATH, timeout=10) as db:
        db.execute("CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY)")
        return db.execute("INSERT OR IGNORE INTO seen (key) VALUES (?)", (key,)).rowcount == 1
