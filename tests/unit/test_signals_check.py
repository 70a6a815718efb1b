"""`signals.concurrent` on hand-built observations: every status, and the evidence a reader acts on."""

from __future__ import annotations

from harness.checks.signals import CHECK_ID, signals_concurrent
from harness.observe.messages import Delivery, MessageOutcome, SignalRun, SignalsObservations, Violation
from harness.observe.model import KillRecord
from harness.scorecard.model import Status

TOGETHER, APART = (9, 9), (7, 11)
SENT = (MessageOutcome("approve", True), MessageOutcome("cancel", True))


def run(
    order: str = "approve, cancel", tasks: tuple = TOGETHER, violations: tuple = (), index: int = 0,
    signals: dict | None = None, combination: str = "approve + cancel", messages: tuple = SENT,
) -> SignalRun:
    return SignalRun(
        combination=combination, order=order, workflow_id=f"wf-{order}-{index}", workflow_status="COMPLETED", messages=messages,
        delivery=Delivery({"approve": 1, "cancel": 1} if signals is None else signals, {}, {}, tasks),
        violations=violations, history_file=f"histories/wf-{index}.json",
    )


def observe(*runs: SignalRun, **kwargs) -> SignalsObservations:
    return SignalsObservations(scenario="signals-concurrent", delivery_mode=kwargs.pop("delivery", "concurrent"), runs=runs, **kwargs)


def test_pass_when_bursts_landed_together_and_every_invariant_held():
    result = signals_concurrent(observe(run(index=0), run(index=1, tasks=APART), run("cancel, approve", index=2)), None, None)
    assert result.id == CHECK_ID and result.status == Status.PASS and result.remediation == ""
    assert "3 workflows in 2 bursts (concurrent), 2 delivered in one workflow task" in result.summary
    rows = result.evidence["bursts"]
    assert [(r["order"], r["runs"], r["co_delivered"], r["violations"]) for r in rows] == [("approve, cancel", 2, 1, 0), ("cancel, approve", 1, 1, 0)]
    assert result.evidence["co_delivered"] == 2 and result.evidence["lost_signals"] == 0


def test_fail_names_each_broken_invariant_with_a_sample_history():
    decided_twice = (Violation("decisions == 1", "decisions=2"),)
    result = signals_concurrent(observe(
        run(index=0), run(index=1, violations=decided_twice), run(index=2, violations=decided_twice, tasks=APART),
        run("approve, approve", index=3, combination="approve + approve", violations=(Violation("approvals <= 1", "approvals=2"),)),
    ), None, None)
    assert result.status == Status.FAIL
    assert "`decisions == 1` broke in 2 workflows (1 co-delivered; e.g. approve, cancel -> decisions=2, histories/wf-1.json)" in result.summary
    assert "`approvals <= 1` broke in 1 workflows" in result.summary
    broken = {row["invariant"]: row for row in result.evidence["violated_invariants"]}
    assert broken["decisions == 1"]["sample_workflow_id"] == "wf-approve, cancel-1" and broken["decisions == 1"]["runs"] == 2
    assert broken["approvals <= 1"]["sample_history"] == "histories/wf-3.json"
    assert result.evidence["bursts"][0]["sample"] == "histories/wf-1.json" and result.evidence["bursts"][0]["violations"] == 2
    assert "asyncio.Lock" in result.remediation and "all_handlers_finished" in result.remediation


def test_fail_on_a_lost_signal_even_when_every_invariant_held():
    result = signals_concurrent(observe(run(index=0), run(index=1, signals={"approve": 1})), None, None)
    assert result.status == Status.FAIL and "1 accepted signals never reached the history (e.g. wf-approve, cancel-1)" in result.summary
    assert result.evidence["lost"] == [{"workflow_id": "wf-approve, cancel-1", "signal": "cancel", "missing": 1, "history": "histories/wf-1.json"}]
    assert "continue-as-new" in result.remediation


def test_refused_messages_are_reported_not_lost():
    refused = (MessageOutcome("approve", True), MessageOutcome("cancel", False, "RPCError: workflow execution already completed"))
    result = signals_concurrent(observe(run(index=0), run(index=1, messages=refused, signals={"approve": 1}, tasks=(7,))), None, None)
    assert result.status == Status.PASS
    row = result.evidence["bursts"][0]
    assert row["refused_messages"] == 1 and row["refused_example"].startswith("cancel: RPCError") and row["lost_signals"] == 0


def test_no_data_when_a_combination_never_landed_in_one_task():
    result = signals_concurrent(observe(
        run(index=0), run("approve, approve", combination="approve + approve", tasks=APART, index=1),
        run("approve, cancel, update:amend", combination="approve + cancel + update:amend", tasks=(7, 11, 11), index=2),
    ), None, None)
    assert result.status == Status.NO_DATA
    assert "no burst of approve + approve, approve + cancel + update:amend landed in one workflow task" in result.summary
    assert "race was not exercised" in result.summary and "validator rejects" in result.summary
    assert "runs" in result.remediation


def test_no_data_when_nothing_ran():
    result = signals_concurrent(observe(), None, None)
    assert result.status == Status.NO_DATA and "nothing was tested" in result.summary


def test_sequential_delivery_passes_without_co_delivery():
    """The control case: one message per workflow task is not expected to race."""
    result = signals_concurrent(observe(run(index=0, tasks=APART), delivery="sequential"), None, None)
    assert result.status == Status.PASS and "(sequential), 0 delivered in one workflow task" in result.summary


def kill(confirmed: bool) -> KillRecord:
    return KillRecord(worker="w-0", identity="w-0-g0", pid=10, signal="SIGKILL", returncode=-9 if confirmed else None, confirmed=confirmed)


def test_restart_bursts_count_the_messages_sent_while_no_worker_ran():
    after_first = run(index=0, tasks=(7, 12, 12), messages=SENT + (MessageOutcome("approve", True),), signals={"approve": 2, "cancel": 1})
    result = signals_concurrent(observe(after_first, restart_during_burst=True, kills=(kill(True),)), None, None)
    assert result.status == Status.PASS and result.evidence["co_delivered"] == 1
    assert result.evidence["kills"] == [{"worker": "w-0", "pid": 10, "returncode": -9, "confirmed": True}]
    without_restart = signals_concurrent(observe(after_first), None, None)
    assert without_restart.status == Status.NO_DATA


def test_restart_that_was_not_seen_to_happen_is_no_data():
    result = signals_concurrent(observe(run(index=0), restart_during_burst=True, kills=(kill(False),)), None, None)
    assert result.status == Status.NO_DATA and "restart was not tested" in result.summary
    assert signals_concurrent(observe(run(index=0), restart_during_burst=True), None, None).status == Status.NO_DATA
