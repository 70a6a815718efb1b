"""activities.idempotent on hand-built ledgers: operations grouped per attempt, every status reachable."""

from __future__ import annotations

from harness.checks.idempotency import activities_idempotent, classify
from harness.config.models import DependencyConfig
from harness.observe.ledger import DependencyLedger, IdempotencyObservations, gather, operations
from harness.scorecard.model import Status


def entry(seq: int, attempt: int | None, *, key: str | None = "wf-1:charge", method: str = "POST", path: str = "/charges",
          workflow: str = "order-1", activity_id: str = "2", activity_type: str = "charge_payment") -> dict:
    tag = None if attempt is None else {
        "workflow_id": workflow, "run_id": "r1", "activity_id": activity_id, "activity_type": activity_type, "attempt": attempt
    }
    return {"seq": seq, "at": 100.0 + seq, "scenario": "retry-lost-answers", "connection": seq, "method": method, "path": path,
            "idempotency_key": key, "body_sha256": "ab" * 8, "body_bytes": 40, "attempt": tag, "status": 201, "answer_delivered": seq > 1}


def observed(entries: list[dict], methods=("POST", "PATCH"), not_judged=()) -> IdempotencyObservations:
    ops, untagged, unjudged = operations("payments", entries, methods)
    ledger = DependencyLedger("payments", "Idempotency-Key", tuple(methods), len(entries), untagged, unjudged, 0, tuple(ops))
    return IdempotencyObservations((ledger,), tuple(not_judged))


def test_the_nth_call_of_each_attempt_is_one_operation_and_safe_methods_and_untagged_calls_are_counted_apart() -> None:
    entries = [
        entry(1, 1, key="c1", path="/chunks"), entry(2, 1, key="c2", path="/chunks"),  # two chunks in one attempt
        entry(3, 2, key="c1", path="/chunks"), entry(4, 2, key="c2", path="/chunks"),  # the retry sends both again
        entry(5, 1, method="GET", path="/quota"), entry(6, None),
    ]
    ops, untagged, unjudged = operations("storage", entries, ["POST"])
    assert sorted((op.occurrence, op.keys) for op in ops) == [(1, ("c1", "c1")), (2, ("c2", "c2"))]
    assert (untagged, unjudged) == (1, 1)
    assert {classify(op) for op in ops} == {"repeated_with_key"}


def test_a_fresh_key_per_attempt_fails_naming_the_activity_the_workflow_and_both_requests() -> None:
    result = activities_idempotent(observed([entry(1, 1, key="uuid-a"), entry(2, 2, key="uuid-b"), entry(3, 1, workflow="order-2")]))
    assert result.status == Status.FAIL
    assert "charge_payment in order-1 sent POST /charges 2 times" in result.summary
    assert "'uuid-a'" in result.summary and "'uuid-b'" in result.summary
    [duplicate] = result.evidence["duplicates"]
    assert duplicate["problem"] == "key_changed" and [r["seq"] for r in duplicate["requests"]] == [1, 2]
    assert result.subjects == ["activity_type:charge_payment"]
    assert "activity_id" in result.remediation and "uuid4()" in result.remediation


def test_a_repeat_without_any_key_fails() -> None:
    result = activities_idempotent(observed([entry(1, 1, key=None), entry(2, 3, key=None)]))
    assert result.status == Status.FAIL and result.evidence["duplicates"][0]["problem"] == "duplicated_without_key"
    assert "no Idempotency-Key" in result.summary


def test_repeats_with_their_key_pass_and_non_http_dependencies_are_listed_as_not_judged() -> None:
    result = activities_idempotent(observed([entry(1, 1), entry(2, 2), entry(3, 1, workflow="order-2")], not_judged=("ledger-db",)))
    assert result.status == Status.PASS
    assert result.evidence["repeated_operations"] == 1 and result.evidence["not_judged"] == ["ledger-db"]
    assert "ledger-db" in result.summary


def test_a_keyless_activity_no_retry_reached_is_a_warning_even_when_others_were_safe() -> None:
    entries = [entry(1, 1), entry(2, 2), entry(3, 1, key=None, activity_type="send_receipt", activity_id="5", path="/receipts")]
    result = activities_idempotent(observed(entries))
    assert result.status == Status.WARN and "send_receipt (POST /receipts)" in result.summary


def test_without_tags_there_is_no_data_and_without_http_dependencies_it_is_skipped() -> None:
    untagged = activities_idempotent(observed([entry(1, None), entry(2, None)]))
    assert untagged.status == Status.NO_DATA and "2 requests carried no attempt tag" in untagged.summary
    uncalled = activities_idempotent(observed([entry(1, 1, method="GET", path="/health")]))
    assert uncalled.status == Status.SKIPPED and "No activity sent a PATCH/POST request" in uncalled.summary
    skipped = activities_idempotent(IdempotencyObservations((), ("payments",)))
    assert skipped.status == Status.SKIPPED and "payments" in skipped.summary


def test_without_a_repeat_it_is_skipped_unless_answers_were_lost_and_nothing_was_sent_again() -> None:
    once = [entry(1, 1), entry(2, 1, workflow="order-2")]  # entry 1's answer was lost (answer_delivered False)
    lost = activities_idempotent(observed(once))
    assert lost.status == Status.NO_DATA and "1 calls lost their answer" in lost.summary
    delivered = [{**e, "answer_delivered": True} for e in once]
    quiet = activities_idempotent(observed(delivered))
    assert quiet.status == Status.SKIPPED and "retry-lost-answers" in quiet.summary


def test_gather_reads_the_run_ledger_files_of_http_dependencies_only(tmp_path) -> None:
    import json

    (tmp_path / "payments.jsonl").write_text("".join(json.dumps(e) + "\n" for e in [entry(1, 1), entry(2, 2)]))
    deps = [
        DependencyConfig(name="payments", command=["x"], env_var="PAYMENT_URL", http={}),
        DependencyConfig(name="cache", command=["y"], env_var="CACHE_URL"),
    ]
    obs = gather(deps, tmp_path, histories=[], opaque={"payments": 3})
    assert obs.not_judged == ("cache",)
    [ledger] = obs.ledgers
    assert ledger.opaque_connections == 3 and len(ledger.operations) == 1 and ledger.operations[0].history_attempts is None
