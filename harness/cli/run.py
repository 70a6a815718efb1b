"""The `readiness` command: the only place that touches argv, stdout and exit codes.

Exit codes (a contract CI jobs depend on): 0 GO, 1 NO-GO, 2 bad usage/config/input, 3 harness error,
interrupted run, or INCONCLUSIVE.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import traceback
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness import __version__
from harness.config import json_schemas, load_plan, validate_file
from harness.errors import ConfigError, HarnessError
from harness.journal import Step
from harness.runner import RunOptions, execute, preflight
from harness.scorecard.model import Scorecard
from harness.scorecard.render import write_reports

EXIT_INTERRUPTED = 3
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
STATUS_STYLE = {"PASS": "green", "FAIL": "bold red", "WARN": "yellow", "NO_DATA": "magenta", "ERROR": "bold magenta", "SKIPPED": "dim"}
VERDICT_STYLE = {"GO": "bold green", "NO-GO": "bold red", "INCONCLUSIVE": "bold magenta"}


def fail(message: str, code: int) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(code)


def print_step(step: Step) -> None:
    where = escape(f"[{step.scenario}] ") if step.scenario else ""
    if step.status == "running":
        console.print(f"  [dim]…[/] {where}{step.name}")
        return
    mark = {"ok": "[green]✓[/]", "failed": "[red]✗[/]", "interrupted": "[yellow]![/]"}[step.status]
    note = f" [red]{escape(step.error)}[/]" if step.error else ""
    console.print(f"  {mark} {where}{step.name} [dim]({step.duration_s:.1f}s)[/]{note}")


def print_summary(card: Scorecard, reports: dict[str, Path]) -> None:
    table = Table(title=f"Readiness of {escape(card.run.app_name)}")
    table.add_column("status", no_wrap=True)
    table.add_column("check (scenario)", no_wrap=True)
    table.add_column("summary", overflow="fold")
    for check in card.checks:
        style = STATUS_STYLE[check.status.value]
        table.add_row(f"[{style}]{check.status.value}[/]", f"{escape(check.id)}\n[dim]{escape(check.scenario)}[/]", escape(check.summary))
    console.print(table)
    for check in card.checks:
        if check.remediation and check.status.value != "PASS":
            console.print(f"[bold]Fix {escape(check.id)}:[/] {escape(check.remediation)}")
    console.print(f"Verdict: [{VERDICT_STYLE[card.verdict.value]}]{card.verdict.value}[/] ({escape(card.verdict_reason)})")
    console.print("Reports: " + ", ".join(str(p) for p in reports.values()), soft_wrap=True)


async def _run_cancellable(coro):
    """Run `coro` so that Ctrl-C or SIGTERM cancels it once, unwinding every cleanup; signals that arrive
    while cleanup runs are ignored instead of cutting it short."""
    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()

    def interrupt() -> None:
        if task.cancelling():
            err_console.print("still stopping workers, dependencies and server…")
        else:
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt)
    try:
        return await task
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="readiness")
def main() -> None:
    """Production-readiness harness for Temporal workflows: provoke failures, get a go/no-go scorecard."""


@main.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=Path("readiness.yaml"), show_default=True, help="Readiness config file.")
@click.option("--scenario", "scenarios", multiple=True, metavar="NAME", help="Run only this scenario (repeatable).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("reports/latest"), show_default=True, help="Report folder.")
@click.option("--address", metavar="HOST:PORT", help="Use an existing Temporal server instead of the embedded one (TLS/API key from TEMPORAL_* env vars).")
@click.option("--namespace", metavar="NS", help="Namespace to use (default: from the config).")
def run(config_path: Path, scenarios: tuple[str, ...], out_dir: Path, address: str | None, namespace: str | None) -> None:
    """Run the scenarios against the app and write scorecard.json, scorecard.md and junit.xml."""
    try:
        plan = load_plan(config_path, list(scenarios) or None)
        options = RunOptions(out_dir=out_dir, address=address, namespace=namespace)
        preflight(plan, options)
    except ConfigError as exc:
        fail(str(exc), exc.exit_code)
    console.print(
        f"[bold]readiness {__version__}[/]: {plan.config.app.name} · scenarios {', '.join(s.name for s in plan.scenarios)}"
        f" · target {address or plan.config.target.kind}"
    )
    try:
        card = asyncio.run(_run_cancellable(execute(plan, options, on_step=print_step)))
        reports = write_reports(card, out_dir)
    except ConfigError as exc:
        fail(str(exc), exc.exit_code)
    except HarnessError as exc:
        fail(f"{exc}\n(journal: {out_dir / 'journal.json'}, logs: {out_dir / 'logs'})", exc.exit_code)
    except (KeyboardInterrupt, asyncio.CancelledError):
        fail(f"interrupted; everything started was stopped (journal: {out_dir / 'journal.json'})", EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - a harness bug is exit 3, never a traceback read as NO-GO
        crash_log = out_dir / "logs" / "harness-crash.txt"
        with contextlib.suppress(OSError):
            crash_log.parent.mkdir(parents=True, exist_ok=True)
            crash_log.write_text(traceback.format_exc())
        fail(f"internal harness error: {type(exc).__name__}: {exc} (details: {crash_log})", 3)
    print_summary(card, reports)
    sys.exit(card.exit_code)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Validate config and scenario files (a scenario file has a `kind` key)."""
    problems = 0
    for path in files:
        try:
            console.print(f"ok: {path} ({validate_file(path)})")
        except ConfigError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
            problems += 1
    sys.exit(2 if problems else 0)


@main.command()
@click.option("--kind", type=click.Choice(["all", "config", "scenario"]), default="all", show_default=True)
def schema(kind: str) -> None:
    """Print the JSON Schema of the config and scenario files (for editors)."""
    schemas = json_schemas()
    click.echo(json.dumps(schemas if kind == "all" else schemas[kind], indent=2))


if __name__ == "__main__":
    main()
