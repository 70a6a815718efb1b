"""A pool of replay processes (`harness.replay.child`) fed history paths one at a time.

Paths are handed out as each process finishes one (a few in flight per process), so a slow history does not
hold up a whole share of the corpus, and only paths cross the pipe: every history is read from disk by the
process that replays it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from harness import processes
from harness.errors import ConfigError, ProcessError

IN_FLIGHT = 4
READY_TIMEOUT_S = 120.0
HISTORY_TIMEOUT_S = 300.0
"""No result from a process for this long means a workflow blocks (e.g. a sleep in unrestricted code): stop."""
LINE_LIMIT = 4 * 1024 * 1024


class ReplayPool:
    """`async with ReplayPool(...) as pool: async for record in pool.replay(paths)`; every process is stopped on exit."""

    def __init__(
        self, workflow_paths: list[str], *, jobs: int, env: dict[str, str], cwd: Path, log_dir: Path, hash_seed: int,
        audit_patches: bool = False, read_cache: Path | None = None, write_cache: Path | None = None,
    ) -> None:
        self.workflow_paths = workflow_paths
        self.jobs = jobs
        self.env = {**env, "PYTHONHASHSEED": str(hash_seed), "PYTHONUNBUFFERED": "1"}
        self.cwd = cwd
        self.log_dir = log_dir
        self.hash_seed = hash_seed
        self.audit_patches = audit_patches
        self.cache_args = [
            *(["--read-cache", str(read_cache)] if read_cache else []), *(["--write-cache", str(write_cache)] if write_cache else [])
        ]
        self.ready: dict = {}
        """What the first process reported: workflow types (`ready`) and, with audit_patches, the code's patch ids."""
        self._procs: list[asyncio.subprocess.Process] = []
        self._logs: list[Path] = []

    async def __aenter__(self) -> ReplayPool:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for i in range(self.jobs):
                log = self.log_dir / f"replay-seed{self.hash_seed}-{i}.log"
                with open(log, "ab") as stderr:
                    proc = await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "harness.replay.child", "--workflows", ",".join(self.workflow_paths),
                        *(["--patches"] if self.audit_patches and i == 0 else []), *self.cache_args,
                        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=stderr,
                        env=self.env, cwd=str(self.cwd), start_new_session=True, limit=LINE_LIMIT,
                    )
                self._procs.append(proc)
                self._logs.append(log)
            readies = await asyncio.gather(
                *(self._read(i, READY_TIMEOUT_S, "loading the workflow code") for i in range(self.jobs))
            )
        except BaseException:
            await self._stop()
            raise
        for ready in readies:
            if "fatal" in ready:
                await self._stop()
                raise ConfigError(f"cannot load the workflow code: {ready['fatal']}", key_path="--workflows")
        self.ready = readies[0]
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self._stop()

    async def _stop(self) -> None:
        await asyncio.gather(*(processes.stop(p) for p in self._procs))

    async def _read(self, i: int, timeout: float, waiting_for: str) -> dict:
        try:
            line = await asyncio.wait_for(self._procs[i].stdout.readline(), timeout)
        except asyncio.TimeoutError:
            raise ProcessError(
                f"replay process {i} gave no answer in {timeout:.0f}s while {waiting_for}:\n{processes.tail(self._logs[i])}"
            ) from None
        if not line:
            code = await self._procs[i].wait()
            raise ProcessError(f"replay process {i} exited with code {code}:\n{processes.tail(self._logs[i])}")
        return json.loads(line)

    async def replay(self, paths: Iterator[Path]) -> AsyncIterator[dict]:
        """Records in completion order: `{"outcome": ..., "markers": ...}` or `{"path": ..., "input_error": ...}`."""
        records: asyncio.Queue = asyncio.Queue()

        async def drive(i: int) -> None:
            proc, in_flight = self._procs[i], []
            while True:
                while len(in_flight) < IN_FLIGHT and (path := next(paths, None)) is not None:
                    proc.stdin.write(json.dumps({"path": str(path)}).encode() + b"\n")
                    in_flight.append(str(path))
                await proc.stdin.drain()
                if not in_flight:
                    return
                record = await self._read(i, HISTORY_TIMEOUT_S, f"replaying one of {', '.join(in_flight)}")
                done = record.get("path") or record["outcome"]["path"]
                in_flight.remove(done)
                await records.put(record)

        async def drive_all() -> None:
            try:
                await asyncio.gather(*(drive(i) for i in range(self.jobs)))
            finally:
                await records.put(None)

        driver = asyncio.create_task(drive_all())
        try:
            while (record := await records.get()) is not None:
                yield record
            await driver
        finally:
            driver.cancel()
            await asyncio.gather(driver, return_exceptions=True)
