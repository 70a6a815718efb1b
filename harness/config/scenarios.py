"""Typed models of `scenarios/*.yaml`: one model per scenario kind. Unknown keys are rejected everywhere."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import Discriminator, Field, Tag, model_validator

from harness.config.types import Duration, Identifier, Strict

RATE_PATTERN = r"^\s*((\d+(\.\d+)?)\s*x\s*)?(peak|expected)\s*$"
Rate = Annotated[
    float | Annotated[str, Field(pattern=RATE_PATTERN)],
    Field(description="Workflow starts per second: a number, or relative to the config's `load` (`expected`, `peak`, `2x peak`)."),
]


def resolve_rate(rate: float | str, expected: float | None, peak: float | None) -> float:
    """A stage's rate in starts/s; a relative rate needs the config's `load` section (ValueError otherwise)."""
    if not isinstance(rate, str):
        return float(rate)
    match = re.match(RATE_PATTERN, rate)
    assert match is not None  # validated by the model
    base = peak if match.group(4) == "peak" else expected
    if base is None:
        raise ValueError(f"rate {rate!r} is relative to `load.{match.group(4)}_rate`, which the config does not declare")
    return float(match.group(2) or 1) * base


class WorkerRestartScenario(Strict):
    """Start workflows, SIGKILL every worker mid-flight, restart, wait, replay every history."""

    name: Identifier
    kind: Literal["worker_restart"]
    description: str = ""
    workflows: int = Field(6, ge=1, le=1000, description="How many workflows to start.")
    kill_signal: Literal["SIGKILL", "SIGTERM", "SIGINT"] = "SIGKILL"
    mid_flight_timeout: Duration = Field(
        30.0, gt=0, description="How long to wait for every workflow to have made progress before the kill."
    )
    restart_after: Duration = Field(1.0, description="Pause between the confirmed kill and the restart.")
    completion_timeout: Duration = Field(120.0, gt=0, description="Deadline for every workflow to close after restart.")


class StageSpec(Strict):
    duration: Duration = Field(gt=0)
    rate: Rate | None = None
    users: int | None = Field(None, ge=1, le=10000, description="Closed-loop users starting workflows back to back.")

    @model_validator(mode="after")
    def _one_shape(self) -> StageSpec:
        if (self.rate is None) == (self.users is None):
            raise ValueError("give exactly one of `rate` or `users`")
        return self


class NetworkFaultSpec(Strict):
    """A fault on the TCP proxy in front of a dependency, in Toxiproxy's vocabulary."""

    dependency: Identifier = Field(description="Name of a dependency in the config.")
    kind: Literal["down", "timeout", "reset_peer", "latency", "bandwidth"]
    toxicity: float = Field(1.0, ge=0, le=1, description="Fraction of connections affected (not for `down`).")
    timeout: Duration = Field(0.0, description="timeout: close after this (0 = hold until removed); reset_peer: RST after this.")
    latency: Duration = 0.0
    jitter: Duration = 0.0
    rate_kbps: int = Field(0, ge=0, description="bandwidth: KB/s allowed.")


class ActivityFaultSpec(Strict):
    """A fault injected into a Python worker's activities by the harness's interceptor."""

    activity: str = Field(min_length=1, description="Activity type, or `*` for every type.")
    fail: bool = Field(True, description="Raise an error of `error_type` on affected attempts.")
    error_type: str = Field("InjectedFault", min_length=1)
    first_attempts: int = Field(0, ge=0, description="Only attempts 1..N fail (0: every attempt while the fault is on).")
    latency: Duration = 0.0


def _fault_kind(value: object) -> str:
    return "network" if isinstance(value, dict) and "dependency" in value else "activity"


FaultSpec = Annotated[
    Union[Annotated[NetworkFaultSpec, Tag("network")], Annotated[ActivityFaultSpec, Tag("activity")]],
    Discriminator(_fault_kind),
]


class OutageThresholds(Strict):
    max_storm_factor: float = Field(
        4.0, gt=0, description="Peak attempts/s of the faulted activities (during the outage and the burst window after it) "
        "over their attempts/s before the outage.",
    )
    max_amplification: float = Field(4.0, ge=1, description="Mean attempts per logical activity hit by the outage.")
    max_failed_workflows: int = Field(0, ge=0, description="Workflows allowed to fail because of the outage.")
    max_drain: Duration = Field(60.0, gt=0, description="From restore until every activity hit by the outage has completed.")
    burst_window: Duration = Field(5.0, gt=0, description="The first seconds after restore in which the attempt burst is measured.")


class RetryOutageScenario(Strict):
    """Steady load at the expected rate, a dependency down for a window, then restored."""

    name: Identifier
    kind: Literal["retry_outage"]
    description: str = ""
    fault: FaultSpec
    rate: Rate = "expected"
    signal: str | None = Field(None, min_length=1, description="Signal (no arguments) sent to each workflow right after the load starts it.")
    baseline: Duration = Field(10.0, gt=0, description="Load before the fault.")
    outage: Duration = Field(15.0, gt=0, description="How long the fault stays on.")
    recovery: Duration = Field(15.0, ge=0, description="Load after the fault is removed.")
    drain_timeout: Duration = Field(120.0, gt=0, description="Deadline for the started workflows to close after the load.")
    thresholds: OutageThresholds = Field(default_factory=OutageThresholds)


class NonRetryableScenario(Strict):
    """Raise each declared business error in an activity: it must fail on attempt 1, not burn retries."""

    name: Identifier
    kind: Literal["non_retryable"]
    description: str = ""
    activity: str = Field(min_length=1, description="Activity type that raises the business error.")
    error_types: list[str] = Field(
        default_factory=list, description="Business error types to raise; default: the config's `retry.business_errors`."
    )
    workflows: int = Field(2, ge=1, le=100, description="Workflows started per error type.")
    timeout: Duration = Field(30.0, gt=0, description="How long to wait for the activity to fail or retry.")


class LatencyThresholds(Strict):
    workflow_task_p99: Duration = Field(1.0, gt=0, description="Workflow-task schedule-to-start p99 limit.")
    activity_task_p99: Duration = Field(1.0, gt=0, description="Activity-task schedule-to-start p99 limit (first attempts).")
    headroom: float = Field(1.5, ge=1, description="Spare capacity the sizing recommendation adds over the measured need.")


class ScheduleToStartScenario(Strict):
    """Load above the declared peak; measure how long tasks wait for a worker."""

    name: Identifier
    kind: Literal["schedule_to_start"]
    description: str = ""
    load_factor: float = Field(2.0, gt=0, description="Multiple of the config's `load.peak_rate` to hold.")
    ramp: Duration = Field(5.0, ge=0, description="Time at the plain peak rate before the hold.")
    hold: Duration = Field(20.0, gt=0, description="Time at load_factor x peak.")
    stages: list[StageSpec] = Field(default_factory=list, description="Explicit load stages instead of ramp/hold.")
    signal: str | None = Field(None, min_length=1, description="Signal (no arguments) sent to each workflow right after the load starts it.")
    drain_timeout: Duration = Field(120.0, gt=0)
    thresholds: LatencyThresholds = Field(default_factory=LatencyThresholds)


SCENARIO_KINDS: dict[str, type[Strict]] = {
    "worker_restart": WorkerRestartScenario,
    "retry_outage": RetryOutageScenario,
    "non_retryable": NonRetryableScenario,
    "schedule_to_start": ScheduleToStartScenario,
}
Scenario = WorkerRestartScenario | RetryOutageScenario | NonRetryableScenario | ScheduleToStartScenario
