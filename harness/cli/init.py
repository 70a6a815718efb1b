"""`readiness init MODULE...`: a starter config and scenario files from the app's workflow code (read, never imported)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import click
from rich.markup import escape

from harness.cli.common import console, fail
from harness.errors import ConfigError
from harness.planning import load_plan
from harness.starter.facts import discover
from harness.starter.render import starter_files

EXIT_BAD_INPUT, EXIT_HARNESS = 2, 3


def _write_all(files: dict[Path, str]) -> None:
    """Every file or none: each is written to a temporary file beside it, then all are renamed into place."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            staged.append((Path(tmp), path))
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


@click.command("init")
@click.argument("modules", nargs=-1, required=True, metavar="MODULE[:CLASS]...")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="The app's code root (module paths resolve under it).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("readiness.yaml"), show_default=True,
              help="The config to write; its scenarios go to scenarios/ beside it.")
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def init(modules: tuple[str, ...], root: Path, out: Path, force: bool) -> None:
    """Write a starter readiness.yaml and scenario files from the workflow code: its signals, updates, queries,
    activity call sites and timers. Values the code cannot say are marked TODO."""
    try:
        facts = discover(modules, root)
    except ConfigError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    starter = starter_files(facts, modules, root, out)
    files = {out: starter.config, **{out.parent / "scenarios" / f"{name}.yaml": text for name, text in starter.scenarios.items()}}
    existing = [str(path) for path in files if path.exists()]
    if existing and not force:
        fail(f"{', '.join(existing)}: already exist(s); nothing written (--force overwrites)", EXIT_BAD_INPUT)
    previous = {path: path.read_text(encoding="utf-8") for path in files if path.exists()}
    _write_all(files)
    try:
        load_plan(out)
    except ConfigError as exc:  # a starter that does not validate is the harness's bug: leave the tree as it was
        for path in files:
            path.unlink(missing_ok=True)
        _write_all(previous)
        fail(f"the starter config does not validate (nothing kept): {exc}", EXIT_HARNESS)
    console.print(f"wrote {out} and {len(starter.scenarios)} scenario files in {out.parent / 'scenarios'}:")
    for workflow in facts.workflows:
        messages = ", ".join(f"{h.kind} {h.name}" for h in workflow.handlers) or "no signals, updates or queries"
        console.print(f"  {escape(workflow.type_name)} ({workflow.file}): {escape(messages)}; {len(workflow.call_sites)} call sites")
    console.print(f"  scenarios: {', '.join(starter.scenarios)}")
    console.print("still to decide (marked TODO in the files):")
    for todo in starter.todos:
        console.print(f"  - {escape(todo)}")
    console.print(f"next: readiness run{'' if out == Path('readiness.yaml') else f' --config {out}'}")
