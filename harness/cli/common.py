"""What every command shares: consoles, the one-line error, and running async work so that Ctrl-C, SIGTERM,
bad input and harness bugs each end with their exit code and one clear message, never a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import traceback
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from harness.errors import ConfigError, HarnessError

EXIT_INTERRUPTED = 3
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
STATUS_STYLE = {"PASS": "green", "FAIL": "bold red", "WARN": "yellow", "NO_DATA": "magenta", "ERROR": "bold magenta", "SKIPPED": "dim"}

address_option = click.option(
    "--address", metavar="HOST:PORT", help="An existing Temporal server (TLS/API key from TEMPORAL_* env vars)."
)
namespace_option = click.option("--namespace", metavar="NS", help="Namespace to use.")


def fail(message: str, code: int) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(code)


async def _cancellable(coro):
    """Run `coro` so that Ctrl-C or SIGTERM cancels it once, unwinding every cleanup; signals that arrive
    while cleanup runs are ignored instead of cutting it short."""
    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()

    def interrupt() -> None:
        if task.cancelling():
            err_console.print("still stopping what was started…")
        else:
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt)
    try:
        return await task
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def run_async(coro, *, crash_dir: Path, where: str = ""):
    """Run `coro` to completion, mapping every way it can end to an exit code and one message.
    `where` tells the user where the journal and logs are, for a harness error."""
    try:
        return asyncio.run(_cancellable(coro))
    except ConfigError as exc:
        fail(str(exc), exc.exit_code)
    except HarnessError as exc:
        fail(f"{exc}{where}", exc.exit_code)
    except (KeyboardInterrupt, asyncio.CancelledError):
        fail(f"interrupted; everything started was stopped{where}", EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - a harness bug is exit 3, never a traceback read as a verdict
        crash_log = crash_dir / "harness-crash.txt"
        with contextlib.suppress(OSError):
            crash_log.parent.mkdir(parents=True, exist_ok=True)
            crash_log.write_text(traceback.format_exc())
        fail(f"internal harness error: {type(exc).__name__}: {exc} (details: {crash_log})", 3)
