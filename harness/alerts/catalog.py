"""The Python SDK's worker metrics and how a worker names them, detected from a live scrape.

The Rust core exports `temporal_<base>`: counters without `_total` and histograms in milliseconds by default;
`counters_total_suffix` adds `_total`, `durations_as_seconds` switches the buckets to seconds (same names) and
`unit_suffix` appends `_milliseconds` / `_seconds`. An alert written for one naming matches nothing under another.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from harness.observe.histograms import unit_from_bounds
from harness.observe.model import MetricSample

PREFIX = "temporal_"
COUNTERS = frozenset({
    "workflow_completed", "workflow_failed", "workflow_canceled", "workflow_continue_as_new",
    "workflow_task_execution_failed", "workflow_task_queue_poll_succeed", "workflow_task_queue_poll_empty",
    "activity_execution_failed", "activity_execution_cancelled", "activity_task_received", "activity_poll_no_task",
    "local_activity_execution_failed", "local_activity_execution_cancelled", "local_activity_total",
    "request", "request_failure", "long_request", "long_request_failure",
    "sticky_cache_hit", "sticky_cache_miss", "sticky_cache_total_forced_eviction", "worker_start", "poller_start",
})
HISTOGRAMS = frozenset({
    "workflow_endtoend_latency", "workflow_task_schedule_to_start_latency", "workflow_task_execution_latency",
    "workflow_task_replay_latency", "activity_schedule_to_start_latency", "activity_execution_latency",
    "activity_succeed_endtoend_latency", "local_activity_execution_latency", "local_activity_succeeded_endtoend_latency",
    "request_latency", "long_request_latency",
})
GAUGES = frozenset({"num_pollers", "worker_task_slots_available", "worker_task_slots_used", "sticky_cache_size"})
_HISTOGRAM_PARTS = ("_bucket", "_count", "_sum")
_UNIT_SUFFIXES = ("_milliseconds", "_seconds")


@dataclass(frozen=True)
class Naming:
    """How the scraped workers name their metrics."""

    total_suffix: bool
    """Counters end in `_total`."""
    unit: str | None
    """`ms` or `s` for histogram buckets; None when no latency histogram was scraped."""
    unit_suffix: bool = False
    """Histogram names carry `_milliseconds` / `_seconds`."""

    def describe(self) -> str:
        counters = "counters with _total" if self.total_suffix else "counters without _total"
        unit = {"ms": "latencies in milliseconds", "s": "latencies in seconds", None: "latency unit unknown"}[self.unit]
        return f"{counters}, {unit}" + (" (unit suffix in the name)" if self.unit_suffix else "")

    def name(self, base: str, part: str = "") -> str:
        """The exported name of SDK metric `base` (e.g. workflow_failed), with `part` (_bucket...) for histograms."""
        if base in COUNTERS:
            return PREFIX + base + ("_total" if self.total_suffix else "")
        if base in HISTOGRAMS and self.unit_suffix:
            return PREFIX + base + ("_seconds" if self.unit == "s" else "_milliseconds") + part
        return PREFIX + base + part


def split(name: str) -> tuple[str, str] | None:
    """(SDK base name, histogram part) of an exported or alert-rule metric name, whatever its naming; None when the
    name is not one of the SDK's worker metrics."""
    if not name.startswith(PREFIX):
        return None
    rest = name[len(PREFIX):]
    part = next((p for p in _HISTOGRAM_PARTS if rest.endswith(p)), "")
    rest = rest.removesuffix(part)
    for suffix in _UNIT_SUFFIXES:
        rest = rest.removesuffix(suffix)
    if rest in HISTOGRAMS:
        return rest, part
    if not part and (rest in COUNTERS or rest.removesuffix("_total") in COUNTERS):
        return (rest if rest in COUNTERS else rest.removesuffix("_total")), ""
    if not part and rest in GAUGES:
        return rest, ""
    return None


def detect(samples: tuple[MetricSample, ...]) -> Naming | None:
    """The workers' naming from their samples; None without any SDK counter or histogram to tell."""
    names = {s.name for s in samples if s.name.startswith(PREFIX)}
    counters = {n: parts[0] for n in names if (parts := split(n)) and parts[0] in COUNTERS}
    buckets = [s for s in samples if s.name.endswith("_bucket") and (parts := split(s.name)) and parts[0] in HISTOGRAMS]
    if not counters and not buckets:
        return None
    unit_suffix = any(re.search(r"_(milliseconds|seconds)_bucket$", s.name) for s in buckets)
    bounds = [float(dict(s.labels).get("le", "nan")) for s in buckets]
    unit = unit_from_bounds([b for b in bounds if not math.isnan(b)]) if buckets else None
    return Naming(total_suffix=any(n == PREFIX + base + "_total" for n, base in counters.items()), unit=unit, unit_suffix=unit_suffix)


CATEGORIES: dict[str, frozenset[str]] = {
    "pollers": frozenset({"num_pollers"}),
    "worker_down": frozenset({"up"}),
    "task_slots": frozenset({"worker_task_slots_available", "worker_task_slots_used"}),
    "non_determinism": frozenset({"workflow_task_execution_failed"}),
    "workflow_task_schedule_to_start": frozenset({"workflow_task_schedule_to_start_latency"}),
    "activity_schedule_to_start": frozenset({"activity_schedule_to_start_latency"}),
    "workflow_failures": frozenset({"workflow_failed"}),
    "activity_failures": frozenset({"activity_execution_failed"}),
    "resource_exhausted": frozenset({"request_failure", "long_request_failure"}),
    "request_failures": frozenset({"request_failure", "long_request_failure"}),
    "workflow_task_latency": frozenset({"workflow_task_execution_latency"}),
}
"""What an alert watches, from the SDK metrics it reads (`up` for the scrape target itself)."""


def categories(metric_names: frozenset[str]) -> frozenset[str]:
    bases = {parts[0] if (parts := split(name)) else name for name in metric_names}
    return frozenset(category for category, members in CATEGORIES.items() if bases & members)
