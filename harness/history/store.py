"""The run history: every recorded run in a local SQLite file, with its whole scorecard.

One transaction per record, WAL journal and a busy timeout, so runs finishing at the same moment wait for each
other instead of corrupting the file. A `meta` table names the file's owner and schema version: a file that is not
ours, or was written by a newer schema, is refused (ConfigError, exit 2) rather than modified; one another process
keeps locked past the busy timeout is the environment's problem, not bad input (HarnessError, exit 3).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from harness.errors import ConfigError, HarnessError
from harness.history.diff import key_figures
from harness.journal import now_iso
from harness.scorecard.model import SCHEMA_VERSION as SCORECARD_SCHEMA
from harness.scorecard.model import Scorecard, Status

DEFAULT_PATH = Path(".readiness/history.db")
"""Relative to the working directory; the --history-db option and the READINESS_HISTORY_DB variable override it."""
ENV_VAR = "READINESS_HISTORY_DB"
APPLICATION = "temporal-readiness run history"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, recorded_at TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
    command TEXT NOT NULL, profile TEXT NOT NULL, target_kind TEXT NOT NULL, target_address TEXT NOT NULL,
    target_namespace TEXT NOT NULL, app_name TEXT NOT NULL, config_file TEXT NOT NULL, git_commit TEXT,
    verdict TEXT NOT NULL, exit_code INTEGER NOT NULL, report_dir TEXT, scorecard TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_app ON runs (app_name, profile, started_at);
CREATE TABLE IF NOT EXISTS checks (
    run_id TEXT NOT NULL REFERENCES runs (id), check_id TEXT NOT NULL, scenario TEXT NOT NULL, status TEXT NOT NULL,
    PRIMARY KEY (run_id, check_id, scenario)
);
CREATE TABLE IF NOT EXISTS figures (
    run_id TEXT NOT NULL REFERENCES runs (id), check_id TEXT NOT NULL, scenario TEXT NOT NULL, name TEXT NOT NULL,
    value REAL NOT NULL, PRIMARY KEY (run_id, check_id, scenario, name)
);
"""


@dataclass(frozen=True)
class RunRow:
    """One recorded run, as `readiness history` lists it."""

    id: str
    started_at: str
    command: str
    profile: str
    target: str
    """address/namespace"""
    app_name: str
    git_commit: str | None
    verdict: str
    passed: int
    failed: int
    warned: int
    report_dir: str | None


class HistoryStore:
    """Open with `HistoryStore.open`; use as a context manager to close it."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    @classmethod
    def open(cls, path: Path, *, create: bool) -> HistoryStore:
        """Open (with `create`: create if missing) and verify it is a history database this harness can read."""
        path = Path(path)
        if not create and not path.is_file():
            raise ConfigError("no history database there (no run recorded yet)", file=str(path))
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            uri = f"file:{path.resolve().as_posix()}?mode={'rwc' if create else 'rw'}"
            db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the history database: {exc}", file=str(path)) from None
        store = cls(path, db)
        try:
            store._verify(create)
        except ConfigError:
            db.close()
            raise
        except sqlite3.Error as exc:
            db.close()
            if getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise HarnessError(
                    f"{path}: the history database is locked by another process (waited {BUSY_TIMEOUT_S:.0f}s): {exc}"
                ) from None
            raise ConfigError(f"cannot use the history database: {exc}", file=str(path)) from None
        return store

    def _verify(self, create: bool) -> None:
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables and create:
            self._db.execute("PRAGMA journal_mode = WAL")
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('application', ?)", (APPLICATION,))
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            tables = {"meta"}
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
        if meta.get("application") != APPLICATION:
            raise ConfigError("not a readiness history database (a file of something else: choose another --history-db)", file=str(self.path))
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"history database schema {version} is newer than this harness reads ({SCHEMA_VERSION}): upgrade the harness",
                file=str(self.path),
            )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def record(self, card: Scorecard, report_dir: Path | None = None) -> None:
        """Add the run, its checks, key figures and whole scorecard in one transaction (sqlite3.Error on failure)."""
        run = card.run
        with self._transaction():
            self._db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.id, now_iso(), run.started_at, run.finished_at, run.command, run.profile, run.target.kind,
                    run.target.address, run.target.namespace, run.app_name, run.config_file, run.app_git_commit,
                    card.verdict.value, card.exit_code, str(report_dir) if report_dir else None, card.model_dump_json(),
                ),
            )
            for check in card.checks:
                self._db.execute(
                    "INSERT OR REPLACE INTO checks VALUES (?, ?, ?, ?)", (run.id, check.id, check.scenario, check.status.value)
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO figures VALUES (?, ?, ?, ?, ?)",
                    [(run.id, check.id, check.scenario, name, value) for name, value in key_figures(check).items()],
                )

    def runs(self, app_name: str | None = None, limit: int = 20) -> list[RunRow]:
        """Newest first."""
        rows = self._db.execute(
            """
            SELECT r.id, r.started_at, r.command, r.profile, r.target_address || '/' || r.target_namespace, r.app_name,
                   r.git_commit, r.verdict,
                   (SELECT count(*) FROM checks c WHERE c.run_id = r.id AND c.status = ?),
                   (SELECT count(*) FROM checks c WHERE c.run_id = r.id AND c.status = ?),
                   (SELECT count(*) FROM checks c WHERE c.run_id = r.id AND c.status = ?),
                   r.report_dir
            FROM runs r WHERE (? IS NULL OR r.app_name = ?) ORDER BY r.started_at DESC, r.rowid DESC LIMIT ?
            """,
            (Status.PASS.value, Status.FAIL.value, Status.WARN.value, app_name, app_name, limit),
        ).fetchall()
        return [RunRow(*row) for row in rows]

    def figures(self, run_id: str) -> dict[tuple[str, str, str], float]:
        """(check, scenario, figure name) -> value."""
        rows = self._db.execute("SELECT check_id, scenario, name, value FROM figures WHERE run_id = ?", (run_id,))
        return {(check, scenario, name): value for check, scenario, name, value in rows}

    def resolve(self, prefix: str) -> str:
        """The one run id starting with `prefix` (ConfigError when none or several do)."""
        ids = [row[0] for row in self._db.execute("SELECT id FROM runs WHERE substr(id, 1, ?) = ?", (len(prefix), prefix))]
        if not ids or not prefix:
            raise ConfigError(f"unknown run id {prefix!r} (see `readiness history`)", file=str(self.path))
        if len(ids) > 1:
            raise ConfigError(f"run id prefix {prefix!r} is ambiguous: it matches {', '.join(sorted(ids))}", file=str(self.path))
        return ids[0]

    def scorecard(self, run_id: str) -> Scorecard:
        row = self._db.execute("SELECT scorecard FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise ConfigError(f"unknown run id {run_id!r} (see `readiness history`)", file=str(self.path))
        return _parse(row[0], f"{self.path} (run {run_id})")

    def last_go(self, app_name: str, profile: str, command: str = "run") -> Scorecard | None:
        """The newest GO scorecard of the app on that profile from that command, or None."""
        row = self._db.execute(
            "SELECT id, scorecard FROM runs WHERE app_name = ? AND profile = ? AND command = ? AND verdict = 'GO' "
            "ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (app_name, profile, command),
        ).fetchone()
        return _parse(row[1], f"{self.path} (run {row[0]})") if row else None


def _parse(text: str, where: str) -> Scorecard:
    try:
        card = Scorecard.model_validate_json(text)
    except ValidationError as exc:
        problem = exc.errors()[0]
        location = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        raise ConfigError(f"not a scorecard this harness reads: {location}: {problem['msg']}", file=where) from None
    if card.schema_version.split(".")[0] != SCORECARD_SCHEMA.split(".")[0]:  # another major version: fields may mean other things
        raise ConfigError(
            f"scorecard schema {card.schema_version!r} is not one this harness reads (major version "
            f"{SCORECARD_SCHEMA.split('.')[0]}, up to {SCORECARD_SCHEMA})",
            file=where,
        )
    return card


def read_scorecard(path: Path) -> Scorecard:
    """A scorecard.json file (or a report folder holding one); ConfigError when it is missing or not a scorecard."""
    path = Path(path)
    if path.is_dir():
        path = path / "scorecard.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read file: {exc}", file=str(path)) from None
    return _parse(text, str(path))
