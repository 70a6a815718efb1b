"""The deploy pieces that are pure: explaining a non-determinism failure from the SDK's real messages and the history,
determinism.deploy on hand-built observations, the scenario file's model, and the alert rows of a rollout."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowHistory

from harness.alerts import firing, rules
from harness.checks import alert_firing
from harness.checks.deploy import CHECK_ID, REMEDIATION, REMEDIATION_FAILED, deploy
from harness.observe.model import DeployObservations, RolloutStep, TaskFailure
from harness.replay.explain import explain
from harness.scenarios.deploy import DeployScenario
from harness.scorecard.model import Status
from tests.conftest import REPO
from tests.unit import alert_windows as w
from tests.unit.observations import record
from tests.unit.test_alert_checks import observations as alert_observations
from tests.unit.test_alert_checks import window as alert_window

V1 = WorkflowHistory.from_json("v1", (REPO / "tests/fixtures/histories/order-v1.json").read_text())
V2 = WorkflowHistory.from_json("v2", (REPO / "tests/fixtures/histories/order-v2-patched.json").read_text())
NDE = "[TMPRL1100] Nondeterminism error: "
# what the SDK (core) said when the order-v1 history was replayed against each change (collected with the Replayer)
REPLACED = NDE + "Activity type of scheduled event 'reserve_inventory' does not match activity type of activity command 'screen_order'"
TIMER_FIRST = NDE + "Timer machine does not handle this event: HistoryEvent(id: 5, ActivityTaskScheduled)"
ENDS_EARLY = NDE + "Complete workflow machine does not handle this event: HistoryEvent(id: 11, ActivityTaskScheduled)"
SKIPPED = NDE + "No command scheduled for event HistoryEvent(id: 5, ActivityTaskScheduled)"
CHILD_FIRST = NDE + "Child workflow machine does not handle this event: HistoryEvent { event_id: 5, event_time: Some(...) }"
PATCH_REMOVED = NDE + "Non-deprecated patch marker encountered for change fraud-screening, but there is no corresponding change command!"


def test_a_replaced_activity_names_both_commands_and_the_patched_guard():
    found = explain(V1, REPLACED)
    assert found.diverging_event == 5 and found.recorded == "ScheduleActivityTask reserve_inventory (event 5)"
    assert found.issued == "ScheduleActivityTask screen_order"
    assert found.guard.startswith("if workflow.patched('screen-order'):") and "reserve_inventory" in found.guard


@pytest.mark.parametrize(("message", "event", "issued"), [
    (TIMER_FIRST, 5, "started a timer where the history recorded ScheduleActivityTask reserve_inventory (event 5)"),
    (CHILD_FIRST, 5, "started a child workflow where the history recorded ScheduleActivityTask reserve_inventory (event 5)"),
    (ENDS_EARLY, 11, "completed the workflow where the history recorded ScheduleActivityTask charge_payment (event 11)"),
])
def test_a_command_of_another_kind_is_named_from_the_machine_that_refused_the_event(message, event, issued):
    found = explain(V1, message)
    assert (found.diverging_event, found.issued) == (event, issued)
    assert found.recorded_commands[-1].endswith(f"(event {event})") and "workflow.patched(" in found.guard


def test_a_skipped_step_keeps_the_old_path_behind_not_patched():
    found = explain(V1, SKIPPED)
    assert found.diverging_event == 5 and found.issued.startswith("no command")
    assert found.guard.startswith("if not workflow.patched('change-id'):")


def test_a_removed_patch_points_at_its_marker_and_at_readiness_patches():
    found = explain(V2, PATCH_REMOVED)
    assert found.recorded == "RecordMarker patch 'fraud-screening' (event 5)"
    assert "workflow.patched('fraud-screening')" in found.issued and "readiness patches" in found.guard


def test_a_message_it_does_not_know_gives_no_explanation():
    assert explain(V1, "RuntimeError: order store unavailable") is None


def _observations(stuck: bool = False, **overrides) -> DeployObservations:
    ids = tuple(f"wf-{i}" for i in range(3))
    failure = TaskFailure(12, "NON_DETERMINISTIC_ERROR", REPLACED, "w-0-g1")
    workflows = tuple(
        record(i, "RUNNING", identities=("w-0-g0",), failures=(failure,)) if stuck else record(i, identities=("w-0-g0", "w-0-g1"))
        for i in ids
    )
    values = dict(
        scenario="deploy-v2", version="workflows v2:Order", rollout="rolling", started=ids, in_flight_at_deploy=ids,
        steps=(RolloutStep(1.0, ("w-0-g1",), ("w-0-g0 (exit 0)",)),), rollout_s=3.2, new_identities=("w-0-g1",),
        workflows=workflows, stuck=ids if stuck else (),
        explanations={i: explain(V1, REPLACED).to_dict() for i in ids} if stuck else {},
    )
    values.update(overrides)
    return DeployObservations(**values)


def test_a_clean_deploy_passes_once_every_type_crossed_it():
    result = deploy(_observations(), None, None)
    assert result.id == CHECK_ID and result.status == Status.PASS, result.summary
    assert result.evidence["crossed_the_deploy"] == 3 and result.evidence["by_workflow_type"]["OrderWorkflow"]["crossed"] == 3
    assert "rolling deploy of workflows v2:Order (3.2 s, 1 steps)" in result.summary


def test_stuck_workflows_fail_each_with_recorded_and_issued_commands_and_guard():
    result = deploy(_observations(stuck=True), None, None)
    assert result.status == Status.FAIL and result.remediation == REMEDIATION
    assert [p["workflow_id"] for p in result.evidence["problems"]] == ["wf-0", "wf-1", "wf-2"]
    row = result.evidence["problems"][0]
    assert row["recorded"] == "ScheduleActivityTask reserve_inventory (event 5)" and row["new_code_issued"] == "ScheduleActivityTask screen_order"
    assert row["guard"].startswith("if workflow.patched(") and row["history"] == "histories/wf-0.json"
    assert "the new code issued ScheduleActivityTask screen_order" in result.summary
    assert result.subjects == ["workflow_type:OrderWorkflow"]


def test_a_workflow_that_failed_after_the_deploy_fails_the_check():
    obs = _observations(workflows=(record("wf-0", "FAILED", message="bad input"), record("wf-1"), record("wf-2")))
    result = deploy(obs, None, None)
    assert result.status == Status.FAIL and result.remediation == REMEDIATION_FAILED
    assert result.evidence["problems"][0]["problem"] == "closed as FAILED: bad input"


def test_workflows_that_never_ran_on_the_new_code_are_no_data_never_pass():
    untouched = tuple(record(f"wf-{i}", identities=("w-0-g0",)) for i in range(3))
    assert deploy(_observations(workflows=untouched), None, None).status == Status.NO_DATA
    assert deploy(_observations(in_flight_at_deploy=()), None, None).status == Status.NO_DATA


def test_a_missing_history_is_an_error_of_the_harness():
    assert deploy(_observations(workflows=(record("wf-0"),)), None, None).status == Status.ERROR


def test_the_new_version_must_be_named_and_app_path_excludes_git_ref():
    base = {"name": "d", "kind": "deploy"}
    with pytest.raises(ValidationError, match="give the new version"):
        DeployScenario.model_validate({**base, "to": {}})
    with pytest.raises(ValidationError, match="not both"):
        DeployScenario.model_validate({**base, "to": {"app_path": "v2", "git_ref": "v2"}})
    spec = DeployScenario.model_validate({**base, "to": {"git_ref": "v2"}, "rollout": "all_at_once"})
    assert spec.to.label() == "git ref v2" and spec.batch == 1


def test_rules_without_for_fire_as_soon_as_their_condition_holds(tmp_path):
    shipped = rules.load([REPO / "dashboards/prometheus/rules/temporal-worker-alerts.yml"])
    copies = firing.without_for(shipped, tmp_path)
    bare = rules.load(copies)
    assert {a.name for a in bare.alerts} == {a.name for a in shipped.alerts} and all(a.for_s == 0 for a in bare.alerts)
    document = firing.test_document(w.steady(), shipped, "j", copies).document
    assert document["rule_files"] == [str(p.resolve()) for p in copies]


def test_a_rollout_window_is_judged_like_a_steady_state_and_says_what_for_it_needs():
    quiet = alert_window("rollout", scenario="deploy")
    met = alert_window("rollout", scenario="deploy")
    met = met.__class__(**{**met.__dict__, "conditions_met": ("TemporalWorkerPollersZero",)})
    result = alert_firing.alerts_fire(alert_observations(windows=[quiet, met]))
    assert result.status == Status.PASS and "2 clean rollout(s) of up to 10 s paged nobody" in result.summary
    assert "TemporalWorkerPollersZero met their condition" in result.summary
    rows = result.evidence["windows"]
    assert rows[0]["detail"] == "no rule's condition held at any point of the rollout"
    assert "need `for:` over 10 s" in rows[1]["detail"] and "TemporalWorkerPollersZero (for: " in rows[1]["detail"]
    noisy = alert_firing.alerts_fire(alert_observations(windows=[alert_window("rollout", ["TemporalWorkerDown"], scenario="deploy")]))
    assert noisy.status == Status.FAIL and "fired during the rollout of a clean deploy" in noisy.summary


def test_a_rollout_window_extends_as_the_steady_state_after_it():
    rollout = w.window("rollout", [w.scrape(100 + i, failed=3 * i, attempts=3 * i) for i in range(5)])
    series = {s["series"]: s["values"] for s in firing.test_document(rollout, rules.load([REPO / "dashboards/prometheus/rules/temporal-worker-alerts.yml"]), "j").document["tests"][0]["input_series"]}
    failed = next(v for k, v in series.items() if k.startswith("temporal_activity_execution_failed{"))
    assert failed.startswith("0 3 6 9 12 12+0x")


def test_a_type_recorded_several_times_is_not_pinned_to_the_first_one():
    # order-v1 schedules reserve_inventory once; made to schedule it twice, the SDK's line no longer says which one
    history = WorkflowHistory.from_json("v1", (REPO / "tests/fixtures/histories/order-v1.json").read_text())
    charge = next(e for e in history.events if e.activity_task_scheduled_event_attributes.activity_type.name == "charge_payment")
    charge.activity_task_scheduled_event_attributes.activity_type.name = "reserve_inventory"
    found = explain(history, REPLACED)
    assert found.diverging_event is None and found.recorded.startswith("ScheduleActivityTask reserve_inventory (one of events 5, 11")
    assert found.recorded_commands[-1].endswith("(event 11)")


def test_a_completed_workflow_that_failed_on_the_new_code_still_fails_the_deploy():
    failure = TaskFailure(12, "NON_DETERMINISTIC_ERROR", REPLACED, "w-0-g1")
    rescued = record("wf-0", identities=("w-0-g0", "w-0-g0"), failures=(failure,))  # an old worker finished it
    result = deploy(_observations(workflows=(rescued, record("wf-1"), record("wf-2"))), None, None)
    assert result.status == Status.FAIL and result.evidence["problems"][0]["problem"].startswith("failed on non-determinism on w-0-g1")


def test_crossing_needs_the_current_version_to_have_run_it_first():
    only_new = tuple(record(f"wf-{i}", identities=("w-0-g1",)) for i in range(3))
    obs = _observations(workflows=only_new, old_identities=("w-0-g0",))
    assert deploy(obs, None, None).status == Status.NO_DATA
    assert deploy(_observations(old_identities=("w-0-g0",)), None, None).status == Status.PASS


def test_a_replaced_worker_leaves_the_rollout_series_and_the_rollout_is_judged_through_itself():
    shipped = rules.load([REPO / "dashboards/prometheus/rules/temporal-worker-alerts.yml"])
    leaving = [w.scrape(100 + i, instance="127.0.0.1:9001") for i in range(3)]
    arriving = [w.scrape(101 + i, instance="127.0.0.1:9002") for i in range(5)]
    plan = firing.test_document(w.window("rollout", sorted(leaving + arriving, key=lambda s: s.at)), shipped, "j")
    series = {s["series"]: s["values"] for s in plan.document["tests"][0]["input_series"]}
    up_old = next(v for k, v in series.items() if k.startswith("up{") and "9001" in k)
    up_new = next(v for k, v in series.items() if k.startswith("up{") and "9002" in k)
    assert up_old == "1 1 1 stale" and up_new.startswith("_ 1 1 1 1 1 1+0x")
    times = sorted({int(t["eval_time"].removesuffix("s")) for t in plan.document["tests"][0]["alert_rule_test"]})
    assert times[0] == 0 and times[1] == firing.EVALUATION_INTERVAL_S
