"""The `readiness` console script: Ctrl-C or SIGTERM ends it with exit 3 from its first instant.

Loading the commands takes a second or more (the SDK, pydantic, rich), and a signal in that time ended in a
KeyboardInterrupt traceback or a bare death by SIGTERM. Nothing has started then, so it exits 3 at once. Once the
commands are loaded both signals raise KeyboardInterrupt, which every command turns into exit 3; `run_async`
handles them itself while a command's async part runs.
"""

from __future__ import annotations

import os
import signal

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _while_loading(signum, frame) -> None:
    os.write(2, b"error: interrupted while starting; nothing was started\n")
    os._exit(3)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> None:
    for sig in SIGNALS:
        signal.signal(sig, _while_loading)
    from harness.cli import main as commands

    for sig in SIGNALS:
        signal.signal(sig, _interrupt)
    commands()
