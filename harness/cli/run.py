"""`readiness run`, `capture`, `validate` and `schema`: the commands that work from a readiness config."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from harness import __version__, profiles
from harness.cli.common import (
    STATUS_STYLE,
    address_option,
    console,
    err_console,
    fail,
    namespace_option,
    profile_option,
    run_async,
)
from harness.cli.history import history_db_option, record_run
from harness.errors import ConfigError, HarnessError, OutputError
from harness.journal import Step, write_all_or_nothing
from harness.plan import RunPlan
from harness.planning import json_schemas, load_plan, validate_file
from harness.runner import RunOptions, execute, preflight
from harness.scorecard.model import Scorecard
from harness.scorecard.render import write_reports
from harness.scorecard.verdict import waived
from harness.scorecard.waivers import WHOLE_CHECK, recorded_waivers, why_unused

VERDICT_STYLE = {"GO": "bold green", "GO-WITH-WAIVERS": "bold yellow", "NO-GO": "bold red", "INCONCLUSIVE": "bold magenta"}
CAPTURE_RUN_DIR = ".run"


def print_step(step: Step) -> None:
    where = escape(f"[{step.scenario}] ") if step.scenario else ""
    if step.status == "running":
        console.print(f"  [dim]…[/] {where}{step.name}")
        return
    mark = {"ok": "[green]✓[/]", "failed": "[red]✗[/]", "interrupted": "[yellow]![/]"}[step.status]
    note = f" [red]{escape(step.error)}[/]" if step.error else ""
    console.print(f"  {mark} {where}{step.name} [dim]({step.duration_s:.1f}s)[/]{note}")


def print_waivers(card: Scorecard) -> None:
    """Waived failures (an EXPIRED waiver in bold red: it no longer covers the failure) and unused waivers."""
    if recorded := recorded_waivers(card.checks):
        console.print("[bold yellow]Waived failures:[/]")
        for w in recorded:
            expiry = f"[bold red]EXPIRED on {w.expires}[/]" if w.expired else f"expires {w.expires}"
            console.print(
                f"  {escape(w.check)} · {escape(w.scope or WHOLE_CHECK)} · {escape(w.ticket)} ({escape(w.owner)}), {expiry}: {escape(w.reason)}",
                soft_wrap=True,
            )
    if card.unused_waivers:
        console.print("[bold]Unused waivers[/] (they covered no failure: remove or fix them):")
        for w in card.unused_waivers:
            console.print(
                f"  {escape(w.check)} · {escape(w.scope or WHOLE_CHECK)} · {escape(w.ticket)}: {escape(why_unused(w, card.checks))}", soft_wrap=True
            )


def print_summary(card: Scorecard, reports: dict[str, Path]) -> None:
    table = Table(title=f"Readiness of {escape(card.run.app_name)}")
    table.add_column("status", no_wrap=True)
    table.add_column("check (scenario)", no_wrap=True)
    table.add_column("summary", overflow="fold")
    for check in card.checks:
        style = STATUS_STYLE[check.status.value]
        note = f"\n[yellow]{'waived' if waived(check) else 'waiver expired'}[/]" if check.waivers else ""
        table.add_row(f"[{style}]{check.status.value}[/]{note}", f"{escape(check.id)}\n[dim]{escape(check.scenario)}[/]", escape(check.summary))
    console.print(table)
    for check in card.checks:
        if check.remediation and check.status.value != "PASS":
            console.print(f"[bold]Fix {escape(check.id)}:[/] {escape(check.remediation)}")
    print_waivers(card)
    console.print(f"Verdict: [{VERDICT_STYLE[card.verdict.value]}]{card.verdict.value}[/] ({escape(card.verdict_reason)})")
    console.print("Reports: " + ", ".join(str(p) for p in reports.values()), soft_wrap=True)


def _plan(
    config_path: Path, scenarios: tuple[str, ...], options: RunOptions, profile: str, waivers: Path | None = None
) -> tuple[RunPlan, RunOptions]:
    """The plan and the options with the named profile, once everything that can be checked before starting was."""
    try:
        plan = load_plan(config_path, list(scenarios) or None, waivers)
        options = replace(options, profile=profiles.resolve(profile, plan.config, plan.config_path, check_secrets=False))  # preflight checks them
        preflight(plan, options)
    except HarnessError as exc:  # bad input (exit 2), or a history database another process keeps locked (3)
        fail(str(exc), exc.exit_code)
    console.print(
        f"[bold]readiness {__version__}[/]: {escape(plan.config.app.name)} · scenarios {', '.join(s.name for s in plan.scenarios)}"
        f" · profile {escape(options.profile.name)} · target {escape(options.address or options.profile.address or plan.config.target.kind)}"
    )
    if plan.waivers_file:
        console.print(f"waivers: {len(plan.waivers)} from {escape(str(plan.waivers_file))}")
    return plan, options


def _execute(plan: RunPlan, options: RunOptions) -> tuple[Scorecard, dict[str, Path]]:
    async def go():
        card = await execute(plan, options, on_step=print_step)
        try:
            return card, write_reports(card, options.out_dir)
        except OSError as exc:
            raise OutputError(options.out_dir / "scorecard.json", exc) from None

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
lanes_option = click.option(
    "--lanes", type=click.IntRange(1, 8), default=None, metavar="N",
    help="On a local target, run the scenarios side by side in N lanes, each with its own dev server, workers and "
    "dependency proxies  [default: 3; 1: one after another; always 1 on an existing cluster].",
)
scenario_option = click.option("--scenario", "scenarios", multiple=True, metavar="NAME", help="Run only this scenario (repeatable).")


@click.command()
@config_option
@scenario_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("reports/latest"), show_default=True, help="Report folder.")
@address_option
@namespace_option
@locust_workers_option
@lanes_option
@profile_option(
    help="Environment profile from the config's `profiles` (its address, namespace, TLS and API key; a protected one refuses "
    "scenarios). Built in: local = the config's target, an embedded dev server by default; compose = the docker-compose.yml "
    "stack (Temporal on 127.0.0.1:7233; workers listed for its Prometheus in dashboards/prometheus/targets/).",
)
@history_db_option
@click.option(
    "--waivers", "waivers", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
    help="Waivers file (accepted failures with an expiry date), instead of the config's `waivers`.",
)
def run(
    config_path: Path, scenarios: tuple[str, ...], out_dir: Path, address: str | None, namespace: str | None, locust_workers: int,
    lanes: int | None, profile: str, history_db: Path, waivers: Path | None,
) -> None:
    """Run the scenarios against the app and write scorecard.json, scorecard.md, scorecard.html and junit.xml."""
    options = RunOptions(
        out_dir=out_dir, address=address, namespace=namespace, locust_workers=locust_workers, history_db=history_db, lanes=lanes
    )
    plan, options = _plan(config_path, scenarios, options, profile, waivers)
    card, reports = _execute(plan, options)
    record_run(history_db, card, out_dir)
    print_summary(card, reports)
    sys.exit(card.exit_code)


@click.command()
@config_option
@scenario_option
@click.option("--out", "corpus_dir", required=True, type=click.Path(path_type=Path, file_okay=False), help="Corpus folder to add the histories to.")
@address_option
@namespace_option
@locust_workers_option
@profile_option()
def capture(
    config_path: Path, scenarios: tuple[str, ...], corpus_dir: Path, address: str | None, namespace: str | None, locust_workers: int,
    profile: str,
) -> None:
    """Run the scenarios and keep every workflow history as JSON in a corpus folder, for
    `readiness replay CORPUS --workflows <next version>` before the next deploy."""
    options = RunOptions(out_dir=corpus_dir / CAPTURE_RUN_DIR, address=address, namespace=namespace, locust_workers=locust_workers)
    plan, options = _plan(config_path, scenarios, options, profile)
    card, _ = _execute(plan, options)
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
    """Validate config, scenario and waivers files (a scenario file has a `kind` key, a waivers file a `waivers` list)."""
    problems = 0
    for path in files:
        try:
            console.print(f"ok: {path} ({validate_file(path)})")
        except ConfigError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
            problems += 1
    sys.exit(2 if problems else 0)


@click.command()
@click.option("--kind", type=click.Choice(["all", "config", "scenario", "waivers"]), default="all", show_default=True)
def schema(kind: str) -> None:
    """Print the JSON Schema of the config, scenario and waivers files (for editors)."""
    schemas = json_schemas()
    click.echo(json.dumps(schemas if kind == "all" else schemas[kind], indent=2))
