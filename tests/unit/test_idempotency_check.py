"""activities.idempotent on hand-built ledgers: operations grouped per attempt, every status reachable."""

from __future__ import annotations

from harness.checks.idempotency import activities_idempotent, classify
from harness.config.models import DependencyConfig
from harness.observe.ledger import DependencyLedger, IdempotencyObservations, gather, operations
from harness.scorecard.model import Status


def entry(seq: int, attempt: int | None, *, key: str | None = "wf-1:charge", method: str = "POST", path: str = "/charges",
          workflow: str = "order-1", activity_id: str = "2", activity_type: str = "charge_payment", body: str = "ab") -> dict:
    tag = None if attempt is None else {
        "workflow_id": workflow, "run_id": "r1", "activity_id": activity_id, "activity_type": activity_type, "attempt": attempt
    }
    return {"seq": seq, "at": 100.0 + seq, "scenario": "retry-lost-answers", "connection": seq, "method": method, "path": path,
            "idempotency_key": key, "body_sha256": body * 8, "body_bytes": 40, "attempt": tag, "status": 201, "answer_delivered": seq > 1}


def observed(entries: list[dict], methods=("POST", "PATCH"), not_judged=()) -> IdempotencyObservations:
    ops, untagged, unjudged = operations("payments", entries, methods)
    ledger = DependencyLedger("payments", "Idempotency-Key", tuple(methods), len(entries), untagged, unjudged, 0, tuple(ops))
    return IdempotencyObservations((ledger,), tuple(not_judged))


def test_calls_of_two_attempts_pair_by_key_and_safe_methods_and_untagged_calls_are_counted_apart() -> None:
    entries = [
        entry(1, 1, key="c1", path="/chunks", body="01"), entry(2, 1, key="c2", path="/chunks", body="02"),  # two chunks
        entry(3, 2, key="c1", path="/chunks", body="01"), entry(4, 2, key="c2", path="/chunks", body="02"),  # sent again
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


def _problems(entries: list[dict]) -> list[tuple[tuple, str]]:
    ops, _, _ = operations("storage", entries, ["POST"])
    return sorted((op.keys, classify(op)) for op in ops)


def test_an_attempt_that_resumes_from_heartbeat_details_is_not_a_changed_key() -> None:
    """Attempt 1 wrote items 1-3 and died; attempt 2 resumes at item 4: new bodies, new keys, nothing repeated."""
    entries = [entry(n, 1, key=f"item-{n}", body=f"0{n}") for n in (1, 2, 3)] + [
        entry(n, 2, key=f"item-{n}", body=f"0{n}") for n in (4, 5)
    ]
    assert {problem for _, problem in _problems(entries)} == {"once_with_key"}
    resent_under_a_fresh_key = [*entries, entry(6, 2, key="item-3-again", body="03")]  # attempt 2 re-sent item 3
    assert (("item-3", "item-3-again"), "key_changed") in _problems(resent_under_a_fresh_key)


def test_concurrent_calls_sent_in_another_order_by_the_retry_pair_by_key() -> None:
    entries = [entry(1, 1, key="a", body="0a"), entry(2, 1, key="b", body="0b"), entry(3, 2, key="b", body="0b"), entry(4, 2, key="a", body="0a")]
    assert _problems(entries) == [(("a", "a"), "repeated_with_key"), (("b", "b"), "repeated_with_key")]


def test_lone_calls_of_each_attempt_are_one_operation_whatever_changed_between_them() -> None:
    """One call per attempt: a timestamp in the body or a fresh key does not make it another operation."""
    assert _problems([entry(1, 1, key=None, body="01"), entry(2, 2, key=None, body="02")]) == [((None, None), "duplicated_without_key")]
    assert _problems([entry(1, 1, key="uuid-1", body="01"), entry(2, 2, key="uuid-2", body="02")]) == [(("uuid-1", "uuid-2"), "key_changed")]


def test_keyless_calls_of_a_multi_call_attempt_pair_by_body() -> None:
    entries = [entry(1, 1, key=None, body="01"), entry(2, 1, key=None, body="02"), entry(3, 2, key=None, body="02")]
    assert _problems(entries) == [((None,), "once_without_key"), ((None, None), "duplicated_without_key")]
