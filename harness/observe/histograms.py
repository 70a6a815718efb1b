"""SDK latency histograms from scraped samples: naming and units detected, deltas between two scrapes.

The Python SDK (Rust core) exports histograms in milliseconds and counters without `_total` by default;
`durations_as_seconds`, `unit_suffix` and `counters_total_suffix` change that, and other SDKs differ again.
So the unit is read from the name's suffix when there is one, else from the bucket bounds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from harness.observe.model import MetricSample

_SUFFIXES = {"_milliseconds": "ms", "_seconds": "s", "": None}


@dataclass(frozen=True)
class Histogram:
    name: str
    """The exported family name, e.g. temporal_activity_schedule_to_start_latency (or with _seconds)."""
    unit: str
    """ms or s, as exported."""
    count: int
    buckets: tuple[tuple[float, float], ...]
    """(upper bound in seconds, cumulative count), ascending; the last bound is +inf."""


def unit_from_bounds(bounds: list[float]) -> str:
    """`ms` or `s`: the unit of a latency histogram, from its bucket bounds."""
    finite = [b for b in bounds if math.isfinite(b)]
    # Millisecond buckets reach into the thousands and are whole numbers; second buckets are small fractions.
    return "ms" if finite and max(finite) >= 1000 and all(b == int(b) for b in finite) else "s"


def delta(samples: tuple[MetricSample, ...], base: str, before: str, after: str) -> Histogram | None:
    """The histogram `base` accumulated between the `before` and `after` scrapes, summed over workers and labels."""
    for suffix, unit in _SUFFIXES.items():
        name = f"{base}{suffix}_bucket"
        per_phase: dict[str, dict[float, float]] = {before: defaultdict(float), after: defaultdict(float)}
        for s in samples:
            if s.name == name and s.phase in per_phase:
                per_phase[s.phase][float(dict(s.labels)["le"])] += s.value
        if not per_phase[after]:
            continue
        bounds = sorted(per_phase[after])
        unit = unit or unit_from_bounds(bounds)
        scale = 0.001 if unit == "ms" else 1.0
        buckets = tuple((b * scale, per_phase[after][b] - per_phase[before].get(b, 0.0)) for b in bounds)
        return Histogram(name=f"{base}{suffix}", unit=unit, count=int(buckets[-1][1]), buckets=buckets)
    return None


def quantile_bounds(histogram: Histogram, q: float) -> tuple[float, float] | None:
    """(lower, upper) seconds between which the q-quantile (0..1) lies; None without observations."""
    if histogram.count <= 0:
        return None
    needed = q * histogram.count
    lower = 0.0
    for bound, cumulative in histogram.buckets:
        if cumulative >= needed:
            return lower, bound
        lower = bound
    return lower, math.inf


def counter_naming(samples: tuple[MetricSample, ...]) -> str:
    """How the workers name counters: `temporal_workflow_completed` or `..._total`."""
    names = {s.name for s in samples if s.name.startswith("temporal_")}
    if any(n.endswith("_total") for n in names):
        return "_total suffix"
    return "no _total suffix" if names else "unknown (no temporal_ metric scraped)"
