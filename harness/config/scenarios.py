"""Typed models of `scenarios/*.yaml`: one model per scenario kind. Unknown keys are rejected everywhere."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Discriminator, Field, Tag, ValidationInfo, WithJsonSchema, field_validator, model_validator

from harness.config.types import Duration, Identifier, ImportPath, Strict, parse_duration
from harness.invariants import Expression

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


class StartsItsOwnWorkflows(Strict):
    """What the scenarios that start workflows of their own choosing share (default: the config's workload)."""

    name: Identifier
    kind: str
    description: str = ""
    workflow: str | None = Field(None, min_length=1, description="Workflow type to start; default: the config's workload.")
    input: Any = Field(None, description="Its argument (strings may contain `{i}`); needs `workflow`. Default: the workload's inputs.")
    id_prefix: Identifier | None = Field(None, description="Workflow id prefix; default: the config's workload.id_prefix.")

    @field_validator("input")
    @classmethod
    def _input_needs_workflow(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and info.data.get("workflow") is None:
            raise ValueError("`input` needs `workflow` (without `workflow` the config's workload and its inputs are used)")
        return value


class LongrunHeartbeatScenario(StartsItsOwnWorkflows):
    """Kill every worker while long activities run: the server must notice within the heartbeat timeout."""

    kind: Literal["longrun_heartbeat"]
    workflows: int = Field(2, ge=1, le=100, description="How many workflows to start.")
    long_activity_bound: Duration = Field(10.0, gt=0, description="Activities whose start-to-close timeout is longer than this are long.")
    kill_after: Duration = Field(3.0, description="How long after the long activities started to SIGKILL every worker.")
    restart_after: Duration = Field(1.0, description="Pause between the confirmed kill and the restart.")
    margin: Duration = Field(5.0, description="Detection may take the heartbeat timeout plus this.")
    detection_timeout: Duration = Field(
        60.0, gt=0, validate_default=True,
        description="How long after the kill to wait for the server to notice (also bounds the wait for the workflows to close).",
    )
    max_heartbeat_ratio: float = Field(
        5.0, gt=1, description="A heartbeat timeout over this many times the observed heartbeat interval (and over the interval "
        "plus `margin`) is flagged (WARN).",
    )

    @field_validator("detection_timeout")
    @classmethod
    def _longer_than_restart_and_margin(cls, value: float, info: ValidationInfo) -> float:
        margin, restart_after = info.data.get("margin"), info.data.get("restart_after")
        if margin is not None and restart_after is not None and value <= margin + restart_after:
            raise ValueError(
                f"expected more than `restart_after` + `margin` ({restart_after + margin:g}s), or no detection could be judged in time"
            )
        return value


MESSAGE_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
SIGNALS_RESERVED_NAMES = (
    "result", "workflow_status", "sent_signals", "sent", "rejected", "delivered_signals", "updates_sent",
    "updates_accepted", "updates_completed", "co_delivered",
)


class MessageSpec(Strict):
    """One message of a burst: `approve` (a signal), `update:amend` (an update), or `{signal|update: name, args: [...]}`."""

    signal: str | None = Field(None, pattern=MESSAGE_NAME)
    update: str | None = Field(None, pattern=MESSAGE_NAME)
    args: list[Any] = Field(default_factory=list, description="Arguments of the signal or update.")

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"update": value.removeprefix("update:")} if value.startswith("update:") else {"signal": value}
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> MessageSpec:
        if (self.signal is None) == (self.update is None):
            raise ValueError("give exactly one of `signal` or `update`")
        return self

    @property
    def label(self) -> str:
        return self.signal if self.signal is not None else f"update:{self.update}"


class SignalsConcurrentScenario(StartsItsOwnWorkflows):
    """Bursts of signals and updates sent at once to idle workflows: the invariants must hold however they land."""

    kind: Literal["signals_concurrent"]
    combinations: list[Annotated[list[MessageSpec], Field(min_length=2)]] = Field(
        min_length=1, description="Bursts to send, e.g. `[[approve, cancel], [cancel, \"update:amend\"]]`."
    )
    orders: Literal["as_declared", "all"] = Field("as_declared", description="`all`: every distinct permutation of each burst.")
    runs: int = Field(5, ge=1, le=200, description="Workflows per burst and order.")
    delivery: Literal["concurrent", "sequential"] = Field(
        "concurrent", description="`sequential`: one message at a time, each after the previous one's workflow task completed."
    )
    restart_during_burst: bool = Field(False, description="SIGKILL every worker right after the first message of each burst, restart after the rest.")
    queries: list[Annotated[str, Field(pattern=MESSAGE_NAME)]] = Field(default_factory=list, description="Queries to call at the end.")
    invariants: list[Expression] = Field(default_factory=list, description="Expressions that must hold for every workflow.")
    check: ImportPath | None = Field(
        None, validate_default=True, description="module:function called with the names; returns True/None, False or messages."
    )
    settle: Duration = Field(10.0, gt=0, description="After the bursts, how long to wait for the workflows to close.")
    timeout: Duration = Field(30.0, gt=0, description="Deadline for a workflow to become idle, a message call, a query or a result.")

    @field_validator("restart_during_burst")
    @classmethod
    def _restart_needs_bursts(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("delivery") == "sequential":
            raise ValueError("a restart in the middle of a burst needs `delivery: concurrent`")
        if value and any(len(c) < 3 for c in info.data.get("combinations", [])):
            raise ValueError("a restart in the middle of a burst needs 3 or more messages per combination: one before the kill, "
                             "and at least two after it to land together")
        return value

    @field_validator("queries")
    @classmethod
    def _not_reserved(cls, value: list[str]) -> list[str]:
        clashing = sorted(set(value) & set(SIGNALS_RESERVED_NAMES))
        if clashing:
            raise ValueError(f"query names {', '.join(clashing)} clash with the names the scenario provides")
        return value

    @field_validator("check")
    @classmethod
    def _something_to_check(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and not info.data.get("invariants"):
            raise ValueError("give `invariants` or a `check` callable: without them nothing can be violated")
        return value


_DAYS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*d\s*$")


def parse_long_duration(value: Any) -> float:
    """Like a Duration, plus days: '10d', '36h', '90m', '30s' or a number of seconds -> seconds (at most 365 days)."""
    if isinstance(value, str) and (match := _DAYS.match(value)):
        value = float(match.group(1)) * 86400
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError("expected a duration such as '10d', '36h', '30m' or a number of seconds, at most 365 days") from None


LongDuration = Annotated[
    float,
    BeforeValidator(parse_long_duration),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": r"^\d+(\.\d+)?(ms|s|m|h|d)?$"}]}),
]
WorkflowStatus = Literal["COMPLETED", "FAILED", "TIMED_OUT", "CANCELED", "TERMINATED", "CONTINUED_AS_NEW"]


class TimelineStep(Strict):
    """One step of a time-skip timeline: `{skip: 10d}`, `{restart_workers: true}` or `{signal: NAME, args: [...]}`."""

    skip: LongDuration | None = Field(None, gt=0, description="Advance workflow time by this; the timers due meanwhile fire.")
    restart_workers: Literal[True] | None = Field(None, description="SIGKILL every worker and start them again.")
    signal: str | None = Field(None, pattern=MESSAGE_NAME, description="Send this signal to every workflow.")
    args: list[Any] = Field(default_factory=list, description="Arguments of the signal.")

    @model_validator(mode="after")
    def _one_action(self) -> TimelineStep:
        given = [key for key in ("skip", "restart_workers", "signal") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `skip: 10d`, `restart_workers: true` or `signal: NAME` per step")
        if self.args and self.signal is None:
            raise ValueError("`args` belongs to a `signal` step")
        return self


class TimeSkipExpect(Strict):
    """How every workflow must end."""

    status: WorkflowStatus = "COMPLETED"
    queries: list[Annotated[str, Field(pattern=MESSAGE_NAME)]] = Field(
        default_factory=list, description="Queries to call at the end; their answers are `queries.NAME` in the invariants."
    )
    invariants: list[Expression] = Field(
        default_factory=list, description="Expressions over `result`, `queries` and `workflow_status` that must hold for every workflow."
    )
    check: ImportPath | None = Field(None, description="module:function called with those names; returns True/None, False or messages.")


class TimeSkipScenario(StartsItsOwnWorkflows):
    """Multi-day workflows on the time-skipping test server: skip days, restart the workers mid-wait, signal, run to the end."""

    kind: Literal["time_skip"]
    workflows: int = Field(3, ge=1, le=50, description="How many workflows to start.")
    timeline: list[TimelineStep] = Field(min_length=1, description="Steps run in order once the workflows started.")
    finish_within: LongDuration = Field(
        60 * 86400.0, gt=0, description="Workflow time allowed after the timeline for every workflow to close ('30d')."
    )
    timeout: Duration = Field(
        120.0, gt=0, description="Wall-clock bound of each wait: a step settling, a skip, the run to the end."
    )
    expect: TimeSkipExpect = Field(default_factory=TimeSkipExpect)

    @field_validator("timeline")
    @classmethod
    def _restarts_mid_wait(cls, value: list[TimelineStep]) -> list[TimelineStep]:
        if not any(step.restart_workers for step in value):
            raise ValueError("add a `restart_workers: true` step: worker restarts during the wait are what this scenario tests")
        if not any(step.skip for step in value):
            raise ValueError("add a `skip: DURATION` step (e.g. `skip: 10d`): without it no workflow time passes on the timeline")
        return value


SCENARIO_KINDS: dict[str, type[Strict]] = {
    "worker_restart": WorkerRestartScenario,
    "retry_outage": RetryOutageScenario,
    "non_retryable": NonRetryableScenario,
    "schedule_to_start": ScheduleToStartScenario,
    "longrun_heartbeat": LongrunHeartbeatScenario,
    "signals_concurrent": SignalsConcurrentScenario,
    "time_skip": TimeSkipScenario,
}
Scenario = (
    WorkerRestartScenario | RetryOutageScenario | NonRetryableScenario | ScheduleToStartScenario
    | LongrunHeartbeatScenario | SignalsConcurrentScenario | TimeSkipScenario
)
