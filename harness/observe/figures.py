"""Small pure functions for the numbers checks report: percentiles and rates over time."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`; None when there are none. Exact: no interpolation,
    so p99 of 100 samples is the 99th smallest, a value that really occurred."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(values_s: Sequence[float]) -> dict[str, float | int | None]:
    """count, p50, p95, p99 and max in milliseconds of durations given in seconds."""
    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    return {
        "count": len(values_s),
        "p50_ms": ms(percentile(values_s, 50)),
        "p95_ms": ms(percentile(values_s, 95)),
        "p99_ms": ms(percentile(values_s, 99)),
        "max_ms": ms(max(values_s) if values_s else None),
    }


def rate(times: Iterable[float], start: float, end: float) -> float:
    """Events per second in [start, end)."""
    if end <= start:
        return 0.0
    return sum(start <= t < end for t in times) / (end - start)


def peak_rate(times: Sequence[float], start: float, end: float, window: float) -> tuple[float, float]:
    """The highest events-per-second over any `window`-long interval that starts in [start, end - window]
    (sliding by a tenth of the window); returns (rate, window start). Windows reaching past `end` are not
    considered, so a half-empty window at the edge cannot dilute or inflate the figure."""
    if end - start < window:
        return rate(times, start, end), start
    ordered = sorted(t for t in times if start <= t < end)
    best, best_at, step = 0.0, start, window / 10
    at = start
    while at + window <= end + 1e-9:
        count = _count_between(ordered, at, at + window)
        if count / window > best:
            best, best_at = count / window, at
        at += step
    return best, best_at


def _count_between(ordered: Sequence[float], low: float, high: float) -> int:

    return bisect_left(ordered, high) - bisect_left(ordered, low)
