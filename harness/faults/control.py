"""Apply a scenario's fault for a window and tell whether it took effect.

`applied(spec, ...)` is an async context manager: entering applies the fault (proxy toxic or activity
fault), exiting always removes it, also on an exception or Ctrl-C. The `FaultWindow` it yields becomes a
`FaultRecord` with the evidence that the fault was seen to work: for `down`, a probe connection refused
after traffic had flowed; for other toxics, connections the toxic applied to; for an activity fault,
attempts the interceptor affected.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from harness.config.scenarios import ActivityFaultSpec, NetworkFaultSpec
from harness.faults.activity import ActivityFault, ActivityFaultSwitch
from harness.faults.proxy import FaultProxy, Toxic
from harness.observe.model import FaultRecord


@dataclass
class FaultWindow:
    kind: str
    target: str
    started_at: float = 0.0
    ended_at: float = 0.0
    confirmed: bool = False
    evidence: dict[str, Any] = field(default_factory=dict)

    def record(self) -> FaultRecord:
        return FaultRecord(self.kind, self.target, self.started_at, self.ended_at, self.confirmed, dict(self.evidence))


def toxic_of(spec: NetworkFaultSpec) -> Toxic:
    return Toxic(
        kind=spec.kind, toxicity=spec.toxicity, timeout_ms=round(spec.timeout * 1000),
        latency_ms=round(spec.latency * 1000), jitter_ms=round(spec.jitter * 1000), rate_kbps=spec.rate_kbps,
        stream=spec.stream,
    )


def activity_fault_of(spec: ActivityFaultSpec) -> ActivityFault:
    return ActivityFault(
        activity=spec.activity, fail=spec.fail, error_type=spec.error_type, first_attempts=spec.first_attempts, latency_s=spec.latency
    )


@asynccontextmanager
async def _network(spec: NetworkFaultSpec, proxy: FaultProxy) -> AsyncIterator[FaultWindow]:
    window = FaultWindow(kind=f"network:{spec.kind}", target=spec.dependency)
    connections_before, lost_before = proxy.stats.connections, proxy.stats.answers_lost
    window.started_at = time.time()
    try:
        async with proxy.fault(toxic_of(spec)) as stats:
            if spec.kind == "down":
                window.evidence["probe_refused"] = await proxy.probe_refused()
            yield window
            window.evidence.update(cut_connections=stats.cut, affected_connections=stats.affected)
            if spec.kind != "down":  # the proxy accepted every connection of the window; `down` refused them unseen
                window.evidence["connections_during_fault"] = stats.connections - connections_before
            if spec.stream == "downstream":
                window.evidence["answers_lost"] = stats.answers_lost - lost_before
    finally:
        window.ended_at = time.time()
    window.evidence["connections_before_fault"] = connections_before
    window.evidence["connections_total"] = proxy.stats.connections
    if spec.kind == "down":
        window.confirmed = bool(window.evidence["probe_refused"]) and connections_before > 0
    else:  # a toxic that loses answers took effect only once an answer was lost
        window.confirmed = window.evidence.get("answers_lost", window.evidence["affected_connections"]) > 0


@asynccontextmanager
async def _activity(spec: ActivityFaultSpec, switch: ActivityFaultSwitch) -> AsyncIterator[FaultWindow]:
    window = FaultWindow(kind="activity:fail" if spec.fail else "activity:latency", target=spec.activity)
    before = sum(switch.injections().values())
    window.started_at = time.time()
    try:
        async with switch.injected([activity_fault_of(spec)]):
            yield window
    finally:
        window.ended_at = time.time()
    window.evidence["injected_attempts"] = sum(switch.injections().values()) - before
    window.confirmed = window.evidence["injected_attempts"] > 0


def applied(
    spec: NetworkFaultSpec | ActivityFaultSpec, proxies: dict[str, FaultProxy], switch: ActivityFaultSwitch
):
    """Async context manager yielding a FaultWindow; the fault is removed on exit whatever happens."""
    if isinstance(spec, NetworkFaultSpec):
        return _network(spec, proxies[spec.dependency])
    return _activity(spec, switch)
