"""`readiness report SCORECARD.json --format html|md|junit [--out FILE]`: re-render a past run from its JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click
from pydantic import ValidationError

from harness.cli.common import console, fail
from harness.errors import ConfigError
from harness.journal import write_atomic
from harness.scorecard.html import to_html
from harness.scorecard.model import SCHEMA_VERSION, Scorecard
from harness.scorecard.render import to_junit, to_markdown

FORMATS = {"html": ("scorecard.html", to_html), "md": ("scorecard.md", to_markdown), "junit": ("junit.xml", to_junit)}


def _version(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return None


def load_scorecard(path: Path) -> Scorecard:
    """The scorecard in `path`, of this harness's major schema version (older minor versions lack only optional
    fields, so they validate); ConfigError naming the file and what is wrong otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except IsADirectoryError:
        raise ConfigError("is a folder; give the scorecard.json inside it", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file: {exc}", file=str(path)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", file=str(path)) from None
    if not isinstance(data, dict) or "schema_version" not in data or "checks" not in data:
        raise ConfigError("not a readiness scorecard (expected an object with schema_version, verdict, run and checks)", file=str(path))
    found, ours = _version(str(data["schema_version"])), _version(SCHEMA_VERSION)
    if found is None or found[0] != ours[0]:
        raise ConfigError(
            f"scorecard schema {data['schema_version']!r} is not one this harness reads (major version {ours[0]}, up to {SCHEMA_VERSION})",
            file=str(path), key_path="schema_version",
        )
    try:
        return Scorecard.model_validate(data)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or None
        newer = f" (schema {data['schema_version']} is newer than this harness's {SCHEMA_VERSION}: upgrade the harness)" if found > ours else ""
        raise ConfigError(f"not a valid scorecard: {problem['msg']}{newer}", file=str(path), key_path=where) from None


@click.command()
@click.argument("scorecard", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="html", show_default=True, help="Output format.")
@click.option(
    "--out", "out", type=click.Path(path_type=Path, dir_okay=False),
    help="File to write (default: scorecard.html, scorecard.md or junit.xml next to the JSON).",
)
def report(scorecard: Path, fmt: str, out: Path | None) -> None:
    """Re-render a past run's scorecard.json as HTML, Markdown or JUnit XML."""
    try:
        card = load_scorecard(scorecard)
    except ConfigError as exc:
        fail(str(exc), exc.exit_code)
    name, render = FORMATS[fmt]
    target = out or scorecard.parent / name
    if target.resolve() == scorecard.resolve():
        fail(f"--out {target}: would overwrite the scorecard it renders", 2)
    text = render(card)
    try:
        write_atomic(target, text)
    except OSError as exc:
        fail(f"cannot write {target}: {exc}", 2)
    console.print(f"Wrote {target} ({card.verdict.value}, run {card.run.id}, schema {card.schema_version})", soft_wrap=True, markup=False)
