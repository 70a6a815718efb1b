"""The scorecard: the JSON source of truth of a run. Every other format renders from it.

Schema changes bump SCHEMA_VERSION (major: a field removed or its meaning changed; minor: a field added).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.1"


class Status(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    WARN = "WARN"
    NO_DATA = "NO_DATA"
    ERROR = "ERROR"
    SKIPPED = "SKIPPED"


class Verdict(str, Enum):
    GO = "GO"
    NO_GO = "NO-GO"
    INCONCLUSIVE = "INCONCLUSIVE"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckResult(Frozen):
    id: str = Field(description="Stable check id, e.g. determinism.restart_replay.")
    scenario: str = Field(description="Scenario whose observations the check read.")
    failure_mode: str = Field(description="The production failure mode the check covers.")
    status: Status
    summary: str = Field(description="One sentence a reader can act on.")
    evidence: dict[str, Any] = Field(default_factory=dict, description="Figures, ids and per-item rows behind the status.")
    remediation: str = Field("", description="What to change in code or config; empty on PASS.")


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


class Scorecard(Frozen):
    schema_version: str = SCHEMA_VERSION
    verdict: Verdict
    exit_code: int = Field(description="0 GO, 1 NO-GO, 3 INCONCLUSIVE.")
    verdict_reason: str
    run: RunInfo
    scenarios: list[ScenarioSummary]
    checks: list[CheckResult]
    workflow_types: list[WorkflowTypeStats] = Field(
        default_factory=list, description="Per workflow type the run touched: latency, failure rate, failure classes."
    )
    artifacts: dict[str, str] = Field(default_factory=dict, description="Files of this run, relative to the report folder.")
