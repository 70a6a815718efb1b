"""`readiness run`, `capture`, `validate` and `schema`: the commands that work from a readiness config."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from harness import __version__
from harness.cli.common import (
    STATUS_STYLE,
    address_option,
    console,
    err_console,
    fail,
    namespace_option,
    run_async,
)
from harness.config import json_schemas, load_plan, validate_file
from harness.config.loader import RunPlan
from harness.errors import ConfigError
from harness.journal import Step, write_all_or_nothing
from harness.profiles import PROFILES
from harness.runner import RunOptions, execute, preflight
from harness.scorecard.model import Scorecard
from harness.scorecard.render import write_reports

VERDICT_STYLE = {"GO": "bold green", "NO-GO": "bold red", "INCONCLUSIVE": "bold magenta"}
CAPTURE_RUN_DIR = ".run"


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


def _plan(config_path: Path, scenarios: tuple[str, ...], options: RunOptions) -> RunPlan:
    try:
        plan = load_plan(config_path, list(scenarios) or None)
        preflight(plan, options)
    except ConfigError as exc:
        fail(str(exc), exc.exit_code)
    console.print(
        f"[bold]readiness {__version__}[/]: {escape(plan.config.app.name)} · scenarios {', '.join(s.name for s in plan.scenarios)}"
        f" · target {escape(options.address or options.profile.address or plan.config.target.kind)}"
    )
    return plan


def _execute(plan: RunPlan, options: RunOptions) -> tuple[Scorecard, dict[str, Path]]:
    async def go():
        card = await execute(plan, options, on_step=print_step)
        return card, write_reports(card, options.out_dir)

    where = f" (journal: {options.out_dir / 'journal.json'}, logs: {options.out_dir / 'logs'})"
    return run_async(go(), crash_dir=options.out_dir / "logs", where=where)


config_option = click.option(
    "--config", "config_path", type=click.Path(path_type=Path), default=Path("readiness.yaml"), show_default=True,
    help="Readiness config file.",
)
locust_workers_option = click.option(
    "--locust-workers", type=click.IntRange(0, 64), default=0, show_default=True, metavar="N",
    help="Run Locust as a master and N local worker processes (0: one process).",
)
profile_option = click.option(
    "--profile", type=click.Choice(sorted(PROFILES)), default="local", show_default=True,
    help="local: the config's target (an embedded dev server by default). compose: the docker-compose.yml stack "
    "(Temporal on 127.0.0.1:7233; workers listed for its Prometheus in dashboards/prometheus/targets/).",
)
scenario_option = click.option("--scenario", "scenarios", multiple=True, metavar="NAME", help="Run only this scenario (repeatable).")


@click.command()
@config_option
@scenario_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("reports/latest"), show_default=True, help="Report folder.")
@address_option
@namespace_option
@locust_workers_option
@profile_option
def run(
    config_path: Path, scenarios: tuple[str, ...], out_dir: Path, address: str | None, namespace: str | None, locust_workers: int,
    profile: str,
) -> None:
    """Run the scenarios against the app and write scorecard.json, scorecard.md and junit.xml."""
    options = RunOptions(out_dir=out_dir, address=address, namespace=namespace, locust_workers=locust_workers, profile=PROFILES[profile])
    card, reports = _execute(_plan(config_path, scenarios, options), options)
    print_summary(card, reports)
    sys.exit(card.exit_code)


@click.command()
@config_option
@scenario_option
@click.option("--out", "corpus_dir", required=True, type=click.Path(path_type=Path, file_okay=False), help="Corpus folder to add the histories to.")
@address_option
@namespace_option
@locust_workers_option
def capture(
    config_path: Path, scenarios: tuple[str, ...], corpus_dir: Path, address: str | None, namespace: str | None, locust_workers: int
) -> None:
    """Run the scenarios and keep every workflow history as JSON in a corpus folder, for
    `readiness replay CORPUS --workflows <next version>` before the next deploy."""
    options = RunOptions(out_dir=corpus_dir / CAPTURE_RUN_DIR, address=address, namespace=namespace, locust_workers=locust_workers)
    card, _ = _execute(_plan(config_path, scenarios, options), options)
    histories = sorted((options.out_dir / "histories").glob("*.json"))
    if not histories or any(s.status != "completed" for s in card.scenarios):
        fail(f"the capture run did not complete every scenario; nothing was added (journal: {options.out_dir / 'journal.json'})", 3)
    write_all_or_nothing({corpus_dir / h.name: h.read_text(encoding="utf-8") for h in histories})
    console.print(
        f"Captured {len(histories)} histories into {escape(str(corpus_dir))} (run verdict {card.verdict.value}; "
        f"its reports are in {escape(str(options.out_dir))})"
    )


@click.command()
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


@click.command()
@click.option("--kind", type=click.Choice(["all", "config", "scenario"]), default="all", show_default=True)
def schema(kind: str) -> None:
    """Print the JSON Schema of the config and scenario files (for editors)."""
    schemas = json_schemas()
    click.echo(json.dumps(schemas if kind == "all" else schemas[kind], indent=2))
