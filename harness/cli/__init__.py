"""The `readiness` command: the only place that touches argv, stdout and exit codes.

Exit codes (a contract CI jobs depend on): 0 GO (or: every history replays), 1 NO-GO (or: a history does not
replay), 2 bad usage/config/input, 3 harness error, interrupted run, or INCONCLUSIVE.
"""

from __future__ import annotations

import click

from harness import __version__
from harness.cli.audit_histories import audit_histories
from harness.cli.common import EXIT_INTERRUPTED, fail
from harness.cli.history import diff, history
from harness.cli.init import init
from harness.cli.parity import parity
from harness.cli.patches import patches
from harness.cli.replay import audit, replay
from harness.cli.report import report
from harness.cli.run import capture, run, schema, validate
from harness.cli.watch import watch_command

__all__ = ["main"]


class _Readiness(click.Group):
    def invoke(self, ctx: click.Context):
        """Ctrl-C outside a command's async part (reading the config, writing reports, recording the run) is an
        interruption, exit 3, as inside it (run_async): click's own handling would exit 1, which CI reads as NO-GO."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            fail("interrupted", EXIT_INTERRUPTED)


@click.group(cls=_Readiness, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="readiness")
def main() -> None:
    """Production-readiness harness for Temporal workflows: provoke failures, get a go/no-go scorecard."""


for command in (init, run, capture, replay, patches, audit, audit_histories, validate, schema, watch_command, history, diff, report, parity):
    main.add_command(command)

