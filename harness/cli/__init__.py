"""The `readiness` command: the only place that touches argv, stdout and exit codes.

Exit codes (a contract CI jobs depend on): 0 GO (or: every history replays), 1 NO-GO (or: a history does not
replay), 2 bad usage/config/input, 3 harness error, interrupted run, or INCONCLUSIVE.
"""

from __future__ import annotations

import click

from harness import __version__
from harness.cli.replay import audit, replay
from harness.cli.run import capture, run, schema, validate

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="readiness")
def main() -> None:
    """Production-readiness harness for Temporal workflows: provoke failures, get a go/no-go scorecard."""


for command in (run, capture, replay, audit, validate, schema):
    main.add_command(command)

