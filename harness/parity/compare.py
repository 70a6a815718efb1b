"""Compare what two environments actually run, and say which differences the config documents. Pure.

Each environment is a sample: effective definitions built from a bounded sample of its histories, and the pollers
of its task queues. Every difference is documented when the `differences` of either profile names it (the activity
or workflow type, the task queue for worker counts, `sdk_versions` for SDKs); undocumented ones make the
`parity.environments` check WARN. An environment with no workflow in the window gives NO_DATA: nothing to compare.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from harness.config.models import ProfileDifferences
from harness.history.definitions_diff import DefinitionChange, compare_definitions
from harness.scorecard.definitions import Definitions
from harness.scorecard.model import CheckResult, RunInfo, ScenarioSummary, Scorecard, Status
from harness.scorecard.verdict import EXIT_CODES, decide

CHECK_ID = "parity.environments"
FAILURE_MODE = "environments that differ in ways nobody documented: staging passed, production runs something else"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TaskQueueView(_Frozen):
    name: str
    workflow_pollers: tuple[str, ...] = Field(description="Identities polling its workflow tasks, sorted.")
    activity_pollers: tuple[str, ...] = Field(description="Identities polling its activity tasks, sorted.")

    @property
    def workers(self) -> tuple[str, ...]:
        return tuple(sorted({*self.workflow_pollers, *self.activity_pollers}))


class EnvironmentSample(_Frozen):
    profile: str
    address: str
    namespace: str
    query: str = Field(description="The visibility query that listed the workflows.")
    listed: int = Field(description="Workflows the query listed (at most the limit).")
    matching: int | None = Field(description="Workflows the query matches in all; None when the server cannot count.")
    definitions: Definitions
    task_queues: tuple[TaskQueueView, ...]


class ParityDifference(_Frozen):
    kind: str = Field(description="workflow_type, activity_type, sdk or workers.")
    subject: str = Field(description="The type or task queue; empty for SDK versions.")
    sentence: str
    left: str = Field(description="The value in the first environment (empty: absent there).")
    right: str
    documented: bool
    documented_by: str = Field("", description="The config key that documents it, with its note.")


class ParityReport(_Frozen):
    left: EnvironmentSample
    right: EnvironmentSample
    differences: tuple[ParityDifference, ...]

    @property
    def undocumented(self) -> tuple[ParityDifference, ...]:
        return tuple(d for d in self.differences if not d.documented)


def _sentence(change: DefinitionChange, left: str, right: str) -> str:
    by = f" (scheduled by {change.scheduled_by})" if change.scheduled_by else ""
    if not change.aspect:
        words = change.kind.replace("_", " ")
        return f"{words} {change.subject} runs only in {left if change.change == 'removed' else right}"
    where = f"{change.subject}{by}: " if change.subject else ""
    if change.change == "changed":
        return f"{where}{change.aspect}: {change.old} in {left}, {change.new} in {right}"
    only = left if change.change == "removed" else right
    return f"{where}{change.aspect} only in {only}: {change.old if change.change == 'removed' else change.new}"


def _documentation(kind: str, subject: str, notes: dict[str, ProfileDifferences]) -> str:
    key = {"workflow_type": "workflow_types", "activity_type": "activity_types", "workers": "workers"}.get(kind)
    for profile, declared in notes.items():
        table = getattr(declared, key) if key else None
        if table is not None and subject in table:
            return f"profiles.{profile}.differences.{key}.{subject}: {table[subject]}"
        if kind == "sdk" and declared.sdk_versions:
            return f"profiles.{profile}.differences.sdk_versions: {declared.sdk_versions}"
    return ""


def _workers(left: EnvironmentSample, right: EnvironmentSample) -> list[tuple[str, str, str, str]]:
    """(task queue, sentence, left, right) for each task queue whose number of distinct polling workers differs."""
    before = {q.name: q for q in left.task_queues}
    after = {q.name: q for q in right.task_queues}
    rows = []
    for name in sorted(before.keys() | after.keys()):
        a = len(before[name].workers) if name in before else 0
        b = len(after[name].workers) if name in after else 0
        if a != b:
            rows.append((name, f"task queue {name}: {a} worker(s) polling in {left.profile}, {b} in {right.profile}", str(a), str(b)))
    return rows


def compare(left: EnvironmentSample, right: EnvironmentSample, notes: dict[str, ProfileDifferences]) -> ParityReport:
    """Every difference between the two samples; `notes` maps each profile name to its documented differences."""
    differences = []
    for change in compare_definitions(left.definitions, right.definitions):
        documented_by = _documentation(change.kind, change.subject, notes)
        differences.append(
            ParityDifference(
                kind=change.kind, subject=change.subject, sentence=_sentence(change, left.profile, right.profile),
                left=change.old, right=change.new, documented=bool(documented_by), documented_by=documented_by,
            )
        )
    for queue, sentence, a, b in _workers(left, right):
        documented_by = _documentation("workers", queue, notes)
        differences.append(
            ParityDifference(kind="workers", subject=queue, sentence=sentence, left=a, right=b, documented=bool(documented_by),
                             documented_by=documented_by)
        )
    return ParityReport(left=left, right=right, differences=tuple(differences))


def _environment_row(sample: EnvironmentSample) -> dict:
    return {
        "profile": sample.profile, "address": sample.address, "namespace": sample.namespace, "workflows_listed": sample.listed,
        "workflows_matching": "unknown" if sample.matching is None else sample.matching, "histories": sample.definitions.histories,
        "workflow_types": ", ".join(w.workflow_type for w in sample.definitions.workflow_types) or "none",
        "sdks": ", ".join(sample.definitions.sdks) or "unknown",
        "workers": ", ".join(f"{q.name}: {len(q.workers)}" for q in sample.task_queues) or "none",
    }


def parity_check(report: ParityReport) -> CheckResult:
    left, right = report.left, report.right
    names = f"{left.profile} and {right.profile}"
    evidence: dict = {
        "environments": [_environment_row(left), _environment_row(right)],
        "differences": [
            {"difference": d.sentence, "kind": d.kind, "documented": "yes" if d.documented else "NO", "documented_by": d.documented_by or "-"}
            for d in report.differences
        ],
        "undocumented": len(report.undocumented),
        "documented": len(report.differences) - len(report.undocumented),
    }
    result = CheckResult(id=CHECK_ID, scenario="parity", failure_mode=FAILURE_MODE, status=Status.PASS, summary="", evidence=evidence)
    empty = [s.profile for s in (left, right) if s.listed == 0]
    if empty:
        return result.model_copy(update={
            "status": Status.NO_DATA,
            "summary": f"No workflow started in the window in {' and '.join(empty)} ({left.query}): nothing to compare.",
            "remediation": "Widen --since, or check the profile's address and namespace.",
        })
    if report.undocumented:
        shown = "; ".join(d.sentence for d in report.undocumented[:5]) + ("; …" if len(report.undocumented) > 5 else "")
        subjects = sorted({f"{d.kind}:{d.subject}" for d in report.undocumented if d.kind in ("workflow_type", "activity_type")})
        return result.model_copy(update={
            "status": Status.WARN,
            "summary": f"{len(report.undocumented)} undocumented difference(s) between {names}: {shown}",
            "remediation": "Make the environments run the same thing, or document each intended difference under "
            "`profiles.<name>.differences` (workflow_types, activity_types, workers, sdk_versions) in the config.",
            "subjects": subjects,
        })
    documented = len(report.differences)
    return result.model_copy(update={
        "summary": f"{names} run the same workflow and activity definitions, worker counts and SDKs"
        + (f", apart from {documented} documented difference(s)." if documented else ".")
    })


def parity_scorecard(report: ParityReport, *, run: RunInfo, duration_s: float, artifacts: dict[str, str]) -> Scorecard:
    """The scorecard of a parity comparison: one check, the usual verdict rule (WARN does not block; NO_DATA is
    INCONCLUSIVE)."""
    checks = [parity_check(report)]
    scenarios = [ScenarioSummary(name="parity", kind="parity", status="completed", duration_s=round(duration_s, 2))]
    verdict, reason = decide(checks, scenarios)
    return Scorecard(
        verdict=verdict, exit_code=EXIT_CODES[verdict], verdict_reason=reason, run=run, scenarios=scenarios, checks=checks,
        artifacts=artifacts,
    )
