"""Start, stop and inspect child processes so that none outlives the harness.

Each child gets its own session (a terminal's Ctrl-C reaches only the harness, which then stops the
children in order) and, on Linux, a parent-death signal, so even a SIGKILLed harness leaves no orphan.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

RUN_ID_ENV = "READINESS_RUN_ID"
_PR_SET_PDEATHSIG = 1


def _load_prctl():
    # Resolved once here: loading a library in the forked child, where other threads held locks, can deadlock.
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def _die_with_parent() -> None:
    """Linux only: the child gets SIGKILL if the harness dies without cleaning up (e.g. kill -9)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def spawn(
    argv: Sequence[str], *, env: Mapping[str, str], log_path: Path, cwd: Path | None = None
) -> asyncio.subprocess.Process:
    """Start `argv` with stdout and stderr appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(env),
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


def signal_group(proc: asyncio.subprocess.Process, sig: int) -> None:
    """Deliver `sig` to the child's whole process group (each child leads its own)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


async def stop(proc: asyncio.subprocess.Process, grace: float = 5.0) -> int:
    """SIGTERM the child's process group, SIGKILL it after `grace` seconds; returns the exit code.

    Runs to completion even if the calling task is cancelled, so cleanup cannot be cut short.
    """

    async def _stop() -> int:
        if proc.returncode is None:
            signal_group(proc, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except asyncio.TimeoutError:
                signal_group(proc, signal.SIGKILL)
                await proc.wait()
        signal_group(proc, signal.SIGKILL)  # anything the child left behind in its group
        return proc.returncode if proc.returncode is not None else -1

    task = asyncio.ensure_future(_stop())
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


async def wait_for_port(port: int, proc: asyncio.subprocess.Process, timeout: float) -> bool:
    """True once 127.0.0.1:port accepts a connection; False if `proc` exits or `timeout` passes first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline and proc.returncode is None:
        try:
            async with asyncio.timeout(1.0):  # not wait_for, which can swallow a cancellation on Python 3.11
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return True
        except (OSError, asyncio.TimeoutError):
            await asyncio.sleep(0.1)
    return False

