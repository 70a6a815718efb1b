"""`readiness audit-histories`: retry.policy on history files or a cluster sample, and optionally the workflow code.

Read-only (it never starts or changes a workflow), so it is allowed under a protected profile. Exit 0 PASS, 1 FAIL,
2 bad input (a history file that is not one is named), 3 harness error.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click
from rich.markup import escape

from harness.audit.call_sites import call_sites
from harness.checks import policies
from harness.cli.common import STATUS_STYLE, console, fail, profile_from_cli, run_async
from harness.cli.replay import check_sources, cluster_options, parse_workflow_paths, pull_histories
from harness.config import load_config
from harness.config.models import RetryRules
from harness.errors import ConfigError
from harness.journal import write_atomic
from harness.observe.policies import all_sightings
from harness.replay import corpus

SHOWN_ROWS = 30


def _rules(business_errors: str | None, config_path: Path | None) -> RetryRules:
    if config_path is not None and business_errors is None:
        try:
            return load_config(config_path).retry
        except ConfigError as exc:
            fail(str(exc), exc.exit_code)
    return RetryRules(business_errors=[e.strip() for e in (business_errors or "").split(",") if e.strip()])


def print_result(result) -> None:
    for row in result.evidence["policies"][:SHOWN_ROWS]:
        where = f" [dim]{escape(row['where'])}[/]" if row.get("where") else ""
        style = "green" if row["problems"].startswith("ok") else "dim" if "not judged" in row["problems"] else "bold red"
        console.print(
            f"{row['kind']} [bold]{escape(row['name'])}[/] ({row['source']}, seen {row['seen']}){where}: "
            f"max attempts {row['max_attempts']}, backoff {row['backoff']}: [{style}]{escape(row['problems'])}[/]"
        )
    if len(result.evidence["policies"]) > SHOWN_ROWS:
        console.print(f"… and {len(result.evidence['policies']) - SHOWN_ROWS} more (see --json)")
    for line in result.evidence["disagreements"]:
        console.print(f"[yellow]code and history disagree:[/] {escape(line)}")
    console.print(f"[{STATUS_STYLE[result.status.value]}]{result.status.value}[/] {escape(result.summary)}")


@click.command("audit-histories")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--workflows", metavar="MODULE[:CLASS][,...]",
    help="Workflow code to read the call sites of (local-activity policies, calls the histories never made); never imported.",
)
@click.option(
    "--root", type=click.Path(path_type=Path, file_okay=False, exists=True), default=Path("."), show_default=True,
    help="Folder the --workflows modules are found under.",
)
@click.option("--business-errors", metavar="TYPE[,...]", help="Error types no retry can fix  [default: the config's retry.business_errors].")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), help="Write the check result as JSON.")
@cluster_options
def audit_histories(
    paths: tuple[Path, ...], workflows: str | None, root: Path, business_errors: str | None, json_path: Path | None,
    from_cluster: bool, query: str | None, limit: int, address: str | None, namespace: str | None, profile: str | None,
    config_path: Path | None,
) -> None:
    """Audit the retry policies and timeouts in workflow histories (files, folders or --from-cluster): activities,
    local activities, child workflows and each workflow's own policy. --config also supplies retry.business_errors."""
    check_sources(paths, from_cluster, query, {
        "--query": query, "--address": address, "--namespace": namespace, "--profile": profile,
    })
    specs = parse_workflow_paths(workflows) if workflows is not None else []
    chosen = profile_from_cli(profile, config_path) if profile else None
    rules = _rules(business_errors, config_path)
    scratch = tempfile.TemporaryDirectory(prefix="readiness-pulled-")

    async def go():
        sources = await pull_histories(chosen, address, namespace, query, limit, Path(scratch.name)) if from_cluster else list(paths)
        corpus.check_paths(sources)
        histories = [corpus.load(path) for path in corpus.discover(sources)]
        if not histories:
            raise ConfigError("no history files (*.json) found", file=", ".join(map(str, sources)) or None)
        if specs:  # code that cannot be read is bad input here, not a note
            evidence = policies.PolicyEvidence(all_sightings(histories), call_sites(specs, root.resolve()))
        else:
            evidence = policies.PolicyEvidence(all_sightings(histories), None, "no --workflows given: judged from history alone")
        return policies.retry_policy(evidence, rules).model_copy(update={"scenario": "audit-histories"})

    with scratch:
        result = run_async(go(), crash_dir=Path(tempfile.gettempdir()) / "readiness")
    if json_path:
        try:
            write_atomic(json_path, json.dumps(result.model_dump(mode="json"), indent=2) + "\n")
        except OSError as exc:
            fail(f"cannot write the report: {exc}", 2)
    print_result(result)
    sys.exit(1 if result.status.value == "FAIL" else 0)
