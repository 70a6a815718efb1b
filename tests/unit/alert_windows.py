"""Hand-built metric windows: what the recorder would have scraped from one worker during a fault."""

from __future__ import annotations

from harness.observe.model import MetricSample
from harness.observe.recorder import MetricWindow, Scrape

QUEUE = (("namespace", "default"), ("task_queue", "orders"))


def scrape(at: float, up: bool = True, *, failed: float = 0, attempts: float = 0, workflow_failed: float | None = None,
           completed: float = 0, pollers: float = 2, instance: str = "127.0.0.1:9001") -> Scrape:
    if not up:
        return Scrape(at, "w-0", instance, False)
    activity = (("activity_type", "charge_payment"), *QUEUE)
    samples = [
        MetricSample("w-0", "window", "temporal_num_pollers", (*QUEUE, ("poller_type", "workflow_task")), pollers, "gauge"),
        MetricSample("w-0", "window", "temporal_activity_execution_latency_count", activity, attempts, "histogram"),
        MetricSample("w-0", "window", "temporal_workflow_completed", (*QUEUE, ("workflow_type", "OrderWorkflow")), completed, "counter"),
    ]
    if failed:  # the SDK creates a counter at its first increment
        samples.append(MetricSample("w-0", "window", "temporal_activity_execution_failed", activity, failed, "counter"))
    if workflow_failed is not None:
        samples.append(MetricSample("w-0", "window", "temporal_workflow_failed", (*QUEUE, ("workflow_type", "OrderWorkflow")), workflow_failed, "counter"))
    return Scrape(at, "w-0", instance, True, tuple(samples))


def window(phase: str, scrapes: list[Scrape], expects: tuple[str, ...] = (), scenario: str = "retry-outage", description: str = "") -> MetricWindow:
    return MetricWindow(scenario, phase, description or phase, expects, scrapes[0].at, scrapes[-1].at, tuple(scrapes))


def outage() -> MetricWindow:
    """Every attempt of charge_payment fails for 10 s (3 attempts a second)."""
    return window("fault", [scrape(100 + i, failed=3 * i, attempts=3 * i + 5) for i in range(11)], ("activity_failures",),
                  description="payments down")


def steady() -> MetricWindow:
    return window("baseline", [scrape(100 + i, attempts=3 * i, completed=i) for i in range(11)])


def kill() -> MetricWindow:
    return window("fault", [scrape(100), scrape(101, up=False), scrape(102.2, up=False)], ("pollers", "worker_down"),
                  scenario="worker-restart", description="every worker SIGKILLed")


def business_error() -> MetricWindow:
    return window("fault", [scrape(100, completed=40), scrape(100.6, completed=40, workflow_failed=2)], ("workflow_failures",),
                  scenario="non-retryable", description="PaymentDeclined raised in charge_payment")
