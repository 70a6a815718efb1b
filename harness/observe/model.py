"""Immutable observations: everything checks may read. Checks never talk to Temporal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.load.shape import Stage
from harness.observe.activities import ActivityRecord, TaskLatency


@dataclass(frozen=True)
class KillRecord:
    """One signal sent to one worker process."""

    worker: str
    identity: str
    pid: int
    signal: str
    returncode: int | None
    """Exit code seen after the signal (negative: killed by that signal); None if it did not exit."""
    confirmed: bool
    """True when the process was alive before and exited because of the signal."""


@dataclass(frozen=True)
class RolloutStep:
    """One step of a deploy: the workers of the new version started (confirmed polling), then the old ones stopped."""

    at: float
    """Epoch seconds when the step ended."""
    started: tuple[str, ...]
    stopped: tuple[str, ...]
    """`identity (exit code)` of each old worker stopped."""


@dataclass(frozen=True)
class TaskFailure:
    """A WorkflowTaskFailed event: the worker could not advance the workflow."""

    event_id: int
    cause: str
    """Server-side cause, e.g. WORKFLOW_WORKER_UNHANDLED_FAILURE or NON_DETERMINISTIC_ERROR."""
    message: str
    identity: str


@dataclass(frozen=True)
class WorkflowRecord:
    """What one workflow's history says, summarised."""

    workflow_id: str
    run_id: str
    workflow_type: str
    status: str
    """COMPLETED, FAILED, TIMED_OUT, CANCELED, TERMINATED, CONTINUED_AS_NEW or RUNNING."""
    event_count: int
    task_identities: tuple[str, ...]
    """Worker identities that completed workflow tasks, in history order."""
    task_failures: tuple[TaskFailure, ...] = ()
    failure_message: str | None = None
    """Message of WorkflowExecutionFailed, when the workflow failed."""
    history_file: str | None = None
    """Path of the history JSON relative to the out dir."""
    started_at: float | None = None
    closed_at: float | None = None
    """Epoch seconds of WorkflowExecutionStarted and of the closing event (None while open)."""
    failure_type: str | None = None
    """For a workflow that did not complete: the innermost error type of its failure (e.g. PaymentDeclined), or the
    kind of ending (Timeout, Terminated, Canceled)."""
    failure_cause: str | None = None
    """Message of the innermost cause of the failure (the activity's own error, not 'Activity task failed'), or the
    reason given for a termination."""


@dataclass(frozen=True)
class ReplayOutcome:
    """Result of replaying one history against the worker's workflow code."""

    workflow_id: str
    run_id: str
    ok: bool
    error_class: str | None = None
    error_message: str | None = None
    """The human sentence of the SDK's error (extracted by `harness.replay.classify`)."""
    kind: str | None = None
    """On failure: nondeterminism, sandbox, unregistered, error or hash_order (see harness.replay.classify)."""
    event_id: int | None = None
    """History event where replay diverged, when the SDK names it."""
    workflow_type: str = ""
    path: str = ""
    """History file the outcome is about."""
    explanation: dict | None = None
    """For a non-determinism failure: the recorded and the issued commands and the guard (harness.replay.explain)."""


@dataclass(frozen=True)
class MetricSample:
    """One Prometheus sample scraped from a worker's SDK metrics endpoint."""

    worker: str
    phase: str
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float
    kind: str = ""
    """The family's type as exported: counter, gauge, histogram (its _bucket/_count/_sum samples), summary or untyped."""


@dataclass(frozen=True)
class LiveReplay:
    """A closed workflow queried on the restarted workers: with an empty cache, a worker replays the whole history to
    answer, so this is a replay of the recorded history by the restarted worker's code."""

    workflow_id: str
    error: str = ""
    """The query's failure; "" when it was answered."""

    @property
    def nondeterministic(self) -> bool:
        return "TMPRL1100" in self.error or "nondetermin" in self.error.lower()


@dataclass(frozen=True)
class RestartObservations:
    """What the worker-restart scenario saw."""

    scenario: str
    started: tuple[str, ...]
    """Workflow ids started by the scenario."""
    running_at_kill: tuple[str, ...]
    """Workflow ids still open, with progress made, when the workers were killed."""
    kills: tuple[KillRecord, ...]
    restarted_identities: tuple[str, ...]
    workflows: tuple[WorkflowRecord, ...]
    replays: tuple[ReplayOutcome, ...]
    metrics: tuple[MetricSample, ...] = field(default=())
    drain_deadline_hit: bool = False
    """True when some workflow was still open at the completion deadline."""
    live_replays: tuple[LiveReplay, ...] = ()
    """The workflows that closed before the kill, replayed on the restarted workers."""
    explanations: dict[str, dict] = field(default_factory=dict)
    """Workflow id -> how its history and the code diverged (harness.replay.explain), for each non-determinism failure."""
    family_of: dict[str, str] = field(default_factory=dict)
    """Child workflow id -> the started workflow it belongs to (`workflows` and `replays` hold every run of each
    started workflow and of every child it started)."""


@dataclass(frozen=True)
class DeployObservations:
    """What the deploy scenario saw: workflows started on the current code, the workers replaced by the new version."""

    scenario: str
    version: str
    """What was deployed, e.g. `workflows sample_workflows.versions.v2_patched:OrderWorkflowV2` or `git ref v2`."""
    rollout: str
    """`rolling` or `all_at_once`."""
    started: tuple[str, ...]
    in_flight_at_deploy: tuple[str, ...]
    """Workflow ids still open, with progress made, when the rollout began."""
    steps: tuple[RolloutStep, ...]
    rollout_s: float
    """From the first new worker starting to the last old one stopped."""
    new_identities: tuple[str, ...]
    workflows: tuple[WorkflowRecord, ...]
    stuck: tuple[str, ...]
    """Workflow ids whose workflow task kept failing on the new code."""
    explanations: dict[str, dict] = field(default_factory=dict)
    metrics: tuple[MetricSample, ...] = ()
    drain_deadline_hit: bool = False
    old_identities: tuple[str, ...] = ()
    """The workers of the current version the rollout replaced."""


@dataclass(frozen=True)
class FaultRecord:
    """One fault the scenario applied, and whether it was seen to take effect."""

    kind: str
    """e.g. `network:down` or `activity:fail`."""
    target: str
    """The dependency or activity type."""
    started_at: float
    ended_at: float
    """Epoch seconds: when the fault was applied and removed."""
    confirmed: bool
    evidence: dict[str, Any] = field(default_factory=dict)
    """Proxy counters or interceptor injection counts behind `confirmed`."""


@dataclass(frozen=True)
class BacklogSample:
    """Approximate task-queue backlog (DescribeTaskQueue stats) at one moment."""

    at: float
    workflow: int
    activity: int


@dataclass(frozen=True)
class AttemptScrape:
    """One worker's activity-attempt counters at one moment: ((activity type, is local), attempts so far)."""

    at: float
    worker: str
    counts: tuple[tuple[tuple[str, bool], float], ...]


@dataclass(frozen=True)
class LoadSummary:
    """What Locust reported for the scenario's load (its own stats), plus the rate it was asked for."""

    target_rate: float
    """Starts per second the stages asked for at their highest (0 for a users-only shape)."""
    mean_target_rate: float
    """Starts per second the stages asked for on average over the run (0 when a stage is users-based)."""
    started: int
    requests: int
    failures: int
    achieved_rate: float
    """Workflows started per second over the stages' duration."""
    start_p50_ms: float
    start_p99_ms: float
    duration_s: float
    locust_workers: int
    started_at: float
    ended_at: float
    stages: tuple[Stage, ...] = ()
    """The stages the load ran, in order (for per-stage figures)."""


@dataclass(frozen=True)
class LoadObservations:
    """What a load scenario (retry outage, schedule-to-start) saw."""

    scenario: str
    workflows: tuple[WorkflowRecord, ...]
    activities: tuple[ActivityRecord, ...]
    latencies: tuple[TaskLatency, ...]
    load: LoadSummary
    backlog: tuple[BacklogSample, ...] = ()
    metrics: tuple[MetricSample, ...] = ()
    """Scrapes of the workers' SDK metrics, phase `before` and `after` the load."""
    fault: FaultRecord | None = None
    drain_deadline_hit: bool = False
    workers: int = 0
    """Worker processes serving the task queue."""
    attempt_scrapes: tuple[AttemptScrape, ...] = ()
    """The workers' attempt counters every second through the load (retry-outage)."""


@dataclass(frozen=True)
class NonRetryableCase:
    """One workflow in which the activity raised a business error."""

    error_type: str
    workflow_id: str
    attempts: int
    """Attempts the activity made (from history, or from the pending activity when it was still retrying)."""
    outcome: str
    retry_state: str = ""
    history_file: str | None = None


@dataclass(frozen=True)
class NonRetryableObservations:
    scenario: str
    activity: str
    cases: tuple[NonRetryableCase, ...]
    injections: int
    """Attempts the fault interceptor raised the error in."""
    workflows: tuple[WorkflowRecord, ...] = ()


@dataclass(frozen=True)
class HeartbeatCall:
    """One `activity.heartbeat()` call made by an activity on a Python worker."""

    workflow_id: str
    activity_id: str
    activity_type: str
    attempt: int
    at: float
    """Epoch seconds of the call (on the worker; the SDK may send it to the server later, throttled)."""


@dataclass(frozen=True)
class VersionedRun:
    """One workflow of a Worker Versioning rehearsal, as its history showed it at a moment."""

    workflow_id: str
    workflow_type: str
    group: str
    """`pinned` (to the current version), or `auto-upgrade, ramp raised to N%` (started before that stage raised the ramp)."""
    status: str
    versions: tuple[str, ...]
    """Build ids of the workers that completed or failed its workflow tasks, in order (a repeat collapsed)."""
    nondeterminism_on: tuple[str, ...]
    """Build ids on which its workflow task failed on non-determinism."""
    task_waits: tuple[tuple[str, float], ...]
    """(build id, workflow-task schedule-to-start seconds) of each workflow task a version's worker started."""
    latency_s: float | None
    """Start to close, when closed."""
    history_file: str | None = None


@dataclass(frozen=True)
class RampStage:
    percent: int
    """Share of new and auto-upgrade workflows routed to the next version."""
    duration_s: float
    runs: tuple[VersionedRun, ...]
    """Every workflow of the rehearsal at the end of the stage."""


@dataclass(frozen=True)
class VersioningObservations:
    scenario: str
    deployment: str
    current: str
    """Build id of the version in production (the config's workers)."""
    next: str
    version: str
    """What the next version is (workers, app_path or git ref)."""
    stages: tuple[RampStage, ...]
    rolled_back: bool
    """The harness set the ramp back after a stage regressed."""
    promoted: bool
    """Every stage passed and the next version became the current one."""
    final: tuple[VersionedRun, ...]
    """Every workflow after the drain that followed the last stage."""
    explanations: dict[str, dict] = field(default_factory=dict)


@dataclass(frozen=True)
class FailureCount:
    """The workers' SDK request-failure counters summed at one moment."""

    at: float
    requests: float
    """temporal_request_failure: failed calls to the frontend."""
    long_polls: float
    """temporal_long_request_failure: failed task polls."""


@dataclass(frozen=True)
class ServerConnectionObservations:
    scenario: str
    fault: FaultRecord
    started_before: tuple[str, ...]
    started_during: tuple[str, ...]
    """Started by the harness (directly) while the fault lasted."""
    workflows: tuple[WorkflowRecord, ...]
    failures: tuple[FailureCount, ...]
    backlog: tuple[BacklogSample, ...]
    restored_at: float
    drained_at: float | None
    """When every workflow had closed (None: some never did)."""
    stuck: tuple[str, ...] = ()
    timeouts: tuple[tuple[str, str], ...] = ()
    """(workflow id, what timed out), e.g. `activity schedule_to_start`."""
    healthy_workers: tuple[str, ...] = ()
    """Identities of the workers that stayed connected (directly) while the others were cut off."""
    healthy_tasks: tuple[tuple[str, float], ...] = ()
    """(workflow id, when) of every workflow task a healthy worker completed."""


@dataclass(frozen=True)
class ServerRestartObservations:
    scenario: str
    started: tuple[str, ...]
    running_at_kill: tuple[str, ...]
    """Open, with progress made, when the server was SIGKILLed."""
    lost: tuple[str, ...]
    """Started, and unknown to the server after the restart."""
    workflows: tuple[WorkflowRecord, ...]
    replays: tuple[ReplayOutcome, ...]
    family_of: dict[str, str] = field(default_factory=dict)
    """Child workflow id -> the started workflow it belongs to (`workflows` and `replays` hold every run of each
    started workflow and of every child it started)."""
