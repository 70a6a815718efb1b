"""What a load run produced, read from the CSV files Locust writes (`--csv PREFIX --csv-full-history`).

    PREFIX_stats.csv          one row per request name, then `Aggregated`     -> RequestStats
    PREFIX_stats_history.csv  one row per name and second (users, rates, %)   -> LoadResult.history
    PREFIX_failures.csv       Method, Name, Error, Occurrences                -> LoadResult.failures
    PREFIX_exceptions.csv     errors raised by the locustfile itself          -> a harness error

Pure text-to-value functions, so they are tested on sample CSV text without running Locust.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

AGGREGATED = "Aggregated"
NOT_AVAILABLE = "N/A"


@dataclass(frozen=True)
class RequestStats:
    """One row of Locust's `_stats.csv`. Times are in milliseconds, 0 when there were no requests."""

    name: str
    """Request name (e.g. `start OrderWorkflow`), or `Aggregated` for all of them together."""
    requests: int
    """Requests made, failed ones included."""
    failures: int
    rps: float
    """Requests per second over the whole run."""
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True)
class LoadResult:
    """Everything one load run produced."""

    workflow_ids: tuple[str, ...]
    """Every workflow id Locust started successfully, from the id files the Locust processes wrote."""
    requests: tuple[RequestStats, ...]
    """Per request name, plus the `Aggregated` row last."""
    duration_s: float
    """Wall time from starting Locust to its exit."""
    locust_workers: int
    """Locust worker processes (0: one local process ran the users)."""
    history: tuple[dict, ...]
    """Rows of `_stats_history.csv` (Timestamp, User Count, Name, Requests/s, Failures/s, percentiles, totals)."""
    failures: tuple[dict, ...]
    """Rows of `_failures.csv` (Method, Name, Error, Occurrences)."""

    @property
    def aggregated(self) -> RequestStats | None:
        return next((row for row in self.requests if row.name == AGGREGATED), None)


def _number(text: str) -> float:
    return 0.0 if text in ("", NOT_AVAILABLE) else float(text)


def _value(text: str) -> int | float | str | None:
    """A history/failure cell as a number where it is one, None for `N/A`, else the text."""
    if text == NOT_AVAILABLE:
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def parse_request_stats(text: str) -> tuple[RequestStats, ...]:
    """`_stats.csv` text -> one RequestStats per request name, with the Aggregated row last."""
    parsed = [
        RequestStats(
            name=row["Name"],
            requests=int(row["Request Count"]),
            failures=int(row["Failure Count"]),
            rps=_number(row["Requests/s"]),
            p50_ms=_number(row["50%"]),
            p95_ms=_number(row["95%"]),
            p99_ms=_number(row["99%"]),
            max_ms=_number(row["Max Response Time"]),
        )
        for row in _rows(text)
    ]
    return tuple(sorted(parsed, key=lambda row: row.name == AGGREGATED))


def parse_table(text: str) -> tuple[dict, ...]:
    """A history or failures CSV -> one dict per row, numbers converted."""
    return tuple({key: _value(cell) for key, cell in row.items()} for row in _rows(text))


def parse_exceptions(text: str) -> list[str]:
    """`_exceptions.csv` text -> one line per distinct error the locustfile raised."""
    return [f"{row['Count']}x {row['Message']}\n{row['Traceback']}" for row in _rows(text)]


def read_workflow_ids(work_dir: Path) -> tuple[str, ...]:
    """Workflow ids from every `ids-*.txt` file the Locust processes wrote, in file then line order."""
    ids: list[str] = []
    for path in sorted(work_dir.glob("ids-*.txt")):
        ids.extend(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return tuple(ids)
