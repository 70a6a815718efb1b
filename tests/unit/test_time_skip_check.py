"""The longrun.time_skip check on hand-built observations, and how far a workflow has got read from its history."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent

from harness.checks.time_skip import longrun_time_skip
from harness.config.scenarios import TimeSkipExpect
from harness.observe.model import KillRecord, ReplayOutcome, TaskFailure, WorkflowRecord
from harness.observe.time_skip import BUSY, CLOSED, IDLE, STUCK, RestartRecord, TimelineRecord, TimeSkipObservations, WorkflowEnd, progress
from harness.scenarios.time_skip import TimeSkipScenario
from harness.scorecard.model import Status

DAY = 86400.0
NDE = "[TMPRL1100] Nondeterminism error: Activity type of scheduled event 'quote_price' does not match 'renew_subscription'"
RESULT = {"renewals": 5, "plan": "premium"}
EXPECT = TimeSkipExpect(queries=["state"], invariants=["result.renewals == 5", "queries.state.plan == result.plan"])


def event(event_id: int, kind: str, **attributes) -> HistoryEvent:
    built = HistoryEvent(event_id=event_id, event_type=EventType.Value(f"EVENT_TYPE_{kind}"))
    for name, values in attributes.items():
        getattr(built, name).CopyFrom(type(getattr(built, name))(**values))
    return built


def history(*kinds: str, **attributes) -> list[HistoryEvent]:
    return [event(i, kind, **attributes.get(kind.lower(), {})) for i, kind in enumerate(kinds, start=1)]


FIRST_TASK = ("WORKFLOW_EXECUTION_STARTED", "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED")


def test_progress_reads_waiting_working_stuck_and_closed():
    assert progress(history(*FIRST_TASK, "TIMER_STARTED")) == IDLE
    assert progress(history(*FIRST_TASK, "TIMER_STARTED", "TIMER_FIRED", "WORKFLOW_TASK_SCHEDULED")) == BUSY
    assert progress(history(*FIRST_TASK, "ACTIVITY_TASK_SCHEDULED")) == BUSY
    completed = history(*FIRST_TASK, "ACTIVITY_TASK_SCHEDULED", "ACTIVITY_TASK_STARTED", "ACTIVITY_TASK_COMPLETED",
                        activity_task_completed={"activity_task_completed_event_attributes": {"scheduled_event_id": 5}})
    assert progress(completed) == IDLE
    wrong_activity = history(*FIRST_TASK, "ACTIVITY_TASK_SCHEDULED", "ACTIVITY_TASK_STARTED", "ACTIVITY_TASK_COMPLETED",
                             activity_task_completed={"activity_task_completed_event_attributes": {"scheduled_event_id": 99}})
    assert progress(wrong_activity) == BUSY
    assert progress(history(*FIRST_TASK, "TIMER_STARTED", "WORKFLOW_EXECUTION_SIGNALED", "WORKFLOW_TASK_SCHEDULED")) == BUSY
    assert progress(history(*FIRST_TASK, "WORKFLOW_EXECUTION_COMPLETED")) == CLOSED


def test_progress_counts_a_nondeterminism_failure_at_once_and_other_failures_when_repeated():
    nde = {"workflow_task_failed": {"workflow_task_failed_event_attributes": {
        "cause": WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR}}}
    assert progress(history(*FIRST_TASK[:3], "WORKFLOW_TASK_FAILED", **nde)) == STUCK
    once = history(*FIRST_TASK[:3], "WORKFLOW_TASK_FAILED", "WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED")
    assert progress(once) == BUSY
    assert progress(once + history("WORKFLOW_TASK_FAILED")) == STUCK
    healed = once + history("WORKFLOW_TASK_COMPLETED", "TIMER_STARTED")
    assert progress(healed) == IDLE


def kill(confirmed: bool = True) -> KillRecord:
    return KillRecord("w-0", "w-0-g0", 4242, "SIGKILL", -9 if confirmed else None, confirmed)


def record(wid: str, status: str = "COMPLETED", identities=("w-0-g0", "w-0-g1"), failures=()) -> WorkflowRecord:
    return WorkflowRecord(wid, f"run-{wid}", "SubscriptionWorkflow", status, 70, tuple(identities), tuple(failures), None, f"histories/{wid}.json")


def end(wid: str, status: str = "COMPLETED", state: str = CLOSED, result=None, queries=None, errors=()) -> WorkflowEnd:
    result = RESULT if result is None and status == "COMPLETED" else result
    queries = {"state": RESULT} if queries is None and status == "COMPLETED" else (queries or {})
    return WorkflowEnd(wid, status, state, result, queries, tuple(errors))


def observations(n: int = 3, **overrides) -> TimeSkipObservations:
    ids = tuple(f"sub-{i}" for i in range(n))
    values = dict(
        scenario="longrun-time-skip",
        started=ids,
        ends=tuple(end(w) for w in ids),
        workflows=tuple(record(w) for w in ids),
        replays=tuple(ReplayOutcome(w, f"run-{w}", True) for w in ids),
        restarts=(RestartRecord((kill(),), ids, ("w-0-g1",), 10 * DAY),),
        timeline=(TimelineRecord("skip 10d", 10 * DAY, 0.3), TimelineRecord("run to the end", 35 * DAY, 0.7)),
        workflow_time_s=35 * DAY,
        wall_time_s=2.0,
    )
    values.update(overrides)
    return TimeSkipObservations(**values)


def test_passes_when_every_workflow_ends_as_expected_after_the_restart_and_replays():
    check = longrun_time_skip(observations(), TimeSkipScenario.model_construct(expect=EXPECT), None)
    assert check.status == Status.PASS and "35.0 days of workflow time in 2s" in check.summary and not check.remediation
    evidence = check.evidence
    assert (evidence["workflow_days"], evidence["wall_seconds"], evidence["workflow_days_per_wall_minute"]) == (35.0, 2.0, 1050.0)
    assert (evidence["restarts"], evidence["workers_killed"], evidence["open_at_restart"], evidence["resumed_by_restarted_workers"]) == (1, 1, 3, 3)
    assert evidence["problems"] == [] and evidence["timeline"][0] == {"step": "skip 10d", "workflow_day": 10.0, "wall_s": 0.3}


def test_replay_failure_fails_with_a_row_naming_the_nondeterminism_and_the_history():
    replays = (ReplayOutcome("sub-0", "run-sub-0", False, "NondeterminismError", NDE, kind="nondeterminism"),) + tuple(
        ReplayOutcome(f"sub-{i}", f"run-sub-{i}", True) for i in (1, 2)
    )
    check = longrun_time_skip(observations(replays=replays), TimeSkipScenario.model_construct(expect=EXPECT), None)
    assert check.status == Status.FAIL and "1 of 3 workflows" in check.summary and "sub-0 (nondeterminism)" in check.summary
    assert "process memory" in check.remediation
    [row] = check.evidence["problems"]
    assert row == {
        "workflow_id": "sub-0", "status": "COMPLETED", "failed": "replay failed", "replay_error": "nondeterminism",
        "message": NDE, "history": "histories/sub-0.json",
    }


def test_a_subscription_whose_earlier_run_breaks_on_replay_fails_naming_the_run():
    """A month-long workflow continues as new: every run's history replays, and a broken earlier run is its failure."""
    from dataclasses import replace

    earlier = replace(record("sub-0"), run_id="run-sub-0-first", status="CONTINUED_AS_NEW")
    replays = (*observations().replays, ReplayOutcome("sub-0", "run-sub-0-first", False, "NondeterminismError", NDE, kind="nondeterminism"))
    obs = observations(workflows=(*observations().workflows, earlier), replays=replays)
    check = longrun_time_skip(obs, TimeSkipScenario.model_construct(expect=EXPECT), None)
    assert check.status == Status.FAIL and "sub-0 (nondeterminism)" in check.summary
    [row] = check.evidence["problems"]
    assert row["status"] == "COMPLETED" and row["message"] == f"earlier run run-sub-0-first of sub-0: {NDE}"
    whole = longrun_time_skip(replace(obs, replays=(*observations().replays, ReplayOutcome("sub-0", "run-sub-0-first", True))),
                              TimeSkipScenario.model_construct(expect=EXPECT), None)
    assert whole.status == Status.PASS and "all 4 histories replay (1 of them child workflows or earlier runs)" in whole.summary


def test_a_stuck_workflow_names_its_task_failure_and_the_others_why_they_stopped():
    failure = TaskFailure(42, "NON_DETERMINISTIC_ERROR", NDE, "w-0-g2")
    ends = (end("sub-0", "RUNNING", STUCK, errors=("query state not sent: the workflow was stuck",)),
            end("sub-1", "RUNNING", IDLE, queries={"state": {}}), end("sub-2"))
    workflows = (record("sub-0", "RUNNING", failures=(failure,)), record("sub-1", "RUNNING"), record("sub-2"))
    check = longrun_time_skip(observations(ends=ends, workflows=workflows), TimeSkipScenario.model_construct(expect=EXPECT), None)
    assert check.status == Status.FAIL and "sub-0 (nondeterminism), sub-1 (RUNNING)" in check.summary
    assert "First error: NON_DETERMINISTIC_ERROR: [TMPRL1100]" in check.summary and "process memory" in check.remediation
    stuck, stopped = check.evidence["problems"]
    assert stuck["failed"] == "status RUNNING, expected COMPLETED (stuck: its workflow task keeps failing); query state not sent: the workflow was stuck"
    assert stuck["task_failure"].startswith("NON_DETERMINISTIC_ERROR: [TMPRL1100]")
    assert stopped["failed"] == "status RUNNING, expected COMPLETED (workflow time stopped advancing when another workflow got stuck)"


def test_invariants_queries_and_callable_violations_are_named_per_workflow():
    ends = (
        end("sub-0", result={"renewals": 4, "plan": "premium"}),
        end("sub-1", queries={}, errors=("query state failed: timeout", "check: charged twice")),
        end("sub-2"),
    )
    check = longrun_time_skip(observations(ends=ends), TimeSkipScenario.model_construct(expect=EXPECT), None)
    assert check.status == Status.FAIL and "2 of 3 workflows" in check.summary and "sub-0 (COMPLETED)" in check.summary
    first, second = check.evidence["problems"]
    assert first["failed"] == "invariant failed: result.renewals == 5" and "replay_error" not in first
    assert second["failed"].startswith("query state failed: timeout; check: charged twice; invariant could not be evaluated: ")
    assert "no key 'state'" in second["failed"] and "did not end as the scenario expects" in check.remediation


def test_a_different_expected_status_is_honoured():
    failed = tuple(end(f"sub-{i}", "FAILED", result=None, queries={"state": RESULT}) for i in range(3))
    expect = TimeSkipExpect(status="FAILED", invariants=["workflow_status == 'FAILED'"])
    assert longrun_time_skip(observations(ends=failed), TimeSkipScenario.model_construct(expect=expect), None).status == Status.PASS
    assert longrun_time_skip(observations(), TimeSkipScenario.model_construct(expect=expect), None).status == Status.FAIL


def test_no_data_when_the_restart_was_not_confirmed_hit_nothing_or_was_not_resumed():
    unconfirmed = observations(restarts=(RestartRecord((kill(False),), ("sub-0",), ("w-0-g1",), 10 * DAY),))
    assert longrun_time_skip(unconfirmed, TimeSkipScenario.model_construct(expect=EXPECT), None).status == Status.NO_DATA
    assert longrun_time_skip(observations(restarts=()), TimeSkipScenario.model_construct(expect=EXPECT), None).status == Status.NO_DATA
    after_the_end = observations(restarts=(RestartRecord((kill(),), (), ("w-0-g1",), 40 * DAY),))
    assert "No workflow was still waiting" in longrun_time_skip(after_the_end, TimeSkipScenario.model_construct(expect=EXPECT), None).summary
    not_resumed = observations(workflows=tuple(record(f"sub-{i}", identities=("w-0-g0",)) for i in range(3)))
    assert "restarted worker" in longrun_time_skip(not_resumed, TimeSkipScenario.model_construct(expect=EXPECT), None).summary
    unreplayed = observations(replays=())
    assert longrun_time_skip(unreplayed, TimeSkipScenario.model_construct(expect=EXPECT), None).status == Status.NO_DATA
    nothing = observations(0, restarts=())
    check = longrun_time_skip(nothing, TimeSkipScenario.model_construct(expect=EXPECT), None)
    assert check.status == Status.NO_DATA and "No workflow was started" in check.summary
