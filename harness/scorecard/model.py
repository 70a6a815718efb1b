"""The scorecard: the JSON source of truth of a run. Every other format renders from it.

Schema changes bump SCHEMA_VERSION (major: a field removed or its meaning changed; minor: a field added).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.scorecard.definitions import Definitions

SCHEMA_VERSION = "1.2"


class Status(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    WARN = "WARN"
    NO_DATA = "NO_DATA"
    ERROR = "ERROR"
    SKIPPED = "SKIPPED"


class Verdict(str, Enum):
    GO = "GO"
    GO_WITH_WAIVERS = "GO-WITH-WAIVERS"
    NO_GO = "NO-GO"
    INCONCLUSIVE = "INCONCLUSIVE"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WaiverRef(Frozen):
    """A waiver from the team's waivers file, as it stood when the run was judged (on the FAIL it covers, or unused)."""

    check: str
    scope: str | None = Field(None, description="`workflow_type:X` or `activity_type:Y`; None waives the whole check.")
    reason: str
    owner: str
    ticket: str
    expires: str = Field(description="ISO date; from that day on the waiver no longer covers the failure.")
    expired: bool


class CheckResult(Frozen):
    id: str = Field(description="Stable check id, e.g. determinism.restart_replay.")
    scenario: str = Field(description="Scenario whose observations the check read.")
    failure_mode: str = Field(description="The production failure mode the check covers.")
    status: Status
    summary: str = Field(description="One sentence a reader can act on.")
    evidence: dict[str, Any] = Field(default_factory=dict, description="Figures, ids and per-item rows behind the status.")
    remediation: str = Field("", description="What to change in code or config; empty on PASS.")
    subjects: list[str] = Field(
        default_factory=list,
        description="Workflow and activity types a FAIL concerns (`workflow_type:X`, `activity_type:Y`): what a scoped waiver must cover.",
    )
    waivers: list[WaiverRef] = Field(default_factory=list, description="Waivers that matched this check's FAIL (expired ones included).")


def subjects(*, workflow_types: Iterable[str] = (), activity_types: Iterable[str] = ()) -> list[str]:
    """`CheckResult.subjects` of a FAIL: `workflow_type:X` and `activity_type:Y`, sorted, each once."""
    return sorted({f"workflow_type:{t}" for t in workflow_types if t} | {f"activity_type:{t}" for t in activity_types if t})


class ScenarioSummary(Frozen):
    name: str
    kind: str
    status: str = Field(description="completed, or error when the harness could not finish the scenario.")
    duration_s: float
    error: str | None = None


class TargetInfo(Frozen):
    kind: str
    address: str
    namespace: str
    server_version: str | None = None


class RunInfo(Frozen):
    id: str
    command: str = Field("run", description="The command that produced the scorecard: run, watch or parity.")
    profile: str = Field("local", description="The environment profile the command targeted.")
    started_at: str
    finished_at: str
    duration_s: float
    config_file: str
    app_name: str
    app_git_commit: str | None = Field(None, description="HEAD of the app's git checkout, with '-dirty' if modified.")
    harness_version: str
    sdk_version: str
    python_version: str
    target: TargetInfo


class FailureClass(Frozen):
    status: str = Field(description="How the workflows ended: FAILED, TIMED_OUT, TERMINATED or CANCELED.")
    error_type: str = Field(description="Innermost error type of the failure (e.g. PaymentDeclined), or Timeout:<type>, Terminated.")
    message_pattern: str = Field(description="The failure message with numbers and ids masked.")
    count: int
    sample_workflow_id: str
    sample_history: str | None = Field(None, description="History file of the sample workflow, relative to the report folder.")


class WorkflowTypeStats(Frozen):
    workflow_type: str
    workflows: int = Field(description="Workflow runs of this type the scenarios started.")
    completed: int
    failed: int = Field(description="Closed without completing: failed, timed out, terminated or canceled.")
    still_open: int
    stopped_by_harness: int = Field(0, description="Terminated by a scenario at its end (left open by a fault): not counted as failed.")
    failure_rate: float = Field(description="failed / (completed + failed).")
    latency_p50_s: float | None = Field(description="End-to-end (start to close) of completed runs.")
    latency_p95_s: float | None
    latency_p99_s: float | None
    clock: str = Field(description="`wall`, or `workflow time (time-skipping server)` when the latencies are skipped time.")
    failure_classes: list[FailureClass] = Field(default_factory=list)


class StatusChange(Frozen):
    """A check whose status differs between two runs."""

    check: str
    scenario: str
    old: str = Field(description="Status in the earlier run.")
    new: str = Field(description="Status in the later run.")


class SinceLastGo(Frozen):
    """What changed since the newest earlier GO run of the same app and profile (from the history store)."""

    run_id: str
    started_at: str
    git_commit: str | None
    regressed: list[StatusChange] = Field(default_factory=list, description="Checks whose status got worse (e.g. PASS -> FAIL).")
    improved: list[StatusChange] = Field(default_factory=list)
    definition_changes: list[str] = Field(
        default_factory=list, description="Changes of the effective workflow definitions, as sentences."
    )


class Scorecard(Frozen):
    schema_version: str = SCHEMA_VERSION
    verdict: Verdict
    exit_code: int = Field(description="0 GO or GO-WITH-WAIVERS, 1 NO-GO, 3 INCONCLUSIVE.")
    verdict_reason: str
    run: RunInfo
    scenarios: list[ScenarioSummary]
    checks: list[CheckResult]
    workflow_types: list[WorkflowTypeStats] = Field(
        default_factory=list, description="Per workflow type the run touched: latency, failure rate, failure classes."
    )
    artifacts: dict[str, str] = Field(default_factory=dict, description="Files of this run, relative to the report folder.")
    unused_waivers: list[WaiverRef] = Field(
        default_factory=list, description="Waivers of the waivers file that covered no failure of this run: remove or fix them."
    )
    definitions: Definitions | None = Field(None, description="Effective workflow definitions read from the run's histories.")
    since_last_go: SinceLastGo | None = Field(None, description="Changes since the last GO run of the app; None without one.")
