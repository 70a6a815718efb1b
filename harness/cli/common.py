"""What every command shares: consoles, the one-line error, and running async work so that Ctrl-C, SIGTERM,
bad input and harness bugs each end with their exit code and one clear message, never a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import traceback
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from harness import profiles
from harness.config import load_config
from harness.config.types import parse_duration
from harness.errors import ConfigError, HarnessError

EXIT_INTERRUPTED = 3
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
STATUS_STYLE = {"PASS": "green", "FAIL": "bold red", "WARN": "yellow", "NO_DATA": "magenta", "ERROR": "bold magenta", "SKIPPED": "dim"}

address_option = click.option(
    "--address", metavar="HOST:PORT",
    help="An existing Temporal server, overriding the profile's address (TLS/API key: the profile's, else TEMPORAL_* env vars).",
)
namespace_option = click.option("--namespace", metavar="NS", help="Namespace to use (overrides the profile's).")
DEFAULT_CONFIG = Path("readiness.yaml")


def profile_option(default: str | None = profiles.LOCAL, help: str | None = None):
    """`--profile NAME`: a profile of the config's `profiles` or a built-in (local, compose). A plain string here:
    the names depend on the config, so commands check them with `profile_from_cli` (or profiles.resolve)."""
    return click.option(
        "--profile", metavar="NAME", default=default, show_default=default is not None,
        help=help or "Environment profile from the config's `profiles` (built in: local = the config's target, an embedded dev "
        "server by default; compose = the docker-compose.yml stack). Its address, namespace, TLS and API key are used.",
    )


def profile_from_cli(name: str, config_path: Path | None) -> profiles.Profile:
    """The profile `--profile NAME` names, its secrets checked; one error line and exit 2 for an unknown name, a bad
    config or a missing secret. Without `config_path`, ./readiness.yaml is read when there is one (else only the
    built-in profiles exist)."""
    try:
        path = config_path if config_path is not None or not DEFAULT_CONFIG.is_file() else DEFAULT_CONFIG
        config = load_config(path) if path is not None else None
        return profiles.resolve(name, config, path)
    except ConfigError as exc:
        fail(str(exc), exc.exit_code)
        raise  # unreachable: fail exits


def fail(message: str, code: int) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(code)


async def _cancellable(coro):
    """Run `coro` so that Ctrl-C or SIGTERM cancels it once, unwinding every cleanup; signals that arrive
    while cleanup runs are ignored instead of cutting it short. A signal that came while `coro` ran code that never
    yields (the run-wide checks, the reports) and that it finished anyway still ends in KeyboardInterrupt (exit 3):
    whatever it wrote is complete, and a stop that was asked for is never reported as a verdict."""
    loop = asyncio.get_running_loop()
    task: asyncio.Future | None = None
    signalled = False

    def interrupt() -> None:
        if task is None or task.done():
            return
        if task.cancelling():
            err_console.print("still stopping what was started…")
        else:
            task.cancel()

    def on_signal(signum, frame) -> None:  # a Python-level handler runs between bytecodes, even in code that never yields
        nonlocal signalled
        signalled = True
        loop.call_soon_threadsafe(interrupt)

    with _signals_handled_by(on_signal, loop):
        task = asyncio.ensure_future(coro)
        result = await task
    if signalled:
        raise KeyboardInterrupt
    return result


@contextlib.contextmanager
def _signals_handled_by(handler, loop: asyncio.AbstractEventLoop):
    """SIGINT and SIGTERM go to `handler` inside the block (only the main thread may handle signals: elsewhere the
    block runs without). A wakeup socket wakes the event loop when the signal lands on another thread (the SDK's)."""
    previous: dict[int, object] = {}
    wake_reader, wake_writer = socket.socketpair()
    for end in (wake_reader, wake_writer):
        end.setblocking(False)
    try:
        try:
            old_wakeup = signal.set_wakeup_fd(wake_writer.fileno())
        except ValueError:  # not the main thread
            yield
            return
        loop.add_reader(wake_reader.fileno(), lambda: _drain(wake_reader))
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, handler)
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old if old is not None else signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
            loop.remove_reader(wake_reader.fileno())
            signal.set_wakeup_fd(old_wakeup)
    finally:
        wake_reader.close()
        wake_writer.close()


def _drain(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while sock.recv(4096):
            pass


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
        details = f" (details: {crash_log})"
        try:
            crash_log.parent.mkdir(parents=True, exist_ok=True)
            crash_log.write_text(traceback.format_exc())
        except OSError:
            details = ""  # never point at a file that could not be written
        fail(f"internal harness error: {type(exc).__name__}: {exc}{details}", 3)


def since_seconds(value: str, example: str) -> float:
    """A `--since` duration (30m, 24h) in seconds; one line and exit 2 when it is not a positive duration."""
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        fail(f"--since: {exc} (got {value!r})", 2)
    if seconds <= 0:
        fail(f"--since: expected a duration above zero, such as {example} or 30m (got {value!r})", 2)
    return seconds
