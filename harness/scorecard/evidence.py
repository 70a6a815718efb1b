"""Evidence that one side writes (a check) and another reads by key (the charts): a model both import, so a key renamed
on one side fails there at once instead of a chart silently disappearing. A check stores `model.dump()` in
`CheckResult.evidence`, so the JSON is what it always was; a chart reads it back with `Model.read(evidence)`, which
gives None for an old or hand-edited scorecard whose evidence does not fit (the chart is then left out)."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Number = int | float
"""An int stays an int in the JSON (a count), a float a float."""


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def dump(self) -> dict[str, Any]:
        """The evidence as the scorecard stores it: only the keys the check set."""
        return self.model_dump(exclude_unset=True, by_alias=True)

    @classmethod
    def read(cls, evidence: Any) -> Self | None:
        try:
            return cls.model_validate(evidence)
        except ValidationError:
            return None


# --- retry.outage ------------------------------------------------------------------------------------------------

class AttemptsInSecond(Evidence):
    t: Number = Field(description="Whole seconds since the load started.")
    attempts: Number


class BacklogPoint(Evidence):
    t: Number = Field(description="Seconds since the load started (negative: sampled before the first start).")
    workflow: Number
    activity: Number


class OutageEvidence(Evidence):
    """What the retries did to a dependency during and after an outage."""

    fault: dict[str, Any] = Field(default_factory=dict, description="The fault's own counters, and whether it was seen to take effect.")
    faulted_activity_types: list[str] = Field(default_factory=list)
    outage_s: Number | None = None
    attempts_per_s_before: Number | None = None
    attempts_per_s_during: Number | None = None
    attempts_per_s_after: Number | None = None
    attempts_per_s_burst_after_restore: Number | None = None
    peak_attempts_per_s: Number | None = None
    peak_at_s_into_outage: Number | None = None
    storm_factor: Number | None = None
    activities_hit: int | None = None
    retry_amplification: Number | None = None
    workflows_failed: int | None = None
    drain_after_restore_s: Number | None = Field(None, description="None (key present): some activity hit never completed.")
    peak_backlog_workflow_tasks: int | None = None
    peak_backlog_activity_tasks: int | None = None
    attempt_times: str | None = Field(None, description="Where each activity type's attempt times come from: the workers' counters or history.")
    attempts_counted_by_workers: int | None = Field(None, description="Attempts of the faulted types the workers' SDK counters saw through the load.")
    attempts_in_history: int | None = Field(None, description="Attempts of the faulted types that their histories account for.")
    storm_factor_from_history: Number | None = Field(None, description="The storm factor history's reconstruction alone gives, for comparison.")
    calls_at_the_dependency_during_fault: int | None = Field(
        None, description="Connections the fault proxy accepted during a reset_peer or timeout fault: one per call, as each is killed."
    )
    calls_per_attempt_during_fault: Number | None = Field(
        None, description="Calls at the dependency per activity attempt in the fault: above 1, the activity retries inside each attempt."
    )
    attempts_per_second: list[AttemptsInSecond] = Field(default_factory=list)
    fault_from_s: Number | None = Field(None, description="The fault interval, in seconds since the load started.")
    fault_to_s: Number | None = None
    backlog: list[BacklogPoint] = Field(default_factory=list)
    failed_workflows: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def drain_known(self) -> bool:
        """The drain was measured (its key is there), whether or not every activity completed."""
        return "drain_after_restore_s" in self.model_fields_set


# --- latency.schedule_to_start -------------------------------------------------------------------------------------

class TaskLatencyRow(Evidence):
    """Schedule-to-start of one task kind over the whole load, plus the percentiles, cross-checks and sizing the check
    adds (other keys)."""

    model_config = ConfigDict(extra="allow")

    task: str = Field(description="`workflow` or `activity`.")
    count: int = 0
    limit_p99_ms: Number | None = None


class LoadWindow(Evidence):
    """Schedule-to-start percentiles of the tasks scheduled in one window of a load stage (or the drain after it)."""

    from_s: Number = Field(description="Seconds since the first workflow started.")
    to_s: Number
    stage: int | str = Field(description="The stage's number, or `drain`.")
    load: str = ""
    workflow_tasks: int | None = None
    workflow_p50_ms: Number | None = None
    workflow_p95_ms: Number | None = None
    workflow_p99_ms: Number | None = None
    activity_tasks: int | None = None
    activity_p50_ms: Number | None = None
    activity_p95_ms: Number | None = None
    activity_p99_ms: Number | None = None

    def tasks(self, kind: str) -> int | None:
        return getattr(self, f"{kind}_tasks")

    def ms(self, kind: str, quantile: str) -> Number | None:
        return getattr(self, f"{kind}_{quantile}_ms")


class LatencyEvidence(Evidence):
    target_rate_per_s: Number | None = None
    mean_target_rate_per_s: Number | None = None
    achieved_rate_per_s: Number | None = None
    workflows_started: int | None = None
    start_requests: int | None = None
    start_failures: int | None = None
    start_latency_p99_ms: Number | None = None
    locust_workers: int | None = None
    counter_naming: Any = None
    schedule_to_start: list[TaskLatencyRow] = Field(default_factory=list)
    schedule_to_start_over_the_load: list[LoadWindow] = Field(default_factory=list)
    metrics_disagree: str | None = None
    recommendation: str | None = Field(None, description="Sizing advice when tasks waited too long.")


# --- alerts.fire ----------------------------------------------------------------------------------------------------

FIRES, SILENT = "FIRES", "·"


class MatrixRow(Evidence):
    """One window of the fault x alert matrix: `fault` names it, every other key is an alert (FIRES or ·)."""

    model_config = ConfigDict(extra="allow")

    fault: str

    @property
    def alerts(self) -> dict[str, str]:
        return dict(self.model_extra or {})


class WindowResult(Evidence):
    """How one window was judged (what the check always writes; a reader needs only `result`)."""

    scenario: str = ""
    window: str = Field("", description="`baseline`, `fault`, `load` or `rollout`.")
    what_happened: str = Field("", alias="what happened")
    seconds: Number = 0
    fired: str = ""
    result: str = Field(description="caught, NOT CAUGHT, silent, NOISY, ERROR, or - for a load window.")
    expected: str | None = None
    test_file: str | None = None
    detail: str | None = None


class AlertFireEvidence(Evidence):
    """The fault x alert matrix (what a reader needs) and the figures behind the verdict (what the check always writes)."""

    assumption: str = ""
    promtool: str | None = None
    faults: int = 0
    caught: int = 0
    alerts_not_exercised: list[str] = Field(default_factory=list)
    matrix: list[MatrixRow]
    windows: list[WindowResult] = Field(default_factory=list)
