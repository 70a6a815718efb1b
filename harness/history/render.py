"""Render a RunDiff as Markdown or JSON (the terminal view is in harness/cli/history.py). Pure."""

from __future__ import annotations

from harness.history.diff import FigureChange, RunDiff, RunRef
from harness.scorecard.model import Scorecard, StatusChange


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


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _status_table(title: str, changes: tuple[StatusChange, ...], heading: str = "##") -> list[str]:
    if not changes:
        return []
    rows = [f"| `{c.check}` | {_md_cell(c.scenario)} | {c.old} | {c.new} |" for c in changes]
    return [f"{heading} {title}", "", "| check | scenario | before | after |", "|---|---|---|---|", *rows, ""]


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


def since_last_go_md(card: Scorecard) -> list[str]:
    """The scorecard.md section: what changed since the last GO run of the app (nothing when there is none)."""
    since = card.since_last_go
    if since is None:
        return []
    lines = [
        "## Since the last GO",
        "",
        f"Compared with run `{since.run_id}` ({since.started_at}, commit `{since.git_commit or 'unknown'}`), the newest earlier "
        f"GO run of {_md_cell(card.run.app_name)} on profile {_md_cell(card.run.profile)}.",
        "",
    ]
    if not (since.regressed or since.improved or since.definition_changes):
        return lines + ["No check changed status and the effective definitions are the same.", ""]
    lines += _status_table("Regressed", tuple(since.regressed), "###")
    lines += _status_table("Improved", tuple(since.improved), "###")
    if since.definition_changes:
        lines += ["### Definition changes", "", *(f"- {_md_cell(s)}" for s in since.definition_changes), ""]
    return lines


def to_json(diff: RunDiff) -> str:
    return diff.model_dump_json(indent=2) + "\n"
