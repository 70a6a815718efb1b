"""`activities.idempotent`: no side effect reached a dependency twice without a stable idempotency key.

Temporal runs activities at least once. A worker killed after the payment API charged the card, or an answer lost
on the way back, means the attempt is retried and the call is made again; the workflow completes and every other
check stays green. This check reads the side-effect ledger of every dependency declared with `http:` over the
whole run (every kill, outage and retry of every scenario): a logical operation (one activity's call to one method
and path, paired across attempts by key or body, harness.observe.ledger) that reached the dependency more than once
is safe only when every one of those requests carried the same idempotency key.

- FAIL: an operation repeated without a key, or with a different key per attempt (named with both requests).
- WARN: nothing repeated unsafely, but an activity type whose calls carry no key was never repeated in the run.
- PASS: at least one operation was repeated, always with its key, and every judged activity type sends one.
- NO_DATA: no request was tagged with an attempt, or calls lost their answers and yet none was sent again.
- SKIPPED: no dependency declares `http:`, no activity called one, or nothing in the run made a call repeat (a run of scenarios that never
  lose an answer, e.g. `--scenario schedule-to-start`): the summary names the scenario that would.
"""

from __future__ import annotations

from collections import defaultdict

from harness.observe.ledger import DependencyLedger, IdempotencyObservations, Operation
from harness.scorecard.model import CheckResult, Status, subjects

CHECK_ID = "activities.idempotent"
SCENARIO = "(all scenarios)"
FAILURE_MODE = "duplicate side effects when an activity is retried"
MAX_ROWS = 20


def classify(op: Operation) -> str:
    """`duplicated_without_key`, `key_changed`, `repeated_with_key`, `once_without_key` or `once_with_key`."""
    keys = op.keys
    if not op.repeated:
        return "once_without_key" if keys[0] is None else "once_with_key"
    if any(key is None for key in keys):
        return "duplicated_without_key"
    return "repeated_with_key" if len(set(keys)) == 1 else "key_changed"


UNSAFE = ("duplicated_without_key", "key_changed")


def _request_row(op: Operation) -> list[dict]:
    return [
        {"seq": r.seq, "attempt": r.attempt, "scenario": r.scenario, "idempotency_key": r.idempotency_key,
         "body_sha256": r.body_sha256, "status": r.status, "answer_delivered": r.answer_delivered}
        for r in op.requests
    ]


def _operation_row(op: Operation, verdict: str) -> dict:
    return {
        "dependency": op.dependency, "activity_type": op.activity_type, "workflow_id": op.workflow_id, "run_id": op.run_id,
        "activity_id": op.activity_id, "request": f"{op.method} {op.path}" + (f" (call {op.occurrence})" if op.occurrence > 1 else ""),
        "problem": verdict, "history_attempts": op.history_attempts, "activity_outcome": op.history_outcome,
        "workflow_status": op.workflow_status, "requests": _request_row(op),
    }


def _describe(op: Operation, header: str) -> str:
    sent = ", ".join(
        f"#{r.seq} attempt {r.attempt} " + (f"{header} {r.idempotency_key!r}" if r.idempotency_key else f"no {header}")
        for r in op.requests
    )
    ended = f"; the workflow {op.workflow_status.lower()}" if op.workflow_status else ""
    return f"{op.activity_type} in {op.workflow_id} sent {op.method} {op.path} {len(op.requests)} times ({sent}){ended}"


def _types_table(ledger: DependencyLedger) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for op in ledger.operations:
        table[f"{ledger.name}: {op.activity_type} {op.method} {op.path}"][classify(op)] += 1
    return {name: dict(counts) for name, counts in sorted(table.items())}


def remediation(header: str) -> str:
    return (
        f"Send {header} on every call with a value that is the same on every attempt of the operation, e.g. "
        "f\"{activity.info().workflow_id}:{activity.info().activity_id}\" (stable across retries, worker restarts and lost "
        "answers), and have the service return its first result for a key it has seen. A uuid4() or a timestamp made "
        "inside the activity is new on every attempt, so it protects nothing; no key at all repeats the side effect."
    )


def activities_idempotent(obs: IdempotencyObservations) -> CheckResult:
    def result(status: Status, summary: str, evidence: dict, fix: str = "", failing: list[Operation] | None = None) -> CheckResult:
        return CheckResult(
            id=CHECK_ID, scenario=SCENARIO, failure_mode=FAILURE_MODE, status=status, summary=summary,
            evidence={**evidence, "not_judged": list(obs.not_judged)}, remediation=fix,
            subjects=subjects(activity_types=[op.activity_type for op in failing or []]),
        )

    not_judged = f" Not judged (byte-level proxy, no `http:`): {', '.join(obs.not_judged)}." if obs.not_judged else ""
    if not obs.ledgers:
        return result(Status.SKIPPED, "No dependency declares `http:`, so no request was recorded." + not_judged, {})
    header = " / ".join(sorted({ledger.idempotency_header for ledger in obs.ledgers}))
    ops = [(ledger, op, classify(op)) for ledger in obs.ledgers for op in ledger.operations]
    evidence = {
        "dependencies": {
            ledger.name: {"requests": ledger.requests, "judged_operations": len(ledger.operations), "untagged": ledger.untagged,
                          "not_judged_methods": ledger.safe, "non_http_connections": ledger.opaque_connections,
                          "idempotency_header": ledger.idempotency_header, "methods": list(ledger.methods),
                          "by_activity": _types_table(ledger)}
            for ledger in obs.ledgers
        },
        "repeated_operations": sum(op.repeated for _, op, _ in ops),
    }
    untagged = sum(ledger.untagged for ledger in obs.ledgers)
    untagged_note = (
        f" {untagged} requests carried no attempt tag (sent outside an activity, by another HTTP client or a worker the "
        "harness does not run in Python) and were not judged." if untagged else ""
    )
    unsafe = [(ledger, op, kind) for ledger, op, kind in ops if kind in UNSAFE]
    if unsafe:
        evidence["duplicates"] = [_operation_row(op, kind) for _, op, kind in unsafe[:MAX_ROWS]]
        first = unsafe[0]
        return result(
            Status.FAIL,
            f"{len(unsafe)} operations reached a dependency more than once without a stable {header}: "
            f"{_describe(first[1], first[0].idempotency_header)}." + untagged_note + not_judged,
            evidence, remediation(header), [op for _, op, _ in unsafe],
        )
    if not ops and untagged:
        return result(
            Status.NO_DATA,
            "No request to a judged method carried an activity attempt, so none could be tied to an operation." + untagged_note + not_judged,
            evidence,
        )
    if not ops:
        methods = "/".join(sorted({m for ledger in obs.ledgers for m in ledger.methods}))
        return result(Status.SKIPPED, f"No activity sent a {methods} request to an `http:` dependency in this run." + not_judged, evidence)
    never_keyed = sorted({f"{op.activity_type} ({op.method} {op.path})" for _, op, kind in ops if kind == "once_without_key"})
    safe = [op for _, op, kind in ops if kind == "repeated_with_key"]
    if never_keyed:
        return result(
            Status.WARN,
            f"{len(safe)} repeated operations kept their {header}, but {', '.join(never_keyed)} sent no {header} and no "
            "retry hit it in this run: one would repeat its side effect." + untagged_note + not_judged,
            evidence, remediation(header),
        )
    if not safe:
        lost = sum(r.answer_delivered is False for _, op, _ in ops for r in op.requests)
        evidence["answers_lost"] = lost
        if lost:
            return result(
                Status.NO_DATA,
                f"{lost} calls lost their answer (a fault, or a worker killed mid-call) yet no operation was sent again, so "
                "the run does not show whether a retry is safe (did those activities retry at all?)." + not_judged,
                evidence,
            )
        return result(
            Status.SKIPPED,
            f"{len(ops)} operations each reached their dependency once and none lost its answer: nothing in this run "
            "made a call repeat. Add a scenario that loses answers (scenarios/retry-lost-answers.yaml) to judge retries."
            + not_judged,
            evidence,
        )
    types = sorted({op.activity_type for op in safe})
    return result(
        Status.PASS,
        f"{len(safe)} operations reached their dependency more than once ({', '.join(types)}), each time with the same "
        f"{header}." + untagged_note + not_judged,
        evidence,
    )
