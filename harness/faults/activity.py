"""Activity-level faults for Python workers, with no change to the app's code.

The harness gives every Python worker it starts a fault file (READINESS_ACTIVITY_FAULTS). `FaultInterceptor`,
installed on the worker's client, reads that file before each activity attempt (re-reading it only when it
changed) and, for the activity types it names, adds latency and/or raises an error. The harness side,
`ActivityFaultSwitch`, writes the file when a fault starts and empties it when the fault ends, always, in
an async context manager. Each injection is appended to a per-process log next to the file, so the harness
can confirm the fault took effect. Each `activity.heartbeat()` call is logged the same way
(`heartbeats-<pid>.jsonl`), so the harness can see how often an activity really heartbeats.

The injected error is a plain (retryable) ApplicationError of the named type: whether it is retried is
decided by the app's retry policy (`non_retryable_error_types`), which is exactly what a check wants to see.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from temporalio import activity, client, worker
from temporalio.exceptions import ApplicationError

from harness.observe.model import HeartbeatCall

FAULTS_FILE_ENV = "READINESS_ACTIVITY_FAULTS"
INJECTION_LOG_GLOB = "injections-*.jsonl"
HEARTBEAT_LOG_GLOB = "heartbeats-*.jsonl"


@dataclass(frozen=True)
class ActivityFault:
    activity: str
    """Activity type the fault applies to; `*` for every type."""
    fail: bool = True
    """Raise an ApplicationError of `error_type` (after any latency)."""
    error_type: str = "InjectedFault"
    first_attempts: int = 0
    """Only attempts 1..N are affected (0: every attempt while the fault is on)."""
    latency_s: float = 0.0

    def applies(self, activity_type: str, attempt: int) -> bool:
        return self.activity in ("*", activity_type) and (self.first_attempts == 0 or attempt <= self.first_attempts)


def write_faults(path: Path, faults: Sequence[ActivityFault]) -> None:
    """Replace the fault file atomically, so a worker never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"faults": [asdict(f) for f in faults]}), encoding="utf-8")
    os.replace(tmp, path)


def read_faults(path: Path) -> tuple[ActivityFault, ...]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return tuple(ActivityFault(**item) for item in data.get("faults", []))
    except (OSError, ValueError, TypeError):
        return ()


def count_injections(folder: Path) -> dict[str, int]:
    """{activity type: attempts the interceptors affected}, over every worker process's log in `folder`."""
    counts: dict[str, int] = {}
    for log in sorted(folder.glob(INJECTION_LOG_GLOB)):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                name = json.loads(line)["activity"]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a killed worker
            counts[name] = counts.get(name, 0) + 1
    return counts


def read_heartbeats(folder: Path) -> tuple[HeartbeatCall, ...]:
    """Every heartbeat call logged by the workers sharing `folder`, oldest first."""
    calls = []
    for log in sorted(folder.glob(HEARTBEAT_LOG_GLOB)):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                calls.append(HeartbeatCall(**json.loads(line)))
            except (ValueError, TypeError):
                continue  # a line cut short by a killed worker
    return tuple(sorted(calls, key=lambda c: c.at))


class ActivityFaultSwitch:
    """Harness side: turns faults on and off for every worker that shares the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        write_faults(path, ())

    @asynccontextmanager
    async def injected(self, faults: Sequence[ActivityFault]) -> AsyncIterator[None]:
        write_faults(self.path, faults)
        try:
            yield
        finally:
            write_faults(self.path, ())

    def injections(self) -> dict[str, int]:
        return count_injections(self.path.parent)

    def heartbeats(self) -> tuple[HeartbeatCall, ...]:
        return read_heartbeats(self.path.parent)


class _FaultFile:
    """Worker side: the current faults, re-read only when the file changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._faults: tuple[ActivityFault, ...] = ()
        self._log = path.parent / f"injections-{os.getpid()}.jsonl"
        self._heartbeat_log = path.parent / f"heartbeats-{os.getpid()}.jsonl"

    def current(self) -> tuple[ActivityFault, ...]:
        try:
            stat = self.path.stat()
        except OSError:
            return ()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._stamp, self._faults = stamp, read_faults(self.path)
        return self._faults

    def record(self, activity_type: str, attempt: int, fault: ActivityFault) -> None:
        line = json.dumps({"activity": activity_type, "attempt": attempt, "error_type": fault.error_type if fault.fail else None, "at": time.time()})
        with open(self._log, "a", encoding="utf-8") as log:
            log.write(line + "\n")

    def record_heartbeat(self, info: activity.Info) -> None:
        call = HeartbeatCall(info.workflow_id or "", info.activity_id, info.activity_type, info.attempt, time.time())
        # One short append per call, so a SIGKILL loses at most the line being written.
        with open(self._heartbeat_log, "a", encoding="utf-8") as log:
            log.write(json.dumps(asdict(call)) + "\n")


class _HeartbeatRecorder(worker.ActivityOutboundInterceptor):
    def __init__(self, next: worker.ActivityOutboundInterceptor, faults: _FaultFile) -> None:
        super().__init__(next)
        self._faults = faults

    def heartbeat(self, *details: Any) -> None:
        try:
            self._faults.record_heartbeat(self.next.info())
        except OSError:
            pass  # the log is evidence for the harness; it must never break the app's heartbeat
        self.next.heartbeat(*details)


class _Inbound(worker.ActivityInboundInterceptor):
    def __init__(self, next: worker.ActivityInboundInterceptor, faults: _FaultFile) -> None:
        super().__init__(next)
        self._faults = faults

    def init(self, outbound: worker.ActivityOutboundInterceptor) -> None:
        self.next.init(_HeartbeatRecorder(outbound, self._faults))

    async def execute_activity(self, input: worker.ExecuteActivityInput) -> Any:
        info = activity.info()
        for fault in self._faults.current():
            if fault.applies(info.activity_type, info.attempt):
                self._faults.record(info.activity_type, info.attempt, fault)
                if fault.latency_s:
                    await asyncio.sleep(fault.latency_s)
                if fault.fail:
                    raise ApplicationError(
                        f"fault injected by the readiness harness into {info.activity_type} (attempt {info.attempt})",
                        type=fault.error_type,
                    )
        return await self.next.execute_activity(input)


class FaultInterceptor(client.Interceptor, worker.Interceptor):
    """Install on the worker's client (`Client.connect(interceptors=[...])`): workers built from that client,
    including by an app's own factory, pick it up."""

    def __init__(self, path: Path) -> None:
        self._faults = _FaultFile(path)

    def intercept_activity(self, next: worker.ActivityInboundInterceptor) -> worker.ActivityInboundInterceptor:
        return _Inbound(next, self._faults)
