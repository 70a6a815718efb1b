"""What `activities.idempotent` reads: the ledgers' requests grouped into logical operations, tied to history.

A logical operation is what one activity (workflow id, run id, activity id) sends to one method and path: requests of
different attempts are the same operation when they carry the same key or the same body, or when each attempt made
that call once. The same operation sent by two attempts reached the dependency twice: a retry, a worker that died
after the call, or an answer that a fault lost. Histories add what the workflow recorded of that activity
(its type, how many attempts Temporal counts, how it ended, how the workflow ended), so a duplicate can be shown
next to a workflow that completed as if nothing happened.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from temporalio.client import WorkflowHistory

from harness.config.models import DependencyConfig
from harness.errors import ConfigError
from harness.observe.activities import activities, local_activities
from harness.observe.histories import safe_name, summarise


@dataclass(frozen=True)
class LedgerRequest:
    """One request that reached a dependency."""

    seq: int
    at: float
    scenario: str
    method: str
    path: str
    idempotency_key: str | None
    body_sha256: str
    status: int | None
    """The dependency's answer, when it finished one."""
    answer_delivered: bool | None
    """False when the caller never got the answer (a fault lost it, or the caller was gone)."""
    attempt: int


@dataclass(frozen=True)
class Operation:
    """One logical operation of one activity, and every request that carried it."""

    dependency: str
    workflow_id: str
    run_id: str
    activity_id: str
    activity_type: str
    method: str
    path: str
    occurrence: int
    """1 for the activity's first operation on this method and path, 2 for the second, ..."""
    requests: tuple[LedgerRequest, ...]
    history_attempts: int | None = None
    """Attempts Temporal recorded for the activity (None: no history of the workflow was collected)."""
    history_outcome: str | None = None
    workflow_status: str | None = None

    @property
    def repeated(self) -> bool:
        return len(self.requests) > 1

    @property
    def keys(self) -> tuple[str | None, ...]:
        return tuple(r.idempotency_key for r in self.requests)


@dataclass(frozen=True)
class DependencyLedger:
    """One dependency's ledger, summarised."""

    name: str
    idempotency_header: str
    methods: tuple[str, ...]
    requests: int
    untagged: int
    """Requests of judged methods that no activity attempt tagged (another client, another language, or no activity)."""
    safe: int
    """Requests whose method is not judged (GET, or one the config leaves out)."""
    opaque_connections: int
    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class IdempotencyObservations:
    ledgers: tuple[DependencyLedger, ...]
    not_judged: tuple[str, ...]
    """Dependencies without `http:`: byte-level proxy only."""


def read_ledger(path: Path) -> list[dict]:
    """The JSON lines a run wrote for one dependency (ConfigError naming the file when unreadable)."""
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"not a request ledger: {exc}", file=str(path)) from None


def _request(entry: dict, tag: dict) -> LedgerRequest:
    return LedgerRequest(
        seq=entry["seq"], at=entry["at"], scenario=entry.get("scenario", ""), method=entry["method"], path=entry["path"],
        idempotency_key=entry.get("idempotency_key"), body_sha256=entry.get("body_sha256", ""), status=entry.get("status"),
        answer_delivered=entry.get("answer_delivered"), attempt=tag["attempt"],
    )


def _same_operation(request: LedgerRequest, op: list[LedgerRequest]) -> bool:
    """Another attempt's request is the same operation when it carries one of `op`'s keys, or (whatever its key)
    the same body: a retry that re-sent the body under a fresh key is what the check exists to catch."""
    if any(r.attempt == request.attempt for r in op):
        return False
    if request.idempotency_key is not None and any(r.idempotency_key == request.idempotency_key for r in op):
        return True
    return bool(request.body_sha256) and any(r.body_sha256 == request.body_sha256 for r in op)


def _pair_attempts(requests: list[LedgerRequest]) -> list[list[LedgerRequest]]:
    """One activity's requests to one method and path, as operations. Requests of different attempts pair by key or
    body, so an attempt that resumes from heartbeat details (attempt 2 starts at item 4) or sends concurrent calls in
    another order is not mistaken for a changed key; when every attempt made one lone call, those calls are one
    operation whatever changed between them (a timestamp in the body, a fresh key)."""
    ops: list[list[LedgerRequest]] = []
    for request in requests:
        match = next((op for op in ops if _same_operation(request, op)), None)
        if match is None:
            ops.append([request])
        else:
            match.append(request)
    per_attempt = defaultdict(int)
    for request in requests:
        per_attempt[request.attempt] += 1
    if len(ops) > 1 and len(per_attempt) == len(requests):
        return [requests]
    return ops


def operations(dependency: str, entries: Iterable[dict], methods: Sequence[str]) -> tuple[list[Operation], int, int]:
    """Group the tagged requests of `methods` into operations; also returns the untagged and unjudged counts."""
    by_endpoint: dict[tuple, list[LedgerRequest]] = defaultdict(list)
    untagged = unjudged = 0
    for entry in sorted(entries, key=lambda e: e["seq"]):
        tag = entry.get("attempt")
        if entry["method"] not in methods:
            unjudged += 1
            continue
        if not tag:
            untagged += 1
            continue
        activity = (tag["workflow_id"], tag["run_id"], tag["activity_id"], tag["activity_type"])
        by_endpoint[(*activity, entry["method"], entry["path"])].append(_request(entry, tag))
    found = [
        Operation(dependency, wf, run, act, kind, method, path, number, tuple(requests))
        for (wf, run, act, kind, method, path), sent in by_endpoint.items()
        for number, requests in enumerate(_pair_attempts(sent), 1)
    ]
    return found, untagged, unjudged


def with_history(ops: Sequence[Operation], histories: Iterable[WorkflowHistory]) -> list[Operation]:
    """Each operation with what its workflow's history (when collected) recorded of the activity."""
    by_name: dict[str, WorkflowHistory] = {}
    for history in histories:
        by_name.setdefault(history.workflow_id, history)
    found = []
    cache: dict[str, tuple[dict, str]] = {}
    for op in ops:
        history = by_name.get(safe_name(f"{op.workflow_id}-run-{op.run_id}")) or by_name.get(safe_name(op.workflow_id))
        if history is None:
            found.append(op)
            continue
        if history.workflow_id not in cache:
            records = {(r.activity_id, r.activity_type): r for r in [*activities(history), *local_activities(history)]}
            cache[history.workflow_id] = (records, summarise(history).status)
        records, status = cache[history.workflow_id]
        record = records.get((op.activity_id, op.activity_type)) or records.get((f"local-{op.activity_id}", op.activity_type))
        found.append(replace(
            op, history_attempts=record.attempts if record else None, history_outcome=record.outcome if record else None,
            workflow_status=status,
        ))
    return found


def gather(
    dependencies: Sequence[DependencyConfig], ledger_dir: Path, histories: Iterable[WorkflowHistory],
    opaque: dict[str, int] | None = None,
) -> IdempotencyObservations:
    """The ledgers a run wrote to `ledger_dir` (<dependency>.jsonl) for its `http:` dependencies."""
    histories = list(histories)
    ledgers = []
    for dep in dependencies:
        if dep.http is None:
            continue
        path = ledger_dir / f"{dep.name}.jsonl"
        entries = read_ledger(path) if path.exists() else []
        ops, untagged, unjudged = operations(dep.name, entries, dep.http.methods)
        ledgers.append(DependencyLedger(
            name=dep.name, idempotency_header=dep.http.idempotency_header, methods=tuple(dep.http.methods),
            requests=len(entries), untagged=untagged, safe=unjudged, opaque_connections=(opaque or {}).get(dep.name, 0),
            operations=tuple(with_history(ops, histories)),
        ))
    return IdempotencyObservations(tuple(ledgers), tuple(d.name for d in dependencies if d.http is None))
