"""Status changes as Markdown: the scorecard's "since the last GO" section, and the tables `readiness diff` reuses. Pure."""

from __future__ import annotations

from harness.scorecard.model import Scorecard, StatusChange


def md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def status_table(title: str, changes: tuple[StatusChange, ...], heading: str = "##") -> list[str]:
    if not changes:
        return []
    rows = [f"| `{c.check}` | {md_cell(c.scenario)} | {c.old} | {c.new} |" for c in changes]
    return [f"{heading} {title}", "", "| check | scenario | before | after |", "|---|---|---|---|", *rows, ""]


def since_last_go_md(card: Scorecard) -> list[str]:
    """The scorecard.md section: what changed since the last GO run of the app (nothing when there is none)."""
    since = card.since_last_go
    if since is None:
        return []
    lines = [
        "## Since the last GO",
        "",
        f"Compared with run `{since.run_id}` ({since.started_at}, commit `{since.git_commit or 'unknown'}`), the newest earlier "
        f"GO run of {md_cell(card.run.app_name)} on profile {md_cell(card.run.profile)}.",
        "",
    ]
    if not (since.regressed or since.improved or since.definition_changes):
        return lines + ["No check changed status and the effective definitions are the same.", ""]
    lines += status_table("Regressed", tuple(since.regressed), "###")
    lines += status_table("Improved", tuple(since.improved), "###")
    if since.definition_changes:
        lines += ["### Definition changes", "", *(f"- {md_cell(s)}" for s in since.definition_changes), ""]
    return lines
