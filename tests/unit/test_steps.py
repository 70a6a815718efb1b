"""The shared scenario steps that need no server: poll until, bounded concurrency, repeat every, workers down."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from harness.journal import Journal
from harness.observe.model import KillRecord
from harness.scenarios import steps


async def test_poll_until_returns_the_first_result_that_is_done():
    calls = []

    async def probe() -> int:
        calls.append(1)
        return len(calls)

    assert await steps.poll_until(probe, lambda n: n >= 3, timeout=10, interval=0) == 3
    assert len(calls) == 3


async def test_poll_until_returns_the_last_result_when_the_deadline_passes():
    async def never() -> str:
        return "not yet"

    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await steps.poll_until(never, lambda _: False, timeout=0.3, interval=0.05) == "not yet"
    assert loop.time() - began < 30  # bounded: it stopped by itself


async def test_poll_until_with_zero_timeout_probes_once():
    seen = []

    async def probe() -> bool:
        seen.append(True)
        return False

    await steps.poll_until(probe, bool, timeout=0)
    assert seen == [True]


async def test_bounded_keeps_order_and_the_limit():
    running, peak = 0, 0

    async def one(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return i

    assert await steps.bounded((one(i) for i in range(20)), limit=3) == list(range(20))
    assert peak == 3


async def test_repeat_every_skips_the_named_failures_until_cancelled():
    seen = []

    async def action() -> None:
        seen.append(len(seen))
        if len(seen) % 2:
            raise KeyError("skipped")

    task = asyncio.create_task(steps.repeat_every(0.01, action, skip=(KeyError,)))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(seen) >= 3


@dataclass
class FakeSupervisor:
    restarts: int = 0
    kills: list[str] = field(default_factory=list)

    async def kill_all(self, signal: str) -> list[KillRecord]:
        self.kills.append(signal)
        return [KillRecord("w", "w-1", 42, signal, -9, True)]

    async def restart_all(self) -> list:
        self.restarts += 1
        return []


@dataclass
class FakeContext:
    journal: Journal
    supervisor: FakeSupervisor = field(default_factory=FakeSupervisor)
    recorder: None = None


async def test_workers_down_restarts_every_worker_even_when_the_block_fails(tmp_path):
    ctx = FakeContext(Journal(tmp_path / "journal.json"))
    with pytest.raises(RuntimeError):
        async with steps.workers_down(ctx, "s", "SIGTERM") as down:
            assert ctx.supervisor.restarts == 0 and [k.signal for k in down.kills] == ["SIGTERM"]
            raise RuntimeError("the scenario broke while the workers were down")
    assert ctx.supervisor.restarts == 1
    names = [(s.name, s.status) for s in ctx.journal.steps]
    assert names == [("SIGTERM all workers", "ok"), ("restart workers", "ok")]
    assert ctx.journal.steps[0].detail["kills"] == ["w pid 42 -> exit -9"] and ctx.journal.steps[0].detail["confirmed"] is True
