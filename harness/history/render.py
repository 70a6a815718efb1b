"""Render a RunDiff as Markdown or JSON (the terminal view is in harness/cli/history.py). Pure."""

from __future__ import annotations

from harness.history.diff import FigureChange, RunDiff, RunRef
from harness.scorecard.changes_md import md_cell as _md_cell
from harness.scorecard.changes_md import status_table as _status_table


def figure(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def relative_change(change: FigureChange) -> str:
    if change.old == 0:
        return "new" if change.new else ""
    return f"{(change.new - change.old) / abs(change.old):+.0%}"


def run_label(ref: RunRef) -> str:
    return f"`{ref.id}` {ref.started_at} ({ref.command}, profile {ref.profile})"


def definitions_note(diff: RunDiff) -> str:
    if not diff.definitions_compared:
        return "Not compared: a scorecard without effective definitions (written before they were recorded)."
    return "" if diff.definitions else "No change in the workflow and activity types, their options, signals, updates, queries or SDKs."


def to_markdown(diff: RunDiff) -> str:
    old, new = diff.old, diff.new
    verdict = f"**{old.verdict} -> {new.verdict}**" if diff.verdict_changed else f"{new.verdict} (unchanged)"
    lines = [
        f"# Readiness diff: {old.id} -> {new.id}",
        "",
        "| | before | after |",
        "|---|---|---|",
        f"| run | {run_label(old)} | {run_label(new)} |",
        f"| app | {_md_cell(old.app_name)} | {_md_cell(new.app_name)} |",
        f"| commit | `{old.git_commit or 'unknown'}` | `{new.git_commit or 'unknown'}` |",
        f"| verdict | {old.verdict} | {new.verdict} |",
        "",
        f"Verdict: {verdict}. {len(diff.regressed)} check(s) regressed, {len(diff.improved)} improved.",
        "",
        *_status_table("Checks that regressed", diff.regressed),
        *_status_table("Checks that improved", diff.improved),
        *_status_table("Other status changes", diff.changed),
    ]
    if diff.only_in_old or diff.only_in_new:
        lines += ["## Checks in one run only", ""]
        lines += [f"- only before: {_md_cell(c)}" for c in diff.only_in_old]
        lines += [f"- only after: {_md_cell(c)}" for c in diff.only_in_new]
        lines.append("")
    lines += ["## Effective definitions", ""]
    lines += [f"- {_md_cell(c.sentence)}" for c in diff.definitions] or [definitions_note(diff)]
    lines.append("")
    if diff.figures:
        lines += ["## Changed figures", "", "| check | figure | before | after | change |", "|---|---|---|---|---|"]
        lines += [
            f"| `{f.check}` | {_md_cell(f.name)} | {figure(f.old)} | {figure(f.new)} | {relative_change(f)} |" for f in diff.figures
        ]
        lines.append("")
    return "\n".join(lines)


def to_json(diff: RunDiff) -> str:
    return diff.model_dump_json(indent=2) + "\n"
