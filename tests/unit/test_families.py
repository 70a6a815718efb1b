"""A started workflow's family in the checks: the latest run speaks for its status, the first failure anywhere in the
family for its replay, named after the child or run it came from."""

from __future__ import annotations

from dataclasses import replace

from harness.checks.families import family_note, history_file, latest_runs, replays_by_started, unreplayable
from harness.checks.server_restart import server_restart
from harness.observe.model import ReplayOutcome, ServerRestartObservations
from harness.scorecard.model import Status
from tests.unit.observations import record

LATEST, EARLIER, CHILD = record("wf-0"), replace(record("wf-0"), run_id="run-first", status="CONTINUED_AS_NEW"), record("wf-0-pack")
FAMILY = (LATEST, CHILD, EARLIER)  # as histories.fetch_family lists them: the latest run first


def ok(wid: str, run: str) -> ReplayOutcome:
    return ReplayOutcome(wid, run, True)


def broken(wid: str, run: str, message: str = "[TMPRL1100] mismatch") -> ReplayOutcome:
    return ReplayOutcome(wid, run, False, "NondeterminismError", message, kind="nondeterminism", workflow_type="PackWorkflow")


def test_the_latest_run_is_the_record_of_its_workflow_id():
    assert latest_runs(FAMILY) == {"wf-0": LATEST, "wf-0-pack": CHILD}


def test_a_family_that_replays_is_represented_by_the_started_workflows_own_replay():
    replays = (ok("wf-0", "run-wf-0"), ok("wf-0-pack", "run-wf-0-pack"), ok("wf-0", "run-first"))
    assert replays_by_started(replays, {"wf-0-pack": "wf-0"}, latest_runs(FAMILY)) == {"wf-0": replays[0]}


def test_the_first_failure_in_the_family_speaks_for_it_naming_the_child_or_the_run():
    records, family_of = latest_runs(FAMILY), {"wf-0-pack": "wf-0"}
    child = replays_by_started((ok("wf-0", "run-wf-0"), broken("wf-0-pack", "run-wf-0-pack"), broken("wf-0", "run-first")), family_of, records)
    assert child["wf-0"].workflow_id == "wf-0" and not child["wf-0"].ok
    assert child["wf-0"].error_message == "child workflow wf-0-pack (PackWorkflow): [TMPRL1100] mismatch"
    earlier = replays_by_started((broken("wf-0", "run-first"), ok("wf-0", "run-wf-0")), family_of, records)
    assert earlier["wf-0"].error_message == "earlier run run-first of wf-0: [TMPRL1100] mismatch"
    own = replays_by_started((broken("wf-0", "run-wf-0"),), family_of, records)
    assert own["wf-0"].error_message == "[TMPRL1100] mismatch"


def test_the_summary_counts_the_histories_beyond_the_started_workflows_latest_runs():
    assert family_note(("wf-0",), FAMILY) == " (2 of them child workflows or earlier runs)"
    assert family_note(("wf-0",), (LATEST,)) == ""


def test_a_server_restart_fails_the_workflow_whose_child_breaks_on_replay_and_not_the_child_itself():
    obs = ServerRestartObservations(
        scenario="server-restart", started=("wf-0",), running_at_kill=("wf-0",), lost=(), workflows=FAMILY,
        replays=(ok("wf-0", "run-wf-0"), broken("wf-0-pack", "run-wf-0-pack"), ok("wf-0", "run-first")), family_of={"wf-0-pack": "wf-0"},
    )
    result = server_restart(obs, None, None)
    assert result.status == Status.FAIL and [p["workflow_id"] for p in result.evidence["problems"]] == ["wf-0"]
    assert result.evidence["problems"][0]["replay_error"].startswith("child workflow wf-0-pack (PackWorkflow)")
    passed = server_restart(replace(obs, replays=tuple(replace(r, ok=True) for r in obs.replays)), None, None)
    assert passed.status == Status.PASS and "all 3 histories replay (2 of them child workflows or earlier runs)" in passed.summary


def test_the_started_workflows_latest_run_speaks_for_a_passing_family_whatever_order_replay_returned():
    replays = (ok("wf-0", "run-first"), ok("wf-0-pack", "run-wf-0-pack"), ok("wf-0", "run-wf-0"))  # sorted by path
    assert replays_by_started(replays, {"wf-0-pack": "wf-0"}, latest_runs(FAMILY))["wf-0"].run_id == "run-wf-0"


def test_a_child_of_a_type_the_python_workers_do_not_register_is_not_judged():
    unregistered = ReplayOutcome("wf-0-pack", "run-wf-0-pack", False, "Unregistered", "no such workflow type", kind="unregistered",
                                 workflow_type="GoPackWorkflow")
    replays = (ok("wf-0", "run-wf-0"), unregistered, ok("wf-0", "run-first"))
    assert unreplayable(replays, {"wf-0-pack": "wf-0"}) == (unregistered,)
    assert replays_by_started(replays, {"wf-0-pack": "wf-0"}, latest_runs(FAMILY))["wf-0"].ok
    assert "1 child histories not judged: their types (GoPackWorkflow) are not in the Python workers" in family_note(
        ("wf-0",), FAMILY, (unregistered,)
    )
    own = replace(unregistered, workflow_id="wf-0")  # the started workflow's own type missing is still a failure
    assert unreplayable((own,), {"wf-0-pack": "wf-0"}) == ()


def test_a_failure_row_links_the_history_that_failed():
    from harness.checks.determinism import restart_replay
    from tests.unit.observations import observations

    child = replace(CHILD, history_file="histories/wf-0-pack.json")
    failed = replace(broken("wf-0-pack", "run-wf-0-pack"), path="/out/histories/wf-0-pack.json")
    obs = observations(1, workflows=(record("wf-0"), child), replays=(ok("wf-0", "run-wf-0"), failed), family_of={"wf-0-pack": "wf-0"})
    [problem] = restart_replay(obs, None, None).evidence["problems"]
    assert problem["workflow_id"] == "wf-0" and problem["history"] == "histories/wf-0-pack.json"
    assert history_file(failed, obs.workflows) == "histories/wf-0-pack.json"


def test_a_child_that_is_itself_a_started_workflow_stays_its_own():
    from temporalio.client import WorkflowHistory

    from harness.scenarios.steps import family_of

    families = {"a": [WorkflowHistory("a", []), WorkflowHistory("b", []), WorkflowHistory("a-child", [])], "b": [WorkflowHistory("b", [])]}
    assert family_of(families) == {"a-child": "a"}
