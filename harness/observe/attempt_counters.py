"""Activity attempts as the workers counted them, sampled every second through a load.

History keeps a retrying activity's last attempt only (and a local activity's count in its marker), so attempt times
in between are reconstructed. The SDK's workers count every attempt they execute, activity or local activity, in the
`temporal_(local_)activity_execution_latency` histogram (one observation per attempt, success or failure), labelled
with the activity type. Scraped every second, its increases are attempt counts per second where the attempts ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

import httpx

from harness.observe.model import AttemptScrape, MetricSample
from harness.observe.recorder import scrape_endpoints

SCRAPE_INTERVAL_S = 1.0
_ATTEMPTS = re.compile(r"^temporal_(local_)?activity_execution_latency(?:_seconds|_milliseconds)?_count$")
COUNTED_BY = "SDK histograms temporal_activity_execution_latency and temporal_local_activity_execution_latency (one observation per attempt)"


def attempt_scrape(at: float, worker: str, samples: Iterable[MetricSample]) -> AttemptScrape:
    """One worker's attempt counters at `at`: {(activity type, local): attempts so far}."""
    counts: dict[tuple[str, bool], float] = defaultdict(float)
    for sample in samples:
        if (match := _ATTEMPTS.match(sample.name)) and (activity_type := dict(sample.labels).get("activity_type")):
            counts[(activity_type, match.group(1) is not None)] += sample.value
    return AttemptScrape(at, worker, tuple(sorted(counts.items())))


def counted_attempt_times(scrapes: Sequence[AttemptScrape], activity_types: Iterable[str]) -> dict[str, list[float]]:
    """Attempt times per activity type (of those asked for that the workers counted any attempt of), from the
    increases between each worker's consecutive scrapes, spread evenly over the interval between them. A worker's
    first scrape is its baseline; a counter lower than before means the worker restarted, so its value is new
    attempts; a type missing from a scrape had no attempt yet on that worker."""
    wanted = set(activity_types)
    by_worker: dict[str, list[AttemptScrape]] = defaultdict(list)
    for scrape in scrapes:
        by_worker[scrape.worker].append(scrape)
    times: dict[str, list[float]] = defaultdict(list)
    for series in by_worker.values():
        series.sort(key=lambda s: s.at)
        for previous, current in zip(series, series[1:]):
            before = dict(previous.counts)
            for (activity_type, local), value in current.counts:
                if activity_type not in wanted:
                    continue
                increase = value - before.get((activity_type, local), 0.0)
                new = round(value if increase < 0 else increase)
                span = current.at - previous.at
                times[activity_type] += [previous.at + span * (i + 1) / (new + 1) for i in range(new)]
    return {t: sorted(v) for t, v in times.items() if v}


async def _sample(endpoints: Callable[[], dict[str, int]], into: list[AttemptScrape]) -> None:
    for scrape in await scrape_endpoints(endpoints()):
        if scrape.up:  # a worker that does not answer is skipped: the next scrape covers the interval
            into.append(attempt_scrape(scrape.at, scrape.worker, scrape.samples))


@contextlib.asynccontextmanager
async def counting(endpoints: Callable[[], dict[str, int]]) -> AsyncIterator[list[AttemptScrape]]:
    """Scrape every worker's attempt counters when entering, every second inside and when leaving; the list fills
    as it goes."""
    into: list[AttemptScrape] = []

    async def keep_sampling() -> None:
        while True:
            await asyncio.sleep(SCRAPE_INTERVAL_S)
            with contextlib.suppress(httpx.HTTPError, OSError):
                await _sample(endpoints, into)

    await _sample(endpoints, into)
    task = asyncio.create_task(keep_sampling())
    try:
        yield into
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await _sample(endpoints, into)
