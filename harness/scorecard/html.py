"""Render the scorecard as one self-contained HTML page: inline CSS, inline SVG charts, no script, no external URL.

Everything on the page comes from the Scorecard model (so an old scorecard.json re-renders); the markup lives in
Jinja templates under `templates/`, with autoescaping on, so evidence text can never become markup.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from harness.scorecard.charts import charts_for
from harness.scorecard.model import CheckResult, Scorecard, Verdict
from harness.scorecard.verdict import waived

VERDICT_CSS = {Verdict.GO: "go", Verdict.GO_WITH_WAIVERS: "waivers", Verdict.NO_GO: "nogo", Verdict.INCONCLUSIVE: "inconclusive"}
COLLAPSE_ROWS = 8
"""Row tables longer than this are collapsed under <details>."""
MAX_LIST_ITEMS = 20
LONG_TEXT = 60
REPORT_FOLDERS = ("histories/", "alerts/", "logs/", "load/", "faults/")
"""Sub-folders of a report folder: evidence values naming a file in them become relative links."""
_RELATIVE_FILE = re.compile(r"^[\w.-]+/[\w./-]+$")

_env = Environment(
    loader=PackageLoader("harness.scorecard", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Value:
    """One displayed value: its text and, for a file of the report folder, a relative link."""

    text: str
    href: str | None = None

    @property
    def long(self) -> bool:
        """Long enough to need a wide column rather than a tall one."""
        return len(self.text) > LONG_TEXT


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]
    collapsed: bool


@dataclass(frozen=True)
class CheckView:
    check: CheckResult
    anchor: str
    figures: tuple[tuple[str, Value], ...]
    tables: tuple[Table, ...]


def display(value: Any) -> Value:
    """A scalar, list or dict of evidence as text; a report-folder file path also as a link."""
    if value is None:
        return Value("-")
    if isinstance(value, bool):
        return Value("yes" if value else "no")
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        shown = ", ".join(display(v).text for v in value[:MAX_LIST_ITEMS]) or "none"
        return Value(shown + (f" (and {len(value) - MAX_LIST_ITEMS} more)" if len(value) > MAX_LIST_ITEMS else ""))
    if isinstance(value, (dict, list)):
        return Value(json.dumps(value, default=str))
    text = str(value)
    if text.startswith(REPORT_FOLDERS) and _RELATIVE_FILE.match(text) and ".." not in text:
        return Value(text, text)
    return Value(text)


def _is_row_table(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(r, dict) for r in value)


def _figures(evidence: dict[str, Any], prefix: str = "") -> list[tuple[str, Value]]:
    """Scalar evidence as (name, value); a nested dict's entries are named `outer.inner`."""
    found: list[tuple[str, Value]] = []
    for key, value in evidence.items():
        if _is_row_table(value):
            continue
        if isinstance(value, dict) and value:
            found += _figures(value, f"{prefix}{key}.")
        else:
            found.append((f"{prefix}{key}", display(value)))
    return found


def evidence_tables(evidence: dict[str, Any]) -> list[Table]:
    """Each list of rows in the evidence as a table with the union of the rows' keys as columns."""
    tables = []
    for key, rows in evidence.items():
        if _is_row_table(rows):
            columns = tuple(dict.fromkeys(c for r in rows for c in r))
            cells = tuple(tuple(display(r.get(c, "")) for c in columns) for r in rows)
            tables.append(Table(key, columns, cells, len(rows) > COLLAPSE_ROWS))
    return tables


def _anchor(check_id: str, taken: set[str]) -> str:
    base = "check-" + re.sub(r"[^A-Za-z0-9_-]+", "-", check_id).strip("-")
    anchor, n = base, 2
    while anchor in taken:
        anchor, n = f"{base}-{n}", n + 1
    taken.add(anchor)
    return anchor


def check_views(card: Scorecard) -> list[CheckView]:
    taken: set[str] = set()
    return [
        CheckView(c, _anchor(c.id, taken), tuple(_figures(c.evidence)), tuple(evidence_tables(c.evidence)))
        for c in card.checks
    ]


def when(iso: str) -> str:
    """`2026-11-21T21:54:14.569+00:00` as `2026-11-21 21:54:14 UTC` (unparseable text is shown as it is)."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    zone = "UTC" if moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0 else moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M:%S} {zone}".strip()


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def latency(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 86400:
        return f"{value / 86400:.1f} days"
    return f"{value:.3g} s" if value < 100 else f"{value:,.0f} s"


_env.filters.update(when=when, duration=duration, latency=latency)
_env.tests["waived"] = waived  # a FAIL its unexpired waivers cover; an expired waiver is not a waiver


def to_html(card: Scorecard) -> str:
    checks = check_views(card)
    return _env.get_template("scorecard.html.j2").render(
        card=card,
        run=card.run,
        verdict_css=VERDICT_CSS[card.verdict],
        waived=[(v, w) for v in checks for w in v.check.waivers],
        failure_classes=[(t.workflow_type, c) for t in card.workflow_types for c in t.failure_classes],
        unused_waivers=list(getattr(card, "unused_waivers", None) or []),
        since=getattr(card, "since_last_go", None),
        checks=checks,
        charts=charts_for(card),
        counts={s: sum(c.status.value == s for c in card.checks) for s in ("PASS", "FAIL", "WARN", "NO_DATA", "ERROR", "SKIPPED")},
    )
