"""Scrape and parse the SDK's Prometheus metrics from each worker's endpoint."""

from __future__ import annotations

import re

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness.observe.model import MetricSample

_SAMPLE_NAME = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{\s]", re.MULTILINE)


def parse(text: str, *, worker: str, phase: str) -> tuple[MetricSample, ...]:
    """Samples named exactly as the worker exports them: prometheus_client's parser adds `_total` to every
    counter sample, which would hide whether the worker uses the suffix (and alerts must match what it exports)."""
    exported = set(_SAMPLE_NAME.findall(text))

    def as_exported(name: str) -> str:
        bare = name.removesuffix("_total")
        return bare if name not in exported and bare in exported else name

    return tuple(
        MetricSample(
            worker, phase, as_exported(sample.name), tuple(sorted(sample.labels.items())), float(sample.value), family.type
        )
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    )


async def scrape(endpoints: dict[str, int], phase: str, timeout: float = 3.0) -> tuple[tuple[MetricSample, ...], dict[str, str]]:
    """Scrape `{worker label: metrics port}`; returns the samples and, per worker that failed, why."""
    samples: list[MetricSample] = []
    errors: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=timeout) as http:
        for worker, port in endpoints.items():
            try:
                response = await http.get(f"http://127.0.0.1:{port}/metrics")
                response.raise_for_status()
                samples.extend(parse(response.text, worker=worker, phase=phase))
            except (httpx.HTTPError, ValueError) as exc:
                errors[worker] = str(exc) or type(exc).__name__
    return tuple(samples), errors


def total(samples: tuple[MetricSample, ...], name: str, **labels: str) -> float:
    """Sum of samples named `name` (with or without a `_total` suffix) whose labels include `labels`."""
    names = {name, f"{name}_total"}
    return sum(
        s.value for s in samples if s.name in names and all(dict(s.labels).get(k) == v for k, v in labels.items())
    )
