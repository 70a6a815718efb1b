"""Compare two effective definitions and say what changed, one plain sentence per change.

Pure: `readiness diff` compares two runs with it, `since the last GO` the run with the last good one, and
`readiness parity` two environments (which reads each change's `kind` and `subject` to find the config's
documented differences).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.scorecard.definitions import ActivityTypeDefinition, ActivityVariant, Definitions, WorkflowTypeDefinition

Kind = Literal["workflow_type", "activity_type", "sdk"]
_KIND_WORDS = {"workflow_type": "workflow type", "activity_type": "activity type", "sdk": "SDK"}


class DefinitionChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    subject: str = Field(description="The workflow or activity type the change is about; empty for SDK versions.")
    scheduled_by: str = Field("", description="For an activity type: the workflow type whose scheduling changed, when not all did alike.")
    aspect: str = Field(description="What changed, e.g. `maximum attempts`; empty when the type itself was added or removed.")
    change: Literal["added", "removed", "changed"]
    old: str = Field("", description="The earlier value (for `changed`), or the items removed.")
    new: str = Field("", description="The later value (for `changed`), or the items added.")
    sentence: str


def duration(seconds: float) -> str:
    """10s, 5m, 1m40s, 2h, 3d, 250ms; 0 is `none` (no timeout of its own)."""
    if seconds <= 0:
        return "none"
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    whole, rest = divmod(seconds, 1)
    parts, left = [], int(whole)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    if left or rest or not parts:
        parts.append(f"{left + rest:g}s")
    return "".join(parts)


def attempts(value: int) -> str:
    return "unlimited" if value == 0 else str(value)


def _make(kind: Kind, subject: str, aspect: str, change: str, old: str = "", new: str = "", scheduled_by: str = "") -> DefinitionChange:
    if not aspect:
        sentence = f"{_KIND_WORDS[kind]} {subject} {change}"
    elif change == "changed":
        sentence = f"{aspect} changed from {old} to {new}"
    else:
        sentence = f"{aspect} {change}: {new if change == 'added' else old}"
    if aspect and subject:
        sentence = f"{subject}{f' (scheduled by {scheduled_by})' if scheduled_by else ''}: {sentence}"
    return DefinitionChange(
        kind=kind, subject=subject, scheduled_by=scheduled_by, aspect=aspect, change=change, old=old, new=new, sentence=sentence
    )


def _set_changes(
    kind: Kind, subject: str, aspect: str, old: Iterable[str], new: Iterable[str], scheduled_by: str = ""
) -> list[DefinitionChange]:
    old_set, new_set = set(old), set(new)
    changes = []
    if removed := sorted(old_set - new_set):
        changes.append(_make(kind, subject, aspect, "removed", old=", ".join(removed), scheduled_by=scheduled_by))
    if added := sorted(new_set - old_set):
        changes.append(_make(kind, subject, aspect, "added", new=", ".join(added), scheduled_by=scheduled_by))
    return changes


def _value_change(kind: Kind, subject: str, aspect: str, old: str, new: str, scheduled_by: str = "") -> list[DefinitionChange]:
    return [] if old == new else [_make(kind, subject, aspect, "changed", old, new, scheduled_by)]


def _timeouts(values: tuple[float, ...]) -> str:
    return " or ".join(duration(v) for v in values) or "none"


def _workflow_changes(old: WorkflowTypeDefinition, new: WorkflowTypeDefinition) -> list[DefinitionChange]:
    name, kind = old.workflow_type, "workflow_type"
    changes = _set_changes(kind, name, "task queues", old.task_queues, new.task_queues)
    changes += _set_changes(kind, name, "child workflow types", old.child_workflow_types, new.child_workflow_types)
    changes += _set_changes(kind, name, "signals", old.signals, new.signals)
    changes += _set_changes(kind, name, "updates", old.updates, new.updates)
    if old.queries_known and new.queries_known:
        changes += _set_changes(kind, name, "queries", old.queries, new.queries)
    changes += _value_change(kind, name, "execution timeout", _timeouts(old.execution_timeouts_s), _timeouts(new.execution_timeouts_s))
    changes += _value_change(kind, name, "run timeout", _timeouts(old.run_timeouts_s), _timeouts(new.run_timeouts_s))
    return changes


def _variant_changes(subject: str, old: ActivityVariant, new: ActivityVariant, scheduled_by: str = "") -> list[DefinitionChange]:
    kind: Kind = "activity_type"
    a, b = old.retry_policy, new.retry_policy
    pairs = [
        ("task queue", old.task_queue, new.task_queue),
        ("maximum attempts", attempts(a.maximum_attempts), attempts(b.maximum_attempts)),
        ("initial retry interval", duration(a.initial_interval_s), duration(b.initial_interval_s)),
        ("backoff coefficient", f"{a.backoff_coefficient:g}", f"{b.backoff_coefficient:g}"),
        ("maximum retry interval", duration(a.maximum_interval_s), duration(b.maximum_interval_s)),
        ("start-to-close timeout", duration(old.start_to_close_s), duration(new.start_to_close_s)),
        ("schedule-to-close timeout", duration(old.schedule_to_close_s), duration(new.schedule_to_close_s)),
        ("schedule-to-start timeout", duration(old.schedule_to_start_s), duration(new.schedule_to_start_s)),
        ("heartbeat timeout", duration(old.heartbeat_s), duration(new.heartbeat_s)),
    ]
    changes = [c for aspect, x, y in pairs for c in _value_change(kind, subject, aspect, x, y, scheduled_by)]
    non_retryable = _set_changes(
        kind, subject, "non-retryable error types", a.non_retryable_error_types, b.non_retryable_error_types, scheduled_by
    )
    return changes + non_retryable


def _dominant(activity: ActivityTypeDefinition, workflow_type: str | None = None) -> ActivityVariant | None:
    """The variant scheduled most often (by `workflow_type` when given); variants are stored most scheduled first."""
    return next((v for v in activity.variants if workflow_type is None or workflow_type in v.workflow_types), None)


def _activity_changes(old: ActivityTypeDefinition, new: ActivityTypeDefinition) -> list[DefinitionChange]:
    """Options compared per workflow type that scheduled the activity in both; said once when every workflow type
    saw the same change, else once per workflow type."""
    name = old.activity_type
    common = sorted({w for v in old.variants for w in v.workflow_types} & {w for v in new.variants for w in v.workflow_types})
    if not common:
        first, second = _dominant(old), _dominant(new)
        return _variant_changes(name, first, second) if first and second else []
    per_type = {w: _variant_changes(name, _dominant(old, w), _dominant(new, w)) for w in common}
    distinct = {tuple(c.sentence for c in changes) for changes in per_type.values()}
    if len(distinct) == 1:
        return per_type[common[0]]
    return [c for w in common for c in _variant_changes(name, _dominant(old, w), _dominant(new, w), scheduled_by=w)]


def compare_definitions(old: Definitions, new: Definitions) -> tuple[DefinitionChange, ...]:
    """Every difference between `old` and `new`: types added or removed, then per type what changed, then SDKs."""
    changes: list[DefinitionChange] = []
    old_workflows = {w.workflow_type: w for w in old.workflow_types}
    new_workflows = {w.workflow_type: w for w in new.workflow_types}
    old_activities = {a.activity_type: a for a in old.activity_types}
    new_activities = {a.activity_type: a for a in new.activity_types}
    for kind, before, after in (("workflow_type", old_workflows, new_workflows), ("activity_type", old_activities, new_activities)):
        changes += [_make(kind, name, "", "removed") for name in sorted(before.keys() - after.keys())]
        changes += [_make(kind, name, "", "added") for name in sorted(after.keys() - before.keys())]
    for name in sorted(old_workflows.keys() & new_workflows.keys()):
        changes += _workflow_changes(old_workflows[name], new_workflows[name])
    for name in sorted(old_activities.keys() & new_activities.keys()):
        changes += _activity_changes(old_activities[name], new_activities[name])
    if set(old.sdks) != set(new.sdks):
        changes += _value_change("sdk", "", "SDK versions", ", ".join(old.sdks) or "none", ", ".join(new.sdks) or "none")
    return tuple(changes)
