"""deploy.versioning on hand-built observations, the stage judgement the rehearsal rolls back on, and what a real
history of a rolled-back workflow says about the versions that ran it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowHistory

from harness.checks.versioning import CHECK_ID, VersioningThresholds, figures, regressions, versioning
from harness.observe.model import RampStage, VersionedRun, VersioningObservations
from harness.observe.versioned import versioned_run
from harness.scenarios.versioning import VersioningScenario
from harness.scorecard.model import Status
from tests.conftest import REPO

ROLLED_BACK = WorkflowHistory.from_json(
    "rb", (REPO / "tests/fixtures/versioning/order-rollback.json").read_text()
)  # an auto-upgrade order moved to the unpatched v2 at a 10% ramp, failed there, went back to v1 when the ramp was removed
BUILDS = {"orders-worker-0-g0-868c095b-v1": "v1", "orders-worker-0-g0-868c095b-v2-unpatched": "v2-unpatched"}


def run(wid: str, versions: tuple[str, ...], *, group: str = "auto", status: str = "COMPLETED", nde: tuple[str, ...] = (),
        waits: tuple[tuple[str, float], ...] = (), latency: float | None = 4.0) -> VersionedRun:
    return VersionedRun(wid, "OrderWorkflow", group, status, versions, nde, waits or tuple((v, 0.01) for v in versions), latency)


def spec(**thresholds) -> VersioningScenario:
    return VersioningScenario.model_validate({"name": "v", "kind": "versioning", "next": {"build_id": "v2", "app_path": "."},
                                             "thresholds": thresholds})


def observations(final: tuple[VersionedRun, ...], *, stages=None, rolled_back=False, promoted=True) -> VersioningObservations:
    stages = stages if stages is not None else (RampStage(10, 5.0, final), RampStage(100, 5.0, final))
    return VersioningObservations("versioning", "d", "v1", "v2", "workflows v2", tuple(stages), rolled_back, promoted, final)


def test_a_real_history_shows_the_move_to_the_next_version_the_failure_there_and_the_way_back():
    found = versioned_run(ROLLED_BACK, "auto-upgrade, ramp raised to 10%", BUILDS)
    assert found.versions == ("v1", "v2-unpatched", "v1") and found.nondeterminism_on == ("v2-unpatched",)
    assert found.status == "COMPLETED" and found.latency_s > 0 and found.workflow_type == "OrderWorkflow"
    assert {b for b, _ in found.task_waits} == {"v1", "v2-unpatched"}


def test_figures_compare_the_versions_side_by_side():
    runs = (run("a", ("v1",)), run("b", ("v1", "v2"), nde=("v2",), status="RUNNING", latency=None),
            run("c", ("v2",), status="FAILED", waits=(("v2", 3.0),)))
    v1, v2 = figures(runs, "v1"), figures(runs, "v2")
    assert (v1.workflows, v1.nondeterminism, v1.failed, v1.latency_p50_s) == (2, 0, 0, 4.0)
    assert (v2.workflows, v2.nondeterminism, v2.failed, v2.workflow_task_p99_s) == (2, 1, 1, 3.0)
    why = regressions(runs, "v2", VersioningThresholds())
    assert why == ["1 workflows failed on non-determinism on v2", "1 workflows failed on v2",
                   "workflow-task schedule-to-start p99 3 s on v2 (limit 2 s)"]
    assert regressions(runs, "v2", VersioningThresholds(max_nondeterminism=1, max_failed=1, workflow_task_p99=5)) == []


def test_a_clean_promoted_ramp_passes_only_when_running_workflows_moved_over():
    final = (run("p", ("v1",), group="pinned"), run("a", ("v1", "v2")), run("n", ("v2",)))
    result = versioning(observations(final), spec(), None)
    assert result.id == CHECK_ID and result.status == Status.PASS, result.summary
    assert result.evidence["moved_to_next_and_completed"] == 1 and [s["verdict"] for s in result.evidence["stages"]] == ["held", "held"]
    assert "10% -> 100%" in result.summary and "all 1 workflows pinned to v1 completed on it" in result.summary
    nobody_moved = (run("p", ("v1",), group="pinned"), run("n", ("v2",)))
    assert versioning(observations(nobody_moved), spec(), None).status == Status.NO_DATA


def test_a_regression_fails_naming_the_stage_the_rollback_and_the_recovered_workflows():
    final = (run("p", ("v1",), group="pinned"), run("a", ("v1", "v2", "v1"), nde=("v2",)))
    result = versioning(observations(final, stages=(RampStage(10, 5.0, final),), rolled_back=True, promoted=False), spec(), None)
    assert result.status == Status.FAIL and result.subjects == ["workflow_type:OrderWorkflow"]
    assert "v2 regressed at 10% (1 workflows failed on non-determinism on v2) and was rolled back" in result.summary
    assert result.evidence["recovered_on_current_after_rollback"] == 1 and result.evidence["stages"][0]["verdict"] == "REGRESSED"
    assert result.evidence["problems"][0]["versions"] == ["v1", "v2", "v1"]


def test_a_pinned_workflow_that_left_the_current_version_fails():
    final = (run("p", ("v1", "v2"), group="pinned"), run("a", ("v1", "v2")))
    result = versioning(observations(final), spec(), None)
    assert result.status == Status.FAIL and "1 of 1 workflows pinned to v1 did not complete on it (p)" in result.summary


def test_the_ramp_must_increase_and_the_versions_differ():
    with pytest.raises(ValidationError, match="increasing percentages"):
        VersioningScenario.model_validate({"name": "v", "kind": "versioning", "next": {"app_path": "."}, "stages": [50, 10]})
    with pytest.raises(ValidationError, match="increasing percentages"):
        VersioningScenario.model_validate({"name": "v", "kind": "versioning", "next": {"app_path": "."}, "stages": [0, 120]})
    assert spec().stages == [10, 50, 100] and spec().current_build_id == "current"


def test_what_breaks_on_the_next_version_after_the_last_stage_still_fails():
    final = (run("p", ("v1",), group="pinned"), run("a", ("v1", "v2")), run("late", ("v1", "v2"), nde=("v2",), status="RUNNING"))
    clean_stages = (RampStage(100, 5.0, final[:2]),)
    result = versioning(observations(final, stages=clean_stages), spec(), None)
    assert result.status == Status.FAIL and "after the last stage: 1 workflows failed on non-determinism on v2" in result.summary
