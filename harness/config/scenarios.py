"""The building blocks of `scenarios/*.yaml` that several kinds share: the base every kind's spec extends, rates,
load stages, faults, thresholds, messages and timelines. Each kind's own spec model lives next to its run in
`harness/scenarios/<kind>.py`. Unknown keys are rejected everywhere."""

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


class ScenarioSpec(Strict):
    """What every scenario file has: its name (the file's stem), its kind and a description."""

    name: Identifier
    kind: str
    description: str = ""


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
    stream: Literal["both", "upstream", "downstream"] = Field(
        "both", description="Direction the toxic acts on. `downstream` with timeout/reset_peer: requests reach the "
        "dependency and its answers are lost (it acted, the caller saw a failure and retries).",
    )

    @model_validator(mode="after")
    def _stream_fits(self) -> NetworkFaultSpec:
        if self.kind == "down" and self.stream != "both":
            raise ValueError("`down` closes the listener: `stream` does not apply")
        return self


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
    max_calls_per_attempt: float = Field(
        2.0, ge=1, description="Calls reaching the dependency per activity attempt during a reset_peer or timeout fault "
        "(counted by the proxy): more means the activity retries inside each attempt, multiplying Temporal's retries.",
    )


class LatencyThresholds(Strict):
    workflow_task_p99: Duration = Field(1.0, gt=0, description="Workflow-task schedule-to-start p99 limit.")
    activity_task_p99: Duration = Field(1.0, gt=0, description="Activity-task schedule-to-start p99 limit (first attempts).")
    headroom: float = Field(1.5, ge=1, description="Spare capacity the sizing recommendation adds over the measured need.")


class StartsItsOwnWorkflows(ScenarioSpec):
    """What the scenarios that start workflows share: the config's workload (its types by share), or one type."""

    workflow: str | None = Field(
        None, min_length=1,
        description="Workflow type to start; default: every type of the config's workload by its share. A type of the workload "
        "keeps its inputs unless `input` is given; another type needs `input` (null for none).",
    )
    input: Any = Field(None, description="Its argument (strings may contain `{i}`); needs `workflow`. Default: the workload's inputs.")
    id_prefix: Identifier | None = Field(None, description="Workflow id prefix; default: the workload entry's id_prefix.")

    @field_validator("input")
    @classmethod
    def _input_needs_workflow(cls, value: Any, info: ValidationInfo) -> Any:
        if info.data.get("workflow") is None:
            raise ValueError("`input` needs `workflow` (without `workflow` the config's workload and its inputs are used)")
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
