"""What changed between two scorecards: verdict, check statuses, key figures and effective definitions. Pure."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from harness.history.definitions_diff import DefinitionChange, compare_definitions
from harness.scorecard.model import CheckResult, Scorecard, SinceLastGo, StatusChange

STATUS_RANK = {"PASS": 0, "SKIPPED": 1, "WARN": 1, "NO_DATA": 2, "ERROR": 3, "FAIL": 3}
"""How bad a status is: a higher rank in the later run is a regression, a lower one an improvement."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunRef(_Frozen):
    id: str
    started_at: str
    command: str
    profile: str
    app_name: str
    git_commit: str | None
    verdict: str


class FigureChange(_Frozen):
    check: str
    scenario: str
    name: str
    old: float
    new: float


class RunDiff(_Frozen):
    old: RunRef
    new: RunRef
    verdict_changed: bool
    regressed: tuple[StatusChange, ...] = Field(description="Checks whose status got worse, e.g. PASS -> FAIL.")
    improved: tuple[StatusChange, ...]
    changed: tuple[StatusChange, ...] = Field(description="Status changed between equally bad ones, e.g. FAIL -> ERROR.")
    only_in_old: tuple[str, ...] = Field(description="`check (scenario)` the later run did not have.")
    only_in_new: tuple[str, ...]
    figures: tuple[FigureChange, ...] = Field(description="Numeric evidence values that differ, for checks in both runs.")
    definitions_compared: bool = Field(description="False when either scorecard has no definitions (an older run).")
    definitions: tuple[DefinitionChange, ...]


def key_figures(check: CheckResult) -> dict[str, float]:
    """The check's numeric scalar evidence values (booleans, text, lists and tables left out)."""
    return {
        name: float(value)
        for name, value in check.evidence.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    }


def _ref(card: Scorecard) -> RunRef:
    run = card.run
    return RunRef(
        id=run.id, started_at=run.started_at, command=run.command, profile=run.profile, app_name=run.app_name,
        git_commit=run.app_git_commit, verdict=card.verdict.value,
    )


def diff_scorecards(old: Scorecard, new: Scorecard) -> RunDiff:
    before = {(c.id, c.scenario): c for c in old.checks}
    after = {(c.id, c.scenario): c for c in new.checks}
    regressed, improved, changed, figures = [], [], [], []
    for key in [k for k in after if k in before]:
        a, b = before[key], after[key]
        change = StatusChange(check=key[0], scenario=key[1], old=a.status.value, new=b.status.value)
        rank_a, rank_b = STATUS_RANK[change.old], STATUS_RANK[change.new]
        if rank_b > rank_a:
            regressed.append(change)
        elif rank_b < rank_a:
            improved.append(change)
        elif change.old != change.new:
            changed.append(change)
        old_figures, new_figures = key_figures(a), key_figures(b)
        figures += [
            FigureChange(check=key[0], scenario=key[1], name=name, old=old_figures[name], new=value)
            for name, value in new_figures.items()
            if name in old_figures and old_figures[name] != value
        ]
    compared = old.definitions is not None and new.definitions is not None
    return RunDiff(
        old=_ref(old), new=_ref(new), verdict_changed=old.verdict != new.verdict,
        regressed=tuple(regressed), improved=tuple(improved), changed=tuple(changed),
        only_in_old=tuple(f"{c} ({s})" for c, s in before if (c, s) not in after),
        only_in_new=tuple(f"{c} ({s})" for c, s in after if (c, s) not in before),
        figures=tuple(figures), definitions_compared=compared,
        definitions=compare_definitions(old.definitions, new.definitions) if compared else (),
    )


def since_last_go(last_go: Scorecard, card: Scorecard) -> SinceLastGo:
    """The compact view the scorecard carries: the last GO run, and what regressed, improved or changed since."""
    changes = diff_scorecards(last_go, card)
    return SinceLastGo(
        run_id=last_go.run.id, started_at=last_go.run.started_at, git_commit=last_go.run.app_git_commit,
        regressed=list(changes.regressed), improved=list(changes.improved),
        definition_changes=[c.sentence for c in changes.definitions],
    )
