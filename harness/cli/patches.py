"""`readiness patches`: which `workflow.patched()` ids can be retired now, from the code and the histories of a corpus
or of a live cluster (read-only: allowed under a protected profile). Exit 0, or 1 when the code already dropped a
patch that open workflows still need, 2 bad input."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click
from rich.markup import escape

from harness.audit import audit as run_audit
from harness.cli.common import console, fail, profile_from_cli, run_async
from harness.cli.replay import check_sources, cluster_options, parse_workflow_paths, pull_histories
from harness.errors import ConfigError
from harness.journal import write_atomic
from harness.replay import corpus
from harness.replay.patches import PatchAdvice, advise, read

ACTION_STYLE = {"deprecate": "green", "remove": "green", "retired": "dim", "wait": "yellow", "broken": "bold red"}
SCHEMA_VERSION = "1.0"


def _read_all(paths: list[Path]):
    corpus.check_paths(paths)
    return [read(corpus.load(path)) for path in corpus.discover(paths)]


def _print(rows: list[PatchAdvice], histories: int) -> None:
    for r in rows:
        console.print(f"[{ACTION_STYLE[r.action]}]{r.action.upper()}[/] {escape(r.patch_id)} (in code: {r.in_code}): {escape(r.advice)}")
        console.print(
            f"    [dim]open workflows: {r.open_with_live_marker} with its live marker, {r.open_started_before} started before it; "
            f"closed: {r.closed_with_live_marker} with its live marker, {r.closed_started_before} started before it[/]"
        )
    console.print(f"{len(rows)} patch ids judged on {histories} histories.")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--workflows", required=True, metavar="MODULE[:CLASS][,...]", help="Workflow code whose patched()/deprecate_patch() calls are read.")
@click.option(
    "--root", type=click.Path(path_type=Path, file_okay=False, exists=True), default=Path("."), show_default=True,
    help="Folder the workflow modules are found under (read, not imported).",
)
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), help="Write one row per patch id as JSON.")
@cluster_options
def patches(
    paths: tuple[Path, ...], workflows: str, root: Path, json_path: Path | None, from_cluster: bool, query: str | None,
    limit: int, address: str | None, namespace: str | None, profile: str | None, config_path: Path | None,
) -> None:
    """Which patches can be retired: per patch id, the open workflows and retained histories that still need it."""
    workflow_paths = parse_workflow_paths(workflows)
    check_sources(paths, from_cluster, query, {
        "--query": query, "--address": address, "--namespace": namespace, "--profile": profile, "--config": config_path,
    })
    chosen = profile_from_cli(profile, config_path) if profile else None
    try:
        code = run_audit(workflow_paths, root).patches
    except ConfigError as exc:
        fail(str(exc), exc.exit_code)

    async def go():
        if not from_cluster:
            return _read_all(list(paths)), True
        with tempfile.TemporaryDirectory(prefix="readiness-patches-") as folder:
            pulled = await pull_histories(chosen, address, namespace, query, limit, Path(folder))
            return _read_all(pulled), len(pulled) < limit

    histories, complete = run_async(go(), crash_dir=Path(tempfile.gettempdir()) / "readiness")
    if not complete:
        console.print(f"[yellow]The query matched at least --limit {limit} workflows:[/] raise --limit or narrow --query; until then no patch is declared safe to retire.")
    rows = advise(histories, set(code.patched), set(code.deprecated), complete)
    if json_path:
        document = {"schema_version": SCHEMA_VERSION, "workflows": workflow_paths, "histories": len(histories),
                    "patches": [r.to_dict() for r in rows]}
        try:
            write_atomic(json_path, json.dumps(document, indent=2) + "\n")
        except OSError as exc:
            fail(f"cannot write {json_path}: {exc}", 2)
    _print(rows, len(histories))
    sys.exit(1 if any(r.action == "broken" for r in rows) else 0)
