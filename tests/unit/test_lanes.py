"""Scenario lanes: how many, which lane takes which scenario, results in declared order, a failure stops them all."""

from __future__ import annotations

import asyncio

import pytest

from harness import lanes
from harness.config.models import EmbeddedTarget, ExistingTarget
from harness.faults.http_stream import Message
from harness.faults.ledger import RequestLedger


def test_lane_count_is_capped_by_the_scenarios_and_one_on_an_existing_cluster():
    embedded, existing = EmbeddedTarget(), ExistingTarget(kind="existing", address="10.0.0.5:7233")
    assert lanes.lane_count(None, embedded, 8) == lanes.MAX_LANES
    assert lanes.lane_count(None, embedded, 2) == 2
    assert lanes.lane_count(1, embedded, 8) == 1
    assert lanes.lane_count(5, embedded, 8) == 5
    assert lanes.lane_count(None, embedded, 0) == 1
    assert lanes.lane_count(3, existing, 8) == 1


class _Spec:
    def __init__(self, name: str, seconds: float) -> None:
        self.name, self.seconds = name, seconds


async def test_a_free_lane_takes_the_next_scenario_and_results_keep_the_declared_order():
    ran: list[tuple[str, str]] = []

    async def run_one(ctx, spec):
        ran.append((ctx, spec.name))
        await asyncio.sleep(spec.seconds)
        return spec.name

    specs = [_Spec("long", 0.3), _Spec("short-1", 0.05), _Spec("short-2", 0.05), _Spec("short-3", 0.05)]
    assert await lanes.run_in_lanes(["lane0", "lane1"], specs, run_one) == ["long", "short-1", "short-2", "short-3"]
    assert ran[0] == ("lane0", "long")
    assert {name for ctx, name in ran if ctx == "lane1"} == {"short-1", "short-2", "short-3"}  # lane 0 stayed busy


async def test_the_first_lane_opens_alone_then_the_others_together():
    events: list[str] = []

    def opener(number: int, delay: float):
        async def open_one():
            events.append(f"open {number}")
            await asyncio.sleep(delay)
            events.append(f"opened {number}")
            return f"lane{number}"
        return open_one

    contexts = await lanes.open_lanes([opener(0, 0.05), opener(1, 0.1), opener(2, 0.01)])
    assert contexts == ["lane0", "lane1", "lane2"]
    assert events[:2] == ["open 0", "opened 0"] and events[2:4] == ["open 1", "open 2"]  # 1 and 2 side by side


async def test_a_lane_that_cannot_open_stops_the_others_opening():
    cancelled = asyncio.Event()

    async def broken():
        raise OSError("no port")

    async def slow():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def first():
        return "lane0"

    with pytest.raises(OSError, match="no port"):
        await lanes.open_lanes([first, slow, broken])
    assert cancelled.is_set()


async def test_an_error_in_one_lane_cancels_the_others_and_is_raised_as_itself():
    cancelled = asyncio.Event()

    async def run_one(ctx, spec):
        if spec.name == "broken":
            await asyncio.sleep(0.05)
            raise ValueError("bad scenario")
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(ValueError, match="bad scenario"):
        await lanes.run_in_lanes(["lane0", "lane1"], [_Spec("slow", 0), _Spec("broken", 0)], run_one)
    assert cancelled.is_set()


def _message(key: str) -> Message:
    return Message("POST /charge?x=1 HTTP/1.1", (("Idempotency-Key", key),), "ab" * 32, 10)


def test_ledgers_of_several_lanes_merge_in_arrival_order_with_distinct_connections():
    first, second = RequestLedger("payments", "Idempotency-Key"), RequestLedger("payments", "Idempotency-Key")
    first.scenario, second.scenario = "worker-restart", "retry-outage"
    first.connection(), first.connection(), second.connection()
    a = first.record(_message("k1"), 1)
    b = second.record(_message("k2"), 1)
    c = first.record(_message("k3"), 2)
    a["at"], b["at"], c["at"] = 1.0, 2.0, 3.0
    second.opaque_connections = 2
    whole = RequestLedger.merged([first, second])
    assert [(r["seq"], r["idempotency_key"], r["scenario"]) for r in whole.requests] == [
        (1, "k1", "worker-restart"), (2, "k2", "retry-outage"), (3, "k3", "worker-restart")
    ]
    assert [r["connection"] for r in whole.requests] == [1, 3, 2]
    assert whole.opaque_connections == 2 and whole.dependency == "payments"


async def test_a_scenario_that_runs_alone_runs_first_with_no_other_lane_busy():
    busy: set[str] = set()
    overlaps: list[tuple[str, set[str]]] = []

    async def run_one(ctx, spec):
        overlaps.append((spec.name, set(busy)))
        busy.add(spec.name)
        await asyncio.sleep(spec.seconds)
        busy.discard(spec.name)
        return (ctx, spec.name)

    specs = [_Spec("a", 0.05), _Spec("sized", 0.05), _Spec("b", 0.05), _Spec("c", 0.05)]
    results = await lanes.run_in_lanes(["lane0", "lane1"], specs, run_one, alone=lambda s: s.name == "sized")
    assert [name for _, name in results] == ["a", "sized", "b", "c"]
    assert overlaps[0] == ("sized", set()) and results[1] == ("lane0", "sized")
    assert {name for name, _ in overlaps[1:]} == {"a", "b", "c"}
