"""determinism.restart_replay: a pure function of hand-built observations."""

from __future__ import annotations

from harness.checks.determinism import CHECK_ID, REMEDIATION_FAILED, REMEDIATION_NONDETERMINISM, restart_replay
from harness.observe.model import LiveReplay, ReplayOutcome
from harness.scorecard.model import Status
from tests.unit.observations import kill, nondeterministic, observations, record


def test_pass_when_all_complete_resume_and_replay():
    result = restart_replay(observations(3), None, None)
    assert result.id == CHECK_ID and result.status == Status.PASS
    assert result.evidence["resumed_by_restarted_workers"] == 3
    assert result.evidence["histories_replayed"] == 3 and result.evidence["replay_failures"] == 0
    assert "All 3 workflows completed" in result.summary and result.remediation == ""


def test_nondeterminism_fails_naming_each_workflow_with_class_and_message():
    result = restart_replay(nondeterministic(3), None, None)
    assert result.status == Status.FAIL
    for i in range(3):
        assert f"wf-{i} (NondeterminismError)" in result.summary
    problems = result.evidence["problems"]
    assert [p["workflow_id"] for p in problems] == ["wf-0", "wf-1", "wf-2"]
    assert problems[0]["message"].startswith("[TMPRL1100] Nondeterminism error: Timer machine")
    assert problems[0]["history"] == "histories/wf-0.json"
    assert result.evidence["nondeterminism_task_failures_metric"] == 4.0
    assert result.remediation == REMEDIATION_NONDETERMINISM and "workflow.patched" in result.remediation


def test_a_replay_failure_alone_fails_even_if_the_workflow_completed():
    obs = observations(2, replays=(ReplayOutcome("wf-0", "r", True), ReplayOutcome("wf-1", "r", False, "NondeterminismError", "mismatch")))
    result = restart_replay(obs, None, None)
    assert result.status == Status.FAIL
    assert [p["workflow_id"] for p in result.evidence["problems"]] == ["wf-1"]


def test_failed_and_unfinished_workflows_fail_with_the_generic_remediation():
    workflows = (record("wf-0", "FAILED", message="payment exploded"), record("wf-1", "RUNNING"), record("wf-2"))
    result = restart_replay(observations(3, workflows=workflows), None, None)
    assert result.status == Status.FAIL
    rows = {p["workflow_id"]: p for p in result.evidence["problems"]}
    assert rows["wf-0"]["error_class"] == "WorkflowFailed" and rows["wf-0"]["message"] == "payment exploded"
    assert rows["wf-1"]["error_class"] == "DeadlineExceeded"
    assert "wf-2" not in rows
    assert result.remediation == REMEDIATION_FAILED


def test_missing_history_is_a_problem_not_a_pass():
    result = restart_replay(observations(2, workflows=(record("wf-0"),)), None, None)
    assert result.status == Status.FAIL
    assert result.evidence["problems"][0]["error_class"] == "MissingHistory"


def test_unconfirmed_kill_is_no_data_never_pass():
    assert restart_replay(observations(kills=(kill(confirmed=False),)), None, None).status == Status.NO_DATA
    assert restart_replay(observations(kills=()), None, None).status == Status.NO_DATA


def test_nothing_mid_flight_and_nothing_replayed_on_the_restarted_workers_is_no_data():
    result = restart_replay(observations(running_at_kill=()), None, None)
    assert result.status == Status.NO_DATA and "mid-flight" in result.summary and "0 of 3 closed workflows" in result.summary
    assert result.evidence["not_exercised"] == ["a workflow resuming mid-flight on a restarted worker"]


def test_millisecond_workflows_replayed_on_the_restarted_workers_pass_saying_what_was_not_exercised():
    live = tuple(LiveReplay(f"wf-{i}") for i in range(3))
    result = restart_replay(observations(3, running_at_kill=(), live_replays=live), None, None)
    assert result.status == Status.PASS
    assert "all 3 closed before it" in result.summary and "replayed all 3 histories from scratch" in result.summary
    assert "Not exercised: a workflow resuming mid-flight" in result.summary
    assert result.evidence["exercised"][0].startswith("3 of 3 closed histories replayed by the restarted workers")


def test_a_restarted_worker_that_cannot_replay_a_closed_history_fails_on_nondeterminism():
    live = (LiveReplay("wf-0"), LiveReplay("wf-1", "[TMPRL1100] Nondeterminism error: Missing associated machine for LocalActivity(1)"))
    result = restart_replay(observations(2, running_at_kill=(), live_replays=live), None, None)
    assert result.status == Status.FAIL and [p["workflow_id"] for p in result.evidence["problems"]] == ["wf-1"]
    assert result.remediation == REMEDIATION_NONDETERMINISM


def test_a_query_that_failed_for_another_reason_is_not_a_replay():
    live = (LiveReplay("wf-0"), LiveReplay("wf-1", "deadline exceeded"))
    result = restart_replay(observations(2, running_at_kill=(), live_replays=live), None, None)
    assert result.status == Status.NO_DATA and "1 of 2 closed workflows" in result.summary and "deadline exceeded" in result.summary


def test_restart_that_picked_up_nothing_is_no_data():
    workflows = tuple(record(f"wf-{i}", identities=("w-0-g0",)) for i in range(3))
    result = restart_replay(observations(3, workflows=workflows), None, None)
    assert result.status == Status.NO_DATA and "restarted worker" in result.summary


def test_histories_not_replayed_is_no_data():
    result = restart_replay(observations(3, replays=()), None, None)
    assert result.status == Status.NO_DATA and "0 of 3 histories" in result.summary


def test_summary_lists_at_most_five_workflows():
    result = restart_replay(nondeterministic(8), None, None)
    assert "and 3 more" in result.summary
    assert len(result.evidence["problems"]) == 8


def test_a_non_determinism_failure_shows_the_recorded_and_the_issued_command():
    explanation = {"recorded": "ScheduleActivityTask reserve_inventory (event 5)", "issued": "ScheduleActivityTask screen_order",
                   "recorded_commands": ("ScheduleActivityTask reserve_inventory (event 5)",), "guard": "if workflow.patched('x'): ..."}
    obs = nondeterministic(2)
    obs = obs.__class__(**{**obs.__dict__, "explanations": {"wf-0": explanation}})
    rows = {p["workflow_id"]: p for p in restart_replay(obs, None, None).evidence["problems"]}
    assert rows["wf-0"]["new_code_issued"] == "ScheduleActivityTask screen_order" and rows["wf-0"]["guard"].startswith("if workflow.patched(")
    assert "new_code_issued" not in rows["wf-1"]


def _with_family(obs, *, child_ok: bool = True, earlier_ok: bool = True):
    """wf-0 started a child (wf-0-pack) and continued as new once: four histories for two started workflows."""
    from dataclasses import replace

    child = replace(record("wf-0-pack"), workflow_type="PackWorkflow")
    earlier = replace(record("wf-1"), run_id="run-wf-1-first", status="CONTINUED_AS_NEW")
    replays = (
        *obs.replays,
        ReplayOutcome("wf-0-pack", "run-wf-0-pack", child_ok, None if child_ok else "NondeterminismError",
                      None if child_ok else "[TMPRL1100] Nondeterminism error: child path", workflow_type="PackWorkflow"),
        ReplayOutcome("wf-1", "run-wf-1-first", earlier_ok, None if earlier_ok else "NondeterminismError",
                      None if earlier_ok else "[TMPRL1100] Nondeterminism error: first run path"),
    )
    return replace(obs, workflows=(*obs.workflows, child, earlier), replays=replays, family_of={"wf-0-pack": "wf-0"})


def test_every_history_of_a_family_replays_and_the_latest_run_decides_the_status():
    result = restart_replay(_with_family(observations(2)), None, None)
    assert result.status == Status.PASS, result.summary
    assert result.evidence["completed"] == 2 and result.evidence["histories_collected"] == 4
    assert "all 4 histories replay (2 of them child workflows or earlier runs)" in result.summary


def test_a_child_workflow_that_breaks_on_replay_fails_its_started_workflow_naming_the_child():
    result = restart_replay(_with_family(observations(2), child_ok=False), None, None)
    assert result.status == Status.FAIL and result.remediation == REMEDIATION_NONDETERMINISM
    [problem] = result.evidence["problems"]
    assert problem["workflow_id"] == "wf-0" and problem["status"] == "COMPLETED"
    assert problem["message"].startswith("child workflow wf-0-pack (PackWorkflow): [TMPRL1100]")
    assert result.subjects == ["workflow_type:OrderWorkflow"]


def test_an_earlier_run_that_breaks_on_replay_fails_its_workflow_naming_the_run():
    result = restart_replay(_with_family(observations(2), earlier_ok=False), None, None)
    assert result.status == Status.FAIL
    [problem] = result.evidence["problems"]
    assert problem["workflow_id"] == "wf-1" and problem["message"].startswith("earlier run run-wf-1-first of wf-1: ")


def test_a_family_history_not_replayed_is_no_data():
    from dataclasses import replace

    obs = _with_family(observations(2))
    result = restart_replay(replace(obs, replays=obs.replays[:-1]), None, None)
    assert result.status == Status.NO_DATA and "Only 3 of 4 histories were replayed" in result.summary
