"""Effective workflow definitions from histories: which workflow and activity types ran, with which options.

`ActivityTaskScheduled` carries each activity's retry policy and timeouts after the server filled in its defaults,
so the definitions describe what really ran, whatever SDK language or code path set (or forgot to set) them.
Queries leave no trace in a history: `workflow_queries` reads them from the workflow source when the run knows it.
"""

from __future__ import annotations

import ast
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import json_format
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from harness.audit.names import dotted
from harness.audit.scan import _Auditor as SourceReader
from harness.audit.scan import is_workflow
from harness.errors import ConfigError
from harness.scorecard.definitions import (
    ActivityTypeDefinition,
    ActivityVariant,
    Definitions,
    RetryPolicyDefinition,
    WorkflowTypeDefinition,
)

QUERY_DECORATOR = "temporalio.workflow.query"
DEFN_DECORATOR = "temporalio.workflow.defn"


@dataclass
class _WorkflowSeen:
    runs: int = 0
    task_queues: set[str] = field(default_factory=set)
    activity_types: set[str] = field(default_factory=set)
    children: set[str] = field(default_factory=set)
    signals: set[str] = field(default_factory=set)
    updates: set[str] = field(default_factory=set)
    execution_timeouts: set[float] = field(default_factory=set)
    run_timeouts: set[float] = field(default_factory=set)
    sdks: set[str] = field(default_factory=set)


def _seconds(duration) -> float:
    return duration.ToTimedelta().total_seconds()


def _own_bound(value: float, workflow_timeout: float) -> float:
    """0 when the server filled the timeout in from the workflow's own timeout: the activity set none."""
    return 0.0 if workflow_timeout and value >= workflow_timeout else value


def _variant_key(attrs, workflow_timeout: float) -> tuple:
    rp = attrs.retry_policy
    policy = RetryPolicyDefinition(
        initial_interval_s=_seconds(rp.initial_interval),
        backoff_coefficient=round(rp.backoff_coefficient, 6),
        maximum_interval_s=_seconds(rp.maximum_interval),
        maximum_attempts=rp.maximum_attempts,
        non_retryable_error_types=tuple(sorted(set(rp.non_retryable_error_types))),
    )
    return (
        attrs.task_queue.name,
        policy,
        _seconds(attrs.start_to_close_timeout),
        _own_bound(_seconds(attrs.schedule_to_close_timeout), workflow_timeout),
        _own_bound(_seconds(attrs.schedule_to_start_timeout), workflow_timeout),
        _seconds(attrs.heartbeat_timeout),
    )


def definitions(histories: Iterable[WorkflowHistory], queries: Mapping[str, Sequence[str]] | None = None) -> Definitions:
    """The effective definitions of the workflows in `histories`. `queries` maps a workflow type to the query
    handlers its code declares; types missing from it get `queries_known=False`."""
    queries = queries or {}
    workflows: dict[str, _WorkflowSeen] = defaultdict(_WorkflowSeen)
    scheduled: Counter[tuple[str, tuple]] = Counter()
    scheduled_by: dict[tuple[str, tuple], set[str]] = defaultdict(set)
    all_sdks: set[str] = set()
    count = 0
    for history in histories:
        count += 1
        seen: _WorkflowSeen | None = None
        workflow_type, workflow_timeout, sdk_name = "", 0.0, ""
        for event in history.events:
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                attrs = event.workflow_execution_started_event_attributes
                workflow_type = attrs.workflow_type.name
                seen = workflows[workflow_type]
                seen.runs += 1
                seen.task_queues.add(attrs.task_queue.name)
                execution, run = _seconds(attrs.workflow_execution_timeout), _seconds(attrs.workflow_run_timeout)
                seen.execution_timeouts.add(execution)
                seen.run_timeouts.add(run)
                workflow_timeout = min((t for t in (execution, run) if t), default=0.0)
            elif seen is None:
                continue  # a history that does not start with WorkflowExecutionStarted (a partial page): skip it
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attrs = event.activity_task_scheduled_event_attributes
                key = (attrs.activity_type.name, _variant_key(attrs, workflow_timeout))
                scheduled[key] += 1
                scheduled_by[key].add(workflow_type)
                seen.activity_types.add(attrs.activity_type.name)
            elif kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                seen.children.add(event.start_child_workflow_execution_initiated_event_attributes.workflow_type.name)
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                seen.signals.add(event.workflow_execution_signaled_event_attributes.signal_name)
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                seen.updates.add(event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name)
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED:
                seen.updates.add(event.workflow_execution_update_admitted_event_attributes.request.input.name)
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                metadata = event.workflow_task_completed_event_attributes.sdk_metadata
                sdk_name = metadata.sdk_name or sdk_name  # only written when it changes, like the version
                if metadata.sdk_version:
                    sdk = f"{sdk_name or 'unknown-sdk'} {metadata.sdk_version}"
                    seen.sdks.add(sdk)
                    all_sdks.add(sdk)
    return Definitions(
        histories=count,
        workflow_types=tuple(_workflow_definition(name, seen, queries) for name, seen in sorted(workflows.items())),
        activity_types=_activity_definitions(scheduled, scheduled_by),
        sdks=tuple(sorted(all_sdks)),
    )


def _workflow_definition(name: str, seen: _WorkflowSeen, queries: Mapping[str, Sequence[str]]) -> WorkflowTypeDefinition:
    known = name in queries
    return WorkflowTypeDefinition(
        workflow_type=name,
        runs=seen.runs,
        task_queues=tuple(sorted(seen.task_queues)),
        activity_types=tuple(sorted(seen.activity_types)),
        child_workflow_types=tuple(sorted(seen.children)),
        signals=tuple(sorted(seen.signals)),
        updates=tuple(sorted(seen.updates)),
        queries=tuple(sorted(set(queries[name]))) if known else (),
        queries_known=known,
        execution_timeouts_s=tuple(sorted(seen.execution_timeouts)),
        run_timeouts_s=tuple(sorted(seen.run_timeouts)),
        sdks=tuple(sorted(seen.sdks)),
    )


def _activity_definitions(scheduled: Counter, scheduled_by: Mapping) -> tuple[ActivityTypeDefinition, ...]:
    by_type: dict[str, list[ActivityVariant]] = defaultdict(list)
    for (activity_type, key), times in scheduled.items():
        task_queue, policy, start_to_close, schedule_to_close, schedule_to_start, heartbeat = key
        by_type[activity_type].append(
            ActivityVariant(
                task_queue=task_queue, retry_policy=policy, start_to_close_s=start_to_close,
                schedule_to_close_s=schedule_to_close, schedule_to_start_s=schedule_to_start, heartbeat_s=heartbeat,
                scheduled=times, workflow_types=tuple(sorted(scheduled_by[(activity_type, key)])),
            )
        )
    return tuple(
        ActivityTypeDefinition(
            activity_type=name,
            variants=tuple(sorted(variants, key=lambda v: (-v.scheduled, v.model_dump_json()))),
        )
        for name, variants in sorted(by_type.items())
    )


def read_history_files(paths: Iterable[Path]) -> list[WorkflowHistory]:
    """Temporal JSON history files (as every run writes to <report>/histories/). A file that is not one raises
    ConfigError naming it."""
    histories = []
    for path in paths:
        try:
            histories.append(WorkflowHistory.from_json(path.stem, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, json_format.Error) as exc:
            raise ConfigError(f"not a Temporal JSON history: {exc}", file=str(path)) from None
    return histories


def run_definitions(histories_dir: Path, workflow_specs: Sequence[str], app_path: Path) -> Definitions:
    """The definitions of every history a run wrote, with the queries of the config's workflow classes (unknown
    for every type when their source cannot be read)."""
    try:
        queries = workflow_queries(workflow_specs, app_path)
    except ConfigError:
        queries = {}
    return definitions(read_history_files(sorted(histories_dir.glob("*.json"))), queries)


def _decorator_name(decorator: ast.expr, imports: Mapping[str, str]) -> tuple[str | None, dict[str, ast.expr]]:
    if isinstance(decorator, ast.Call):
        return dotted(decorator.func, imports), {k.arg: k.value for k in decorator.keywords if k.arg}
    return dotted(decorator, imports), {}


def _constant(keywords: Mapping[str, ast.expr], key: str) -> object:
    node = keywords.get(key)
    return node.value if isinstance(node, ast.Constant) else None


def workflow_queries(import_paths: Sequence[str], root: Path) -> dict[str, tuple[str, ...]]:
    """Workflow type -> names of its `@workflow.query` handlers (including those of base classes in the package),
    read from source under `root`, never imported. Raises ConfigError when the source cannot be read."""
    reader = SourceReader(Path(root))
    found: dict[str, tuple[str, ...]] = {}
    for spec in import_paths:
        for module, cls in reader.workflows(spec):
            node = module.classes[cls]
            if not is_workflow(node, module.imports):
                continue
            defn = next(
                (kw for dec in node.decorator_list for name, kw in [_decorator_name(dec, module.imports)] if name == DEFN_DECORATOR),
                {},
            )
            if _constant(defn, "dynamic") is True:
                continue
            type_name = _constant(defn, "name")
            names: set[str] = set()
            for base_module, base in reader.chain(module, cls):
                for item in base.body:
                    if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        continue
                    for decorator in item.decorator_list:
                        name, keywords = _decorator_name(decorator, base_module.imports)
                        if name == QUERY_DECORATOR and _constant(keywords, "dynamic") is not True:
                            query = _constant(keywords, "name")
                            names.add(query if isinstance(query, str) else item.name)
            workflow_type = type_name if isinstance(type_name, str) else cls
            found[workflow_type] = tuple(sorted(names | set(found.get(workflow_type, ()))))
    return found
