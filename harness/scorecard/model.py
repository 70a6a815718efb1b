"""The scorecard: the JSON source of truth of a run. Every other format renders from it.

Schema changes bump SCHEMA_VERSION (major: a field removed or its meaning changed; minor: a field added).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"


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


class Scorecard(Frozen):
    schema_version: str = SCHEMA_VERSION
    verdict: Verdict
    exit_code: int = Field(description="0 GO, 1 NO-GO, 3 INCONCLUSIVE.")
    verdict_reason: str
    run: RunInfo
    scenarios: list[ScenarioSummary]
    checks: list[CheckResult]
    artifacts: dict[str, str] = Field(default_factory=dict, description="Files of this run, relative to the report folder.")
