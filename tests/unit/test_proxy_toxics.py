"""The fault proxy's pure parts: toxic validation, the per-connection toxicity draw and the delay math."""

from __future__ import annotations

import dataclasses
import random

import pytest

from harness.faults.proxy import (
    FaultProxy,
    ProxyStats,
    Toxic,
    affects,
    bandwidth_delay,
    bandwidth_slices,
    chunk_delay,
)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "slow_close"}, "unknown toxic kind"),
        ({"kind": "latency", "toxicity": 1.5}, "toxicity"),
        ({"kind": "latency", "toxicity": -0.1}, "toxicity"),
        ({"kind": "timeout", "timeout_ms": -1}, "timeout_ms"),
        ({"kind": "latency", "latency_ms": -5}, "latency_ms"),
        ({"kind": "latency", "jitter_ms": -5}, "jitter_ms"),
        ({"kind": "bandwidth"}, "rate_kbps > 0"),
        ({"kind": "bandwidth", "rate_kbps": -8}, "rate_kbps"),
        ({"kind": "timeout", "stream": "sideways"}, "stream must be one of"),
        ({"kind": "down", "stream": "downstream"}, "has no stream"),
    ],
)
def test_invalid_toxics_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Toxic(**kwargs)


def test_a_toxic_on_the_downstream_loses_answers_and_shapes_only_that_direction() -> None:
    assert Toxic("reset_peer", stream="downstream").loses_answers() and Toxic("timeout", stream="downstream").loses_answers()
    assert not Toxic("reset_peer").loses_answers() and not Toxic("latency", stream="downstream").loses_answers()
    latency = Toxic("latency", latency_ms=5, stream="downstream")
    assert latency.shapes(upstream=False) and not latency.shapes(upstream=True)
    assert Toxic("latency", latency_ms=5).shapes(upstream=True)


def test_valid_toxics_and_defaults() -> None:
    assert Toxic("down").toxicity == 1.0
    assert Toxic("timeout").timeout_ms == 0
    assert Toxic("bandwidth", rate_kbps=8, toxicity=0.0).rate_kbps == 8
    assert Toxic("latency", latency_ms=100, jitter_ms=20, toxicity=0.5).jitter_ms == 20
    with pytest.raises(dataclasses.FrozenInstanceError):
        Toxic("down").kind = "timeout"  # type: ignore[misc]


def test_toxicity_zero_never_and_one_always() -> None:
    rng = random.Random(1)
    assert not any(affects(rng, 0.0) for _ in range(10_000))
    assert all(affects(rng, 1.0) for _ in range(10_000))


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_toxicity_is_a_probability(seed: int) -> None:
    rng = random.Random(seed)
    share = sum(affects(rng, 0.3) for _ in range(10_000)) / 10_000
    assert 0.27 <= share <= 0.33


def test_same_seed_same_decisions() -> None:
    first, second = random.Random(7), random.Random(7)
    assert [affects(first, 0.5) for _ in range(200)] == [affects(second, 0.5) for _ in range(200)]


def test_latency_without_jitter_is_exact() -> None:
    assert chunk_delay(Toxic("latency", latency_ms=300), random.Random(0)) == pytest.approx(0.3)


def test_jitter_stays_within_bounds_and_spreads_both_ways() -> None:
    rng = random.Random(3)
    delays = [chunk_delay(Toxic("latency", latency_ms=100, jitter_ms=40), rng) for _ in range(2_000)]
    assert all(0.06 <= d <= 0.14 for d in delays)
    assert min(delays) < 0.08 and max(delays) > 0.12


def test_jitter_never_makes_a_delay_negative() -> None:
    rng = random.Random(5)
    delays = [chunk_delay(Toxic("latency", latency_ms=10, jitter_ms=50), rng) for _ in range(2_000)]
    assert min(delays) == 0.0 and max(delays) <= 0.06


def test_other_toxics_add_no_chunk_delay() -> None:
    rng = random.Random(0)
    assert chunk_delay(Toxic("bandwidth", rate_kbps=8), rng) == 0.0
    assert chunk_delay(Toxic("timeout", timeout_ms=100), rng) == 0.0


def test_bandwidth_delay_math() -> None:
    assert bandwidth_delay(16 * 1024, 8) == pytest.approx(2.0)
    assert bandwidth_delay(1024, 1) == pytest.approx(1.0)
    assert bandwidth_delay(0, 8) == 0.0
    with pytest.raises(ValueError):
        bandwidth_delay(10, 0)


def test_bandwidth_slices_split_into_tenth_of_a_second_pieces() -> None:
    data = bytes(range(256)) * 64  # 16 KiB
    slices = bandwidth_slices(data, 8)
    assert b"".join(slices) == data
    assert max(len(s) for s in slices) == int(8 * 1024 * 0.1)
    assert sum(bandwidth_delay(len(s), 8) for s in slices) == pytest.approx(2.0)
    assert bandwidth_slices(b"abc", 1000) == [b"abc"]
    assert bandwidth_slices(b"", 8) == [b""]


def test_stats_snapshot_is_a_plain_copy() -> None:
    stats = ProxyStats(connections=3, active=1, bytes_up=10, bytes_down=20, cut=1, affected=2, upstream_errors=0)
    snap = stats.snapshot()
    assert snap == {"connections": 3, "active": 1, "bytes_up": 10, "bytes_down": 20, "cut": 1, "affected": 2, "upstream_errors": 0, "answers_lost": 0}
    stats.connections += 1
    assert snap["connections"] == 3


async def test_unstarted_proxy_stops_and_takes_toxics_without_sockets() -> None:
    proxy = FaultProxy("db", "127.0.0.1", 5432, listen_port=15432, seed=1)
    assert proxy.port == 15432 and proxy.toxic is None
    async with proxy.fault(Toxic("latency", latency_ms=10)) as stats:
        assert stats is proxy.stats
        assert proxy.toxic == Toxic("latency", latency_ms=10)
    assert proxy.toxic is None
    await proxy.stop()
    await proxy.stop()
    assert proxy.stats.snapshot() == ProxyStats().snapshot()
