"""`readiness parity A B`: compare what two environments actually run (read-only, so protected profiles are fine)."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from harness import profiles
from harness.cli.common import console, fail, run_async, since_seconds
from harness.cli.history import history_db_option, record_run
from harness.cli.run import config_option, print_summary
from harness.config import load_config
from harness.errors import ConfigError, HarnessError
from harness.history.record import check_usable
from harness.journal import now_iso, write_atomic
from harness.parity.compare import ParityReport, compare, parity_scorecard
from harness.parity.sample import sample
from harness.run_info import ensure_writable, prepare_out_dir, run_info
from harness.scorecard.model import Scorecard, TargetInfo
from harness.scorecard.render import write_reports

PARITY_FILE = "parity.json"


def print_parity(report: ParityReport) -> None:
    left, right = report.left, report.right
    for s in (left, right):
        matching = "" if s.matching is None else f" of {s.matching}"
        console.print(
            f"[bold]{escape(s.profile)}[/] {escape(s.address)} namespace {escape(s.namespace)}: {s.listed}{matching} workflows listed, "
            f"{s.definitions.histories} histories, SDKs {escape(', '.join(s.definitions.sdks) or 'unknown')}"
        )
    if not report.differences:
        console.print("No difference found.")
        return
    table = Table(title=f"Differences between {escape(left.profile)} and {escape(right.profile)}")
    table.add_column("difference", overflow="fold")
    table.add_column("documented", no_wrap=True)
    for d in report.differences:
        table.add_row(escape(d.sentence), f"[green]yes[/] [dim]{escape(d.documented_by)}[/]" if d.documented else "[bold yellow]NO[/]")
    console.print(table)


@click.command(name="parity")
@click.argument("left", metavar="A")
@click.argument("right", metavar="B")
@config_option
@click.option("--since", default="24h", show_default=True, metavar="DURATION", help="Compare workflows started this long ago (1h, 24h, 7d).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="At most this many workflows (and histories) per environment.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("reports/parity"), show_default=True, help="Report folder.")
@history_db_option
def parity(left: str, right: str, config_path: Path, since: str, limit: int, out_dir: Path, history_db: Path) -> None:
    """Compare what two environment profiles actually run, from a sample of their histories and task queues: workflow
    and activity types, effective retry policies and timeouts, workers polling, SDK versions. Each difference is
    marked documented when the config's `differences` of either profile names it; undocumented ones WARN. Read-only."""
    since_s = since_seconds(since, example="24h")
    try:
        config = load_config(config_path)
        chosen = [profiles.resolve(name, config, config_path) for name in (left, right)]
        if left == right:
            raise ConfigError(f"compare two different profiles (got {left!r} twice)", key_path="B")
        for profile in chosen:
            if not profile.address:
                raise ConfigError(
                    f"profile {profile.name!r} has no address: parity reads existing clusters (set profiles.{profile.name}.address)",
                    file=str(config_path), key_path=f"profiles.{profile.name}.address",
                )
        ensure_writable(out_dir)
        check_usable(history_db)
    except HarnessError as exc:  # bad input (exit 2), or a history database another process keeps locked (3)
        fail(str(exc), exc.exit_code)
    task_queues = {config.task_queue}
    run_id, started_at, started = uuid.uuid4().hex[:8], now_iso(), time.monotonic()

    async def go() -> ParityReport:
        clients = [await profiles.connect(p) for p in chosen]  # read-only from here on
        prepare_out_dir(out_dir, also=(PARITY_FILE,))
        samples = []
        for profile, client in zip(chosen, clients, strict=True):
            console.print(f"Sampling {escape(profile.name)} ({escape(profile.address or '')}, namespace {escape(client.namespace)})…")
            samples.append(await sample(
                client, profile=profile.name, address=profile.address or "", since_s=since_s, limit=limit,
                task_queues=task_queues, out_dir=out_dir,
            ))
        return compare(samples[0], samples[1], {p.name: p.differences for p in chosen})

    report = run_async(go(), crash_dir=out_dir / "logs")
    run = run_info(
        run_id=run_id, command="parity", profile=f"{left} vs {right}", started_at=started_at, started=started,
        config_file=config_path, app_name=config.app.name, app_path=None,
        target=TargetInfo(
            kind="existing", address=f"{report.left.address} | {report.right.address}",
            namespace=f"{report.left.namespace} | {report.right.namespace}",
        ),
    )
    card: Scorecard = parity_scorecard(
        report, run=run, duration_s=run.duration_s, artifacts={"parity": PARITY_FILE, "histories": "histories/"}
    )
    write_atomic(out_dir / PARITY_FILE, report.model_dump_json(indent=2) + "\n")
    reports = write_reports(card, out_dir)
    record_run(history_db, card, out_dir)
    print_parity(report)
    print_summary(card, reports)
    sys.exit(card.exit_code)
