"""`readiness watch`: the first 48 hours after a launch, read-only. Per workflow type, what visibility and a bounded
sample of histories say about the last `--since`, judged against the config's `watch` thresholds."""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

import click
from rich import box
from rich.markup import escape
from rich.table import Table

from harness import profiles
from harness.cli.common import address_option, console, err_console, fail, namespace_option, profile_option, run_async, since_seconds
from harness.cli.history import history_db_option, record_run
from harness.cli.run import config_option, print_summary
from harness.errors import HarnessError
from harness.history import record as history_record
from harness.run_info import prepare_out_dir
from harness.scorecard.model import Scorecard
from harness.scorecard.render import write_reports
from harness.watch.model import WatchObservations
from harness.watch.stats import TypeCounts, duration_text, window_counts
from harness.watcher import WatchOptions, load, watch

SHOWN_STUCK = 20


def _warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def _endings(c: TypeCounts) -> str:
    return ", ".join(f"{n} {label}" for label, n in (("failed", c.failed), ("timed out", c.timed_out), ("terminated", c.terminated),
                                                     ("canceled", c.canceled)) if n)


def print_window(obs: WatchObservations) -> None:
    table = Table(title=f"Workflows started in the last {duration_text(obs.since_s)} · namespace {escape(obs.namespace)}",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("workflow type", no_wrap=True)
    for column in ("runs", "completed", "failed*", "open", "stuck", "fail %", "p50 s", "p99 s"):
        table.add_column(column, justify="right", min_width=len(column))
    stuck = Counter(s.workflow_type for s in obs.stuck)
    counts = window_counts(obs)
    for c in counts:
        rate = "-" if c.failure_rate is None else f"{c.failure_rate:.1%}"
        table.add_row(
            escape(c.workflow_type), str(c.started), str(c.completed + c.continued_as_new), str(c.not_completed), str(c.open),
            str(stuck[c.workflow_type]), rate, _seconds(c.latency(50)), _seconds(c.latency(99)),
        )
    console.print(table)
    endings = [f"{escape(c.workflow_type)} {_endings(c)}" for c in counts if c.not_completed]
    if endings:
        console.print("[dim]* closed without completing:[/] " + "; ".join(endings))
    if obs.limit_reached:
        total = obs.matching if obs.matching is not None else "more than that"
        covered = "counts are exact per type; latencies and samples" if obs.exact_counts else "the figures"
        console.print(f"[yellow]--limit {obs.limit} cut the list:[/] {total} workflows started in the window; {covered} cover the {len(obs.runs)} listed.")
    if not obs.runs:
        console.print(f"[yellow]No workflow started in the window[/] ({escape(obs.query)}).")


def print_details(card: Scorecard, obs: WatchObservations) -> None:
    classes = [(t.workflow_type, c) for t in card.workflow_types for c in t.failure_classes]
    if classes:
        table = Table(title="Failure classes (sampled histories)")
        for column in ("workflow type", "ended", "error type", "message pattern", "count", "sample"):
            table.add_column(column, overflow="fold")
        for name, c in classes:
            table.add_row(escape(name), c.status, escape(c.error_type), escape(c.message_pattern or "-"), str(c.count),
                          escape(c.sample_history or c.sample_workflow_id))
        console.print(table)
    for s in obs.stuck[:SHOWN_STUCK]:
        attempt = f", workflow task attempt {s.task_attempt}" if s.task_attempt else ""
        console.print(f"[bold red]stuck[/] {escape(s.workflow_type)} {escape(s.workflow_id)}{attempt}: {escape(s.cause)}: {escape(s.message[:200])}")
    if len(obs.stuck) > SHOWN_STUCK:
        console.print(f"… and {len(obs.stuck) - SHOWN_STUCK} more stuck (see scorecard.json)")


@click.command(name="watch")
@config_option
@click.option("--since", "since", default="1h", show_default=True, metavar="DURATION", help="Window: workflows started this long ago (30m, 1h, 48h).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True, help="At most this many workflows are listed.")
@click.option("--sample", type=click.IntRange(0, 1000), default=50, show_default=True, help="At most this many histories fetched per workflow type.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("reports/watch"), show_default=True, help="Report folder.")
@profile_option(
    help="Environment profile from the config's `profiles` to read (its address, namespace, TLS and API key); allowed on "
    "protected profiles: watch only reads. Default local: the config's target when it is an existing cluster.",
)
@address_option
@namespace_option
@history_db_option
def watch_command(
    config_path: Path, since: str, limit: int, sample: int, out_dir: Path, profile: str, address: str | None, namespace: str | None,
    history_db: Path,
) -> None:
    """Read-only health of live workflows over the last --since: per workflow type counts, failure rate, latency,
    failure classes and stuck workflows, judged against the config's `watch` thresholds (exit 0 GO, 1 NO-GO, 3 INCONCLUSIVE)."""
    since_s = since_seconds(since, example="1h")
    try:
        plan = load(config_path)
        chosen = profiles.resolve(profile, plan.config, plan.config_path)
        history_record.check_usable(history_db)
    except HarnessError as exc:  # bad input (exit 2), or a history database another process keeps locked (3)
        fail(str(exc), exc.exit_code)
    options = WatchOptions(since_s=since_s, limit=limit, sample=sample, out_dir=out_dir, profile=chosen.name, history_db=history_db)

    async def go() -> tuple[Scorecard, WatchObservations]:
        client = await profiles.connect(chosen, address=address, namespace=namespace)  # read-only from here on
        console.print(
            f"Watching {escape(address or chosen.address or '')} (profile {escape(chosen.name)}) namespace {escape(client.namespace)}: "
            f"workflows started in the last {escape(since)}"
        )
        prepare_out_dir(out_dir)
        return await watch(client, address or chosen.address or "", plan, options, warn=_warn)

    card, obs = run_async(go(), crash_dir=Path(tempfile.gettempdir()) / "readiness")
    reports = write_reports(card, out_dir)
    record_run(history_db, card, out_dir)
    print_window(obs)
    print_details(card, obs)
    print_summary(card, reports)
    sys.exit(card.exit_code)
