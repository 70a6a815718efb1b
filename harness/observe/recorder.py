"""Metric time series of a scenario's phases: every worker scraped at a short interval, as Prometheus would.

A window scrapes when it opens, every `interval` while open and when it closes, so a fault that lasts under a
second is still seen. A worker that stops answering is recorded as down (Prometheus's `up == 0`) and keeps being
scraped until the window closes, so a window in which every worker was killed shows the workers gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx

from harness.observe import metrics
from harness.observe.model import MetricSample

SCRAPE_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Scrape:
    at: float
    """Epoch seconds."""
    worker: str
    instance: str
    """host:port, Prometheus's `instance` label."""
    up: bool
    samples: tuple[MetricSample, ...] = ()


@dataclass(frozen=True)
class MetricWindow:
    scenario: str
    phase: str
    """`baseline` (steady state, no fault), `fault`, `load` or `rollout` (a deploy that broke nothing: must not page)."""
    description: str
    """What was done, e.g. `every worker SIGKILLed` or `payments: network down`."""
    expects: tuple[str, ...]
    """Alert categories that should fire if this fault lasted (see harness.alerts.categories); () for the others."""
    started_at: float
    ended_at: float
    scrapes: tuple[Scrape, ...]


@dataclass
class WindowLabel:
    """What a window is, settable until it closes: a deploy learns only at its end whether it was a fault."""

    phase: str
    description: str
    expects: tuple[str, ...] = ()


class MetricRecorder:
    """Records windows while scenarios run; `endpoints` gives {worker identity: metrics port} of the live workers."""

    def __init__(self, endpoints: Callable[[], dict[str, int]], interval: float = SCRAPE_INTERVAL_S) -> None:
        self._sources = [endpoints]
        self.interval = interval
        self.windows: list[MetricWindow] = []

    def _endpoints(self) -> dict[str, int]:
        return {worker: port for source in self._sources for worker, port in source().items()}

    @contextlib.contextmanager
    def following(self, endpoints: Callable[[], dict[str, int]]) -> Iterator[None]:
        """Also record the workers `endpoints` lists (a scenario's own workers) while the block runs."""
        self._sources.append(endpoints)
        try:
            yield
        finally:
            self._sources.remove(endpoints)

    @contextlib.asynccontextmanager
    async def window(
        self, scenario: str, phase: str, description: str = "", expects: tuple[str, ...] = (), *, follow_targets: bool = False
    ) -> AsyncIterator[WindowLabel]:
        """Record while the block runs; the window is kept only when the block finishes without an exception.
        `follow_targets`: a worker stopped on purpose (replaced by a deploy) leaves the targets, as service discovery
        drops it, instead of being recorded as down."""
        label = WindowLabel(phase, description, expects)
        known: dict[str, int] = {}
        scrapes: list[Scrape] = []
        started = time.time()

        async def scrape_all() -> None:
            if follow_targets:
                known.clear()
            known.update(self._endpoints())
            scrapes.extend(await scrape_endpoints(known))

        async def keep_scraping() -> None:
            while True:
                await asyncio.sleep(self.interval)
                await scrape_all()

        await scrape_all()
        loop = asyncio.create_task(keep_scraping())
        try:
            yield label
        finally:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # a scraping error must not mask the block's own
                await loop
        await scrape_all()
        if scrapes:  # no worker with a metrics endpoint: nothing to judge alerts on
            self.windows.append(MetricWindow(scenario, label.phase, label.description, label.expects, started, time.time(), tuple(scrapes)))

    async def snapshot(self) -> tuple[Scrape, ...]:
        """One scrape of the live workers now (the names they export, for the alert lint)."""
        return await scrape_endpoints(self._endpoints())


async def scrape_endpoints(endpoints: dict[str, int], timeout: float = 2.0) -> tuple[Scrape, ...]:
    async with httpx.AsyncClient(timeout=timeout) as http:
        scrapes = await asyncio.gather(*(_scrape_one(http, worker, port) for worker, port in endpoints.items()))
    return tuple(s for s in scrapes if s is not None)


async def _scrape_one(http: httpx.AsyncClient, worker: str, port: int) -> Scrape | None:
    """None when the worker was only slow (a busy 2-core machine is not a dead worker); down when nothing listens."""
    at = time.time()
    try:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
        response.raise_for_status()
        return Scrape(at, worker, f"127.0.0.1:{port}", True, metrics.parse(response.text, worker=worker, phase="window"))
    except httpx.TimeoutException:
        return None
    except (httpx.HTTPError, ValueError):
        return Scrape(at, worker, f"127.0.0.1:{port}", False)
