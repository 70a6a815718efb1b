"""Render the scorecard JSON into Markdown and JUnit XML, and write every report atomically."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from harness.journal import write_all_or_nothing
from harness.scorecard.changes_md import since_last_go_md
from harness.scorecard.html import to_html
from harness.scorecard.model import Scorecard, Status, WaiverRef
from harness.scorecard.verdict import waived
from harness.scorecard.waivers import WHOLE_CHECK, recorded_waivers, waiver_note, why_unused

_NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
STATUS_ICON = {"PASS": "✅", "FAIL": "❌", "WARN": "⚠️", "NO_DATA": "❔", "ERROR": "💥", "SKIPPED": "⏭️"}


def xml_safe(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (ANSI escapes from SDK logs, NULs) so every viewer can parse the file."""
    return _NOT_XML.sub("", text)


def to_json(card: Scorecard) -> str:
    return card.model_dump_json(indent=2) + "\n"


def _cell(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _joined(values: list, limit: int = 20) -> str:
    shown = ", ".join(_cell(v) for v in values[:limit]) or "none"
    return shown + (f" (and {len(values) - limit} more)" if len(values) > limit else "")


def _evidence_md(evidence: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    figures = {
        k: _joined(v) if isinstance(v, list) else v
        for k, v in evidence.items()
        if not (isinstance(v, list) and v and all(isinstance(r, dict) for r in v))
    }
    if figures:
        lines += ["| figure | value |", "|---|---|", *(f"| {k} | {_cell(v)} |" for k, v in figures.items()), ""]
    for key, rows in evidence.items():
        if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
            columns = list(dict.fromkeys(c for r in rows for c in r))
            lines += [f"**{key}**", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            lines += ["| " + " | ".join(_cell(r.get(c, "")) for c in columns) + " |" for r in rows]
            lines.append("")
    return lines


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 86400:  # workflow time on the time-skipping server
        return f"{value / 86400:.1f} days"
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def _workflow_types_md(card: Scorecard) -> list[str]:
    if not card.workflow_types:
        return []
    lines = [
        "## Workflow types (the first-48-hours view)",
        "",
        "End-to-end latency of completed runs and how the others ended, whatever the checks said.",
        "",
        "| workflow type | runs | completed | failed | open | stopped by the harness | failure rate | p50 (s) | p95 (s) | p99 (s) | clock |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in card.workflow_types:
        lines.append(
            f"| {t.workflow_type} | {t.workflows} | {t.completed} | {t.failed} | {t.still_open} | {t.stopped_by_harness} | {t.failure_rate:.1%} "
            f"| {_seconds(t.latency_p50_s)} | {_seconds(t.latency_p95_s)} | {_seconds(t.latency_p99_s)} | {t.clock} |"
        )
    classes = [(t.workflow_type, c) for t in card.workflow_types for c in t.failure_classes]
    if classes:
        lines += [
            "", "**Failure classes**", "",
            "| workflow type | ended | error type | message pattern | count | sample |", "|---|---|---|---|---|---|",
            *(
                f"| {name} | {c.status} | {_cell(c.error_type)} | {_cell(c.message_pattern) or '-'} | {c.count} "
                f"| `{c.sample_history or c.sample_workflow_id}` |"
                for name, c in classes
            ),
        ]
    return lines + [""]


def _waiver_row(w: WaiverRef, last: str) -> str:
    expires = f"**EXPIRED** {w.expires}" if w.expired else w.expires
    return f"| `{w.check}` | {_cell(w.scope or WHOLE_CHECK)} | {_cell(w.ticket)} | {_cell(w.owner)} | {expires} | {_cell(last)} |"


def _waivers_md(card: Scorecard) -> list[str]:
    """Waived failures and unused waivers, right under the verdict: what the team signed off, and what is stale."""
    lines: list[str] = []
    if recorded := recorded_waivers(card.checks):
        lines += [
            "## Waived failures", "",
            "These checks FAILed and a waiver covers them until it expires; an EXPIRED waiver counts as the failure.", "",
            "| check | scope | ticket | owner | expires | reason |", "|---|---|---|---|---|---|",
            *(_waiver_row(w, w.reason) for w in recorded), "",
        ]
    if card.unused_waivers:
        lines += [
            "## Unused waivers", "", "They covered no failure of this run: remove them, or fix their scope.", "",
            "| check | scope | ticket | owner | expires | why unused |", "|---|---|---|---|---|---|",
            *(_waiver_row(w, why_unused(w, card.checks)) for w in card.unused_waivers), "",
        ]
    return lines


def to_markdown(card: Scorecard) -> str:
    run = card.run
    lines = [
        f"# Readiness scorecard: {run.app_name}",
        "",
        f"## Verdict: **{card.verdict.value}**",
        "",
        card.verdict_reason,
        "",
        *_waivers_md(card),
        "| check | scenario | status | summary |",
        "|---|---|---|---|",
        *(
            f"| `{c.id}` | {c.scenario} | {STATUS_ICON[c.status.value]} {c.status.value}{', ' + note if (note := waiver_note(c)) else ''} "
            f"| {_cell(c.summary)} |"
            for c in card.checks
        ),
        "",
        *since_last_go_md(card),
        "## Run",
        "",
        f"- `readiness {run.command}` run id `{run.id}`, profile `{run.profile}`, {run.started_at} -> {run.finished_at} ({run.duration_s:.1f} s)",
        f"- target: {run.target.kind} `{run.target.address}` namespace `{run.target.namespace}`"
        f" (server {run.target.server_version or 'unknown'})",
        f"- app commit: `{run.app_git_commit or 'not a git checkout'}`; config `{run.config_file}`",
        f"- harness {run.harness_version}, temporalio {run.sdk_version}, Python {run.python_version}",
        "",
        "| scenario | status | duration (s) |",
        "|---|---|---|",
        *(f"| {s.name} | {s.status}{': ' + _cell(s.error) if s.error else ''} | {s.duration_s} |" for s in card.scenarios),
        "",
        *_workflow_types_md(card),
    ]
    for check in card.checks:
        where = check.scenario if check.scenario.startswith("(") else f"({check.scenario})"  # "(all faults)" is already one
        lines += [f"## {STATUS_ICON[check.status.value]} `{check.id}` {where}", "", f"*Covers:* {check.failure_mode}.", ""]
        lines += [check.summary, ""]
        if check.subjects:
            lines += [f"*Concerns:* {', '.join(f'`{s}`' for s in check.subjects)}", ""]
        if note := waiver_note(check):
            lines += [f"**{note}:** " + "; ".join(f"{_cell(w.reason)} ({_cell(w.owner)})" for w in check.waivers), ""]
        lines += _evidence_md(check.evidence)
        if check.remediation:
            lines += ["**What to fix:** " + check.remediation, ""]
    lines += ["---", f"Artifacts: {', '.join(f'`{v}`' for v in card.artifacts.values())}. Schema {card.schema_version}.", ""]
    return "\n".join(lines)


def to_junit(card: Scorecard) -> str:
    """One test case per check. A FAIL covered by unexpired waivers is a skipped case (its message starts with WAIVED),
    so CI viewers agree with the GO-WITH-WAIVERS exit code; with an expired waiver it stays a failure."""
    failures = sum(c.status == Status.FAIL and not waived(c) for c in card.checks)
    errors = sum(c.status in (Status.ERROR, Status.NO_DATA) for c in card.checks)
    skipped = sum(c.status == Status.SKIPPED or waived(c) for c in card.checks)
    suites = ET.Element("testsuites", name="readiness", tests=str(len(card.checks)), failures=str(failures), errors=str(errors))
    suite = ET.SubElement(
        suites, "testsuite", name=f"readiness.{card.run.app_name}", tests=str(len(card.checks)),
        failures=str(failures), errors=str(errors), skipped=str(skipped), time=f"{card.run.duration_s:.2f}",
        timestamp=card.run.started_at,
    )
    for check in card.checks:
        case = ET.SubElement(suite, "testcase", classname=check.scenario, name=check.id)
        body = json.dumps(check.evidence, indent=2, default=str) + ("\n\nFix: " + check.remediation if check.remediation else "")
        if check.status == Status.FAIL:
            note = waiver_note(check)
            message = f"{note}: {check.summary}" if note else check.summary
            body += "".join(f"\n\nWaiver {w.ticket} ({w.owner}, expires {w.expires}): {w.reason}" for w in check.waivers)
            if waived(check):
                ET.SubElement(case, "skipped", message=xml_safe(message))
                ET.SubElement(case, "system-out").text = xml_safe(f"FAIL, waived: {check.summary}\n\n{body}")
            else:
                ET.SubElement(case, "failure", message=xml_safe(message), type="FAIL").text = xml_safe(body)
        elif check.status in (Status.ERROR, Status.NO_DATA):
            ET.SubElement(case, "error", message=xml_safe(check.summary), type=check.status.value).text = xml_safe(body)
        elif check.status == Status.SKIPPED:
            ET.SubElement(case, "skipped", message=xml_safe(check.summary))
        else:
            ET.SubElement(case, "system-out").text = xml_safe(f"{check.status.value}: {check.summary}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_reports(card: Scorecard, out_dir: Path) -> dict[str, Path]:
    """Render everything first, then write all or nothing: a rendering error or a full disk leaves no partial report set
    (never a scorecard.json without its scorecard.md, junit.xml and scorecard.html)."""
    rendered = {
        "scorecard.json": to_json(card), "scorecard.md": to_markdown(card), "junit.xml": to_junit(card), "scorecard.html": to_html(card),
    }
    paths = {name: out_dir / name for name in rendered}
    write_all_or_nothing({paths[name]: text for name, text in rendered.items()})
    return paths
