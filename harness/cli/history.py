"""`readiness history` (the recorded runs) and `readiness diff A B` (what changed between two runs), plus the
`--history-db` option and the recording step `readiness run` ends with."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from harness.cli.common import STATUS_STYLE, console, err_console, fail
from harness.errors import ConfigError, HarnessError
from harness.history import record
from harness.history.diff import RunDiff, diff_scorecards
from harness.history.render import definitions_note, figure, relative_change, run_label, to_json, to_markdown
from harness.history.store import DEFAULT_PATH, ENV_VAR, HistoryStore, read_scorecard
from harness.journal import write_atomic
from harness.scorecard.model import Scorecard, StatusChange

VERDICT_STYLE = {"GO": "bold green", "GO-WITH-WAIVERS": "bold yellow", "NO-GO": "bold red", "INCONCLUSIVE": "bold magenta"}
SHOWN_FIGURES = 40

history_db_option = click.option(
    "--history-db", type=click.Path(path_type=Path, dir_okay=False), envvar=ENV_VAR, show_envvar=True,
    default=DEFAULT_PATH, show_default=True, help="The run history (SQLite).",
)


def record_run(history_db: Path, card: Scorecard, report_dir: Path) -> None:
    """Record a finished run; a failure is a warning, never a lost verdict (the reports are already written)."""
    try:
        record.record(history_db, card, report_dir)
    except Exception as exc:  # noqa: BLE001 - the verdict and its reports stand whatever happens to the history
        err_console.print(
            f"[yellow]warning:[/] run {card.run.id} was not recorded in the history {escape(str(history_db))}: "
            f"{escape(f'{type(exc).__name__}: {exc}')}",
            soft_wrap=True,
        )


def _short_commit(commit: str | None) -> str:
    if not commit:
        return "-"
    return commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")


@click.command()
@click.option("--app", "app_name", metavar="NAME", help="Only the runs of this app (its `app.name`).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True, metavar="N", help="Newest N runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@history_db_option
def history(app_name: str | None, limit: int, as_json: bool, history_db: Path) -> None:
    """List the recorded runs, newest first."""
    if not history_db.exists():
        if as_json:
            click.echo("[]")
        else:
            console.print(f"No runs recorded yet ({escape(str(history_db))}).")
        return
    try:
        with HistoryStore.open(history_db, create=False) as store:
            rows = store.runs(app_name, limit)
    except HarnessError as exc:  # bad input (exit 2), or a history database another process keeps locked (3)
        fail(str(exc), exc.exit_code)
    if as_json:
        click.echo(json.dumps([asdict(row) for row in rows], indent=2))
        return
    table = Table(title=f"Runs in {escape(str(history_db))}" + (f" of {escape(app_name)}" if app_name else ""))
    for column in ("run", "started", "command", "profile", "app", "target", "commit", "verdict", "pass/fail/warn"):
        table.add_column(column, no_wrap=column in ("run", "verdict"), overflow="fold")
    for row in rows:
        table.add_row(
            row.id, row.started_at[:19].replace("T", " "), row.command, escape(row.profile), escape(row.app_name), escape(row.target),
            _short_commit(row.git_commit), f"[{VERDICT_STYLE.get(row.verdict, 'bold')}]{row.verdict}[/]",
            f"{row.passed}/{row.failed}/{row.warned}",
        )
    console.print(table)


def load_run(reference: str, history_db: Path) -> Scorecard:
    """A scorecard.json file, a report folder, or a run id (or a unique prefix of one) from the history."""
    path = Path(reference)
    if path.exists() or reference.endswith(".json") or "/" in reference:
        return read_scorecard(path)
    if not history_db.is_file():
        raise ConfigError(f"unknown run id {reference!r}: no history database there, and no such file", file=str(history_db))
    with HistoryStore.open(history_db, create=False) as store:
        return store.scorecard(store.resolve(reference))


def _status_rows(title: str, changes: tuple[StatusChange, ...], style: str) -> None:
    if not changes:
        return
    table = Table(title=title, title_style=style, title_justify="left")
    for column in ("check", "scenario", "before", "after"):
        table.add_column(column)
    for c in changes:
        table.add_row(
            escape(c.check), escape(c.scenario), f"[{STATUS_STYLE[c.old]}]{c.old}[/]", f"[{STATUS_STYLE[c.new]}]{c.new}[/]"
        )
    console.print(table)


def print_diff(diff: RunDiff) -> None:
    old, new = diff.old, diff.new
    console.print(f"[bold]before[/] {escape(run_label(old))} {escape(old.app_name)} commit {_short_commit(old.git_commit)}")
    console.print(f"[bold]after[/]  {escape(run_label(new))} {escape(new.app_name)} commit {_short_commit(new.git_commit)}")
    styled = [f"[{VERDICT_STYLE.get(v, 'bold')}]{v}[/]" for v in (old.verdict, new.verdict)]
    console.print(f"Verdict: {styled[0]} -> {styled[1]}" if diff.verdict_changed else f"Verdict: {styled[1]} (unchanged)")
    _status_rows("Checks that regressed", diff.regressed, "bold red")
    _status_rows("Checks that improved", diff.improved, "bold green")
    _status_rows("Other status changes", diff.changed, "bold")
    for label, checks in (("only before", diff.only_in_old), ("only after", diff.only_in_new)):
        if checks:
            console.print(f"Checks {label}: {escape(', '.join(checks))}")
    console.print("[bold]Effective definitions[/]")
    for change in diff.definitions:
        console.print(f"  • {escape(change.sentence)}", soft_wrap=True)
    if note := definitions_note(diff):
        console.print(f"  {escape(note)}")
    if diff.figures:
        table = Table(title="Changed figures", title_justify="left")
        for column in ("check", "figure", "before", "after", "change"):
            table.add_column(column, justify="right" if column in ("before", "after", "change") else "left")
        for f in diff.figures[:SHOWN_FIGURES]:
            table.add_row(escape(f.check), escape(f.name), figure(f.old), figure(f.new), relative_change(f))
        console.print(table)
        if len(diff.figures) > SHOWN_FIGURES:
            console.print(f"… and {len(diff.figures) - SHOWN_FIGURES} more (--format md or json)")


@click.command()
@click.argument("before", metavar="A")
@click.argument("after", metavar="B")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), help="Print Markdown or JSON instead of the terminal view.")
@click.option(
    "--out", "out_file", type=click.Path(path_type=Path, dir_okay=False),
    help="Write the diff to this file (format from --format, else from the suffix: .json is JSON, anything else Markdown).",
)
@history_db_option
def diff(before: str, after: str, fmt: str | None, out_file: Path | None, history_db: Path) -> None:
    """What changed from run A to run B: checks that regressed or improved, figures, and the effective workflow
    definitions. A and B are run ids from the history (a unique prefix is enough), scorecard.json files or report
    folders. Exit 0 whatever changed."""
    try:
        changes = diff_scorecards(load_run(before, history_db), load_run(after, history_db))
    except HarnessError as exc:  # bad input (exit 2), or a history database another process keeps locked (3)
        fail(str(exc), exc.exit_code)
    if out_file is not None:
        fmt = fmt or ("json" if out_file.suffix == ".json" else "md")
        try:
            write_atomic(out_file, to_json(changes) if fmt == "json" else to_markdown(changes))
        except OSError as exc:
            fail(f"--out: cannot write {out_file}: {exc}", 2)
        console.print(f"Wrote {escape(str(out_file))}")
    elif fmt:
        click.echo(to_json(changes) if fmt == "json" else to_markdown(changes), nl=False)
    else:
        print_diff(changes)
    sys.exit(0)
