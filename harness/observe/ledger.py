"""What `activities.idempotent` reads: the ledgers' requests grouped into logical operations, tied to history.

A logical operation is the n-th request with one method and path that one activity (workflow id, run id, activity
id) sends in an attempt. The same operation sent by two attempts reached the dependency twice: a retry, a worker
that died after the call, or an answer that a fault lost. Histories add what the workflow recorded of that activity
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
    """1 for the first request with this method and path in an attempt, 2 for the second, ..."""
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


def operations(dependency: str, entries: Iterable[dict], methods: Sequence[str]) -> tuple[list[Operation], int, int]:
    """Group the tagged requests of `methods` into operations; also returns the untagged and unjudged counts."""
    per_attempt: dict[tuple, int] = defaultdict(int)
    grouped: dict[tuple, list[LedgerRequest]] = defaultdict(list)
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
        endpoint = (entry["method"], entry["path"])
        per_attempt[(*activity, *endpoint, tag["attempt"])] += 1
        key = (*activity, *endpoint, per_attempt[(*activity, *endpoint, tag["attempt"])])
        grouped[key].append(LedgerRequest(
            seq=entry["seq"], at=entry["at"], scenario=entry.get("scenario", ""), method=entry["method"], path=entry["path"],
            idempotency_key=entry.get("idempotency_key"), body_sha256=entry.get("body_sha256", ""), status=entry.get("status"),
            answer_delivered=entry.get("answer_delivered"), attempt=tag["attempt"],
        ))
    found = [
        Operation(dependency, wf, run, act, kind, method, path, n, tuple(requests))
        for (wf, run, act, kind, method, path, n), requests in grouped.items()
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
