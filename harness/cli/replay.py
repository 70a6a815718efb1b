"""`readiness replay` (histories vs workflow code: exit 0 all replay, 1 any does not, 2 bad input) and
`readiness audit` (the static determinism audit on its own)."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import click
from rich.markup import escape

from harness import profiles, server
from harness.audit import audit as run_audit
from harness.checks.static_audit import static_audit
from harness.cli.common import (
    STATUS_STYLE,
    address_option,
    console,
    fail,
    namespace_option,
    profile_from_cli,
    profile_option,
    run_async,
)
from harness.errors import ConfigError
from harness.journal import write_all_or_nothing, write_atomic
from harness.replay import HASH_SEEDS, ReplayReport, cluster, replay_corpus
from harness.replay.report import to_json, to_junit

IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?$")
SHOWN_FAILURES = 20


def parse_workflow_paths(value: str) -> list[str]:
    paths = [p.strip() for p in value.split(",") if p.strip()]
    bad = [p for p in paths if not IMPORT_PATH.match(p)]
    if not paths or bad:
        fail(f"--workflows: expected MODULE[:CLASS][,...] (got {', '.join(bad) or repr(value)})", 2)
    return paths


async def pull_histories(
    chosen: profiles.Profile | None, address: str | None, namespace: str | None, query: str, limit: int, out_dir: Path
) -> list[Path]:
    """`--from-cluster`: at most `limit` histories matching `query`, written to `out_dir`, from the profile's cluster
    (or --address/--namespace, else TEMPORAL_* env vars). Read-only: allowed on protected profiles."""
    if chosen is not None:
        client = await profiles.connect(chosen, address=address, namespace=namespace)
        where = f"{address or chosen.address} (profile {chosen.name})"
    else:
        target = cluster.target(address, namespace)
        client = await server.connect(target)
        where = target.address
    pulled, gone = await cluster.pull(client, query, limit, out_dir)
    note = f" ({gone} closed and deleted by retention before they could be fetched)" if gone else ""
    console.print(f"Pulled {len(pulled)} histories from {escape(where)} namespace {escape(client.namespace)}{note}")
    return pulled


def cluster_options(command):
    """--from-cluster, --query, --limit, --address, --namespace, --profile and --config, as `replay` takes them."""
    for option in reversed((
        click.option("--from-cluster", is_flag=True, help="Read live histories pulled with --query instead of files."),
        click.option("--query", metavar="VISIBILITY-QUERY", help="e.g. \"WorkflowType='Order' AND StartTime > '2026-11-01T00:00:00Z'\"."),
        click.option("--limit", type=click.IntRange(1, 100_000), default=200, show_default=True, help="At most this many workflows are pulled."),
        address_option, namespace_option,
        profile_option(
            default=None,
            help="With --from-cluster: pull from this profile of the config (its address, namespace, TLS and API key); allowed on "
            "protected profiles. Without it: --address/--namespace, else TEMPORAL_* env vars.",
        ),
        click.option(
            "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), metavar="PATH",
            help="Config whose `profiles` --profile names  [default: readiness.yaml when there is one].",
        ),
    )):
        command = option(command)
    return command


def check_sources(paths: tuple[Path, ...], from_cluster: bool, query: str | None, cluster_only: dict[str, object]) -> None:
    """One error line and exit 2 for a wrong mix of files and --from-cluster options."""
    if from_cluster == bool(paths):
        fail("give history files/folders, or --from-cluster with --query (not both)", 2)
    if from_cluster and not query:
        fail("--from-cluster needs --query (a visibility query such as \"WorkflowType='Order'\")", 2)
    if not from_cluster and any(cluster_only.values()):
        *first, last = cluster_only
        fail(f"{', '.join(first)} and {last} only apply with --from-cluster", 2)
    if cluster_only.get("--config") and not cluster_only.get("--profile"):
        fail("--config only names where --profile is declared: give --profile too", 2)


def print_report(report: ReplayReport) -> None:
    summary = report.to_dict()["summary"]
    kinds = ", ".join(f"{k} {n}" for k, n in summary["by_kind"].items())
    for o in report.failed[:SHOWN_FAILURES]:
        where = f" event {o.event_id}" if o.event_id else ""
        console.print(f"[bold red]{o.kind}[/] {escape(o.workflow_id)} [dim]({escape(o.run_id)}){where}[/]: {escape(o.error_message or '')}")
        if o.explanation:
            console.print(f"    recorded: {escape(o.explanation['recorded'])}; new code: {escape(o.explanation['issued'])}")
    if len(report.failed) > SHOWN_FAILURES:
        console.print(f"… and {len(report.failed) - SHOWN_FAILURES} more (see --json)")
    if report.patches.get("unavailable"):
        console.print(f"[yellow]patch lifecycle not judged:[/] {escape(report.patches['unavailable'])}")
    for item in report.patches["removed_while_in_histories"] + report.patches["deprecated_while_live"]:
        console.print(f"[yellow]patch {escape(item['patch_id'])}:[/] {escape(item['problem'])}")
    seeds = " and ".join(map(str, report.seeds))
    verdict = f"[bold red]{len(report.failed)} failed[/] ({kinds})" if report.failed else "[bold green]all replay[/]"
    console.print(
        f"Replayed {len(report.outcomes)} histories against {escape(', '.join(report.workflows))} "
        f"with PYTHONHASHSEED {seeds}, {report.jobs} process(es), {report.duration_s:.1f}s: {verdict}"
    )


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--workflows", "workflows", required=True, metavar="MODULE[:CLASS][,...]",
    help="Workflow code to replay against (importable from the current folder).",
)
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), help="Write per-history results as JSON.")
@click.option("--junit", "junit_path", type=click.Path(path_type=Path, dir_okay=False), help="Write JUnit XML (one test case per history).")
@click.option(
    "--jobs", type=click.IntRange(1, 64), default=min(os.cpu_count() or 1, 64), show_default="CPU count", help="Replay processes."
)
@click.option("--single-pass", is_flag=True, help="Skip the second pass under another PYTHONHASHSEED (halves the time; set-order bugs go unseen).")
@click.option("--save-histories", type=click.Path(path_type=Path, file_okay=False), help="Keep the pulled histories in this folder.")
@cluster_options
def replay(
    paths: tuple[Path, ...], workflows: str, json_path: Path | None, junit_path: Path | None, jobs: int, single_pass: bool,
    from_cluster: bool, query: str | None, limit: int, save_histories: Path | None, address: str | None, namespace: str | None,
    profile: str | None, config_path: Path | None,
) -> None:
    """Replay workflow histories (files or folders of JSON, or --from-cluster) against workflow code."""
    workflow_paths = parse_workflow_paths(workflows)
    check_sources(paths, from_cluster, query, {
        "--query": query, "--save-histories": save_histories, "--address": address, "--namespace": namespace,
        "--profile": profile, "--config": config_path,
    })
    chosen = profile_from_cli(profile, config_path) if profile else None
    seeds = HASH_SEEDS[:1] if single_pass else HASH_SEEDS
    scratch = tempfile.TemporaryDirectory(prefix="readiness-pulled-")

    async def go() -> ReplayReport:
        sources = list(paths)
        if from_cluster:
            sources = await pull_histories(chosen, address, namespace, query, limit, save_histories or Path(scratch.name))
        return await replay_corpus(sources, workflow_paths, jobs=jobs, env=dict(os.environ), cwd=Path.cwd(), seeds=seeds)

    with scratch:
        report = run_async(go(), crash_dir=Path(tempfile.gettempdir()) / "readiness")
    rendered = {p: render(report) for p, render in ((json_path, to_json), (junit_path, to_junit)) if p}
    try:
        write_all_or_nothing(rendered)
    except OSError as exc:
        fail(f"cannot write the report: {exc}", 2)
    print_report(report)
    sys.exit(report.exit_code)


@click.command()
@click.argument("modules", nargs=-1, required=True)
@click.option(
    "--root", type=click.Path(path_type=Path, file_okay=False, exists=True), default=Path("."), show_default=True,
    help="Folder the modules are found under.",
)
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), help="Write the check result as JSON.")
@click.option("--strict", is_flag=True, help="Exit 1 when there are findings (they are warnings otherwise).")
def audit(modules: tuple[str, ...], root: Path, json_path: Path | None, strict: bool) -> None:
    """Static determinism audit of workflow code (MODULE or MODULE:CLASS): what the sandbox does not catch."""
    paths = parse_workflow_paths(",".join(modules))
    try:
        result = static_audit(run_audit(paths, root), blocking=strict)
    except ConfigError as exc:
        fail(str(exc), exc.exit_code)
    if json_path:
        write_atomic(json_path, json.dumps(result.model_dump(mode="json"), indent=2) + "\n")
    for row in result.evidence.get("findings", []):
        console.print(f"{escape(row['file'])}:{row['line']}: [yellow]{row['rule']}[/] {escape(row['message'])} [dim]({escape(row['function'])})[/]")
        console.print(f"    fix: {escape(row['fix'])}")
    console.print(f"[{STATUS_STYLE[result.status.value]}]{result.status.value}[/] {escape(result.summary)}")
    sys.exit(1 if result.status.value == "FAIL" else 0)
