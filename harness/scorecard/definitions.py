"""Effective workflow definitions: what the workflows of a run actually did, as their histories recorded it.

Built from histories (harness/observe/definitions.py), so they describe any SDK language and any cluster. `diff`
and `parity` compare two of them; `Scorecard.definitions` carries the run's own.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetryPolicyDefinition(_Frozen):
    """An activity's retry policy as the server recorded it on ActivityTaskScheduled (its defaults filled in)."""

    initial_interval_s: float
    backoff_coefficient: float
    maximum_interval_s: float
    maximum_attempts: int = Field(description="0 means unlimited.")
    non_retryable_error_types: tuple[str, ...] = Field(description="Sorted.")


class ActivityVariant(_Frozen):
    """One distinct set of effective options an activity type was scheduled with."""

    task_queue: str
    retry_policy: RetryPolicyDefinition
    start_to_close_s: float
    schedule_to_close_s: float = Field(
        description="0: none of its own (unset, or the server capped it at the workflow's timeout)."
    )
    schedule_to_start_s: float = Field(description="0: none of its own, as for schedule_to_close_s.")
    heartbeat_s: float = Field(description="0: no heartbeat timeout.")
    scheduled: int = Field(description="How many times an activity was scheduled with exactly these options.")
    workflow_types: tuple[str, ...] = Field(description="Workflow types that scheduled it with these options, sorted.")


class ActivityTypeDefinition(_Frozen):
    activity_type: str
    variants: tuple[ActivityVariant, ...] = Field(description="Most scheduled first.")


class WorkflowTypeDefinition(_Frozen):
    workflow_type: str
    runs: int = Field(description="Workflow runs of this type among the histories.")
    task_queues: tuple[str, ...]
    activity_types: tuple[str, ...] = Field(description="Activity types its runs scheduled.")
    child_workflow_types: tuple[str, ...]
    signals: tuple[str, ...] = Field(description="Signal names its runs received (WorkflowExecutionSignaled).")
    updates: tuple[str, ...] = Field(description="Update names its runs accepted or admitted.")
    queries: tuple[str, ...] = Field(description="Query handlers in its code; queries leave no trace in histories.")
    queries_known: bool = Field(description="False when the workflow's code was not read: `queries` is then empty, not known empty.")
    execution_timeouts_s: tuple[float, ...] = Field(description="Distinct workflow execution timeouts of its runs; 0 means none.")
    run_timeouts_s: tuple[float, ...] = Field(description="Distinct workflow run timeouts of its runs; 0 means none.")
    sdks: tuple[str, ...] = Field(description="`sdk-name version` of the workers that completed its workflow tasks.")


class Definitions(_Frozen):
    histories: int = Field(description="Histories the definitions were built from.")
    workflow_types: tuple[WorkflowTypeDefinition, ...] = Field(description="Sorted by workflow type.")
    activity_types: tuple[ActivityTypeDefinition, ...] = Field(description="Sorted by activity type.")
    sdks: tuple[str, ...] = Field(description="Every `sdk-name version` seen.")

    def workflow(self, name: str) -> WorkflowTypeDefinition | None:
        return next((w for w in self.workflow_types if w.workflow_type == name), None)

    def activity(self, name: str) -> ActivityTypeDefinition | None:
        return next((a for a in self.activity_types if a.activity_type == name), None)
