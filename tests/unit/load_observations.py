"""Hand-built load observations for the pure retry and latency check tests: activities simulated under a
retry policy through an outage window, the way the server would have scheduled their attempts."""

from __future__ import annotations

from harness.observe.activities import ActivityRecord, RetryPolicyView, TaskLatency
from harness.observe.model import FaultRecord, LoadObservations, LoadSummary, MetricSample, WorkflowRecord

GOOD = RetryPolicyView(2.0, 3.0, 60.0, 8, ("PaymentDeclined",))
DEFAULT = RetryPolicyView(1.0, 2.0, 100.0, 0, ())
LOAD_START, FAULT_START, FAULT_END, LOAD_END = 1000.0, 1010.0, 1030.0, 1045.0


def simulated(index: int, scheduled: float, policy: RetryPolicyView, activity_type: str = "charge_payment",
              schedule_to_close: float = 300.0, duration: float = 0.2) -> ActivityRecord:
    """An activity whose attempts fail while the fault is on and succeed after it."""
    start, attempt = scheduled, 1
    while FAULT_START <= start < FAULT_END:
        start += policy.interval_after(attempt)
        attempt += 1
    return ActivityRecord(
        workflow_id=f"wf-{index}", activity_id="2", activity_type=activity_type, scheduled_at=scheduled, policy=policy,
        schedule_to_close_s=schedule_to_close, start_to_close_s=10.0, heartbeat_s=0.0, attempts=attempt,
        last_started_at=start, closed_at=start + duration, outcome="completed",
        last_failure="connection refused" if attempt > 1 else "", schedule_to_start_s=0.01 if attempt == 1 else None,
    )


def load_summary(rate: float = 2.0, started: int = 90, **overrides) -> LoadSummary:
    values = dict(
        target_rate=rate, mean_target_rate=rate, started=started, requests=started, failures=0, achieved_rate=rate,
        start_p50_ms=8.0, start_p99_ms=40.0, duration_s=LOAD_END - LOAD_START, locust_workers=0,
        started_at=LOAD_START, ended_at=LOAD_END,
    )
    values.update(overrides)
    return LoadSummary(**values)


def outage(policy: RetryPolicyView, rate: float = 2.0, confirmed: bool = True, **overrides) -> LoadObservations:
    """Workflows started at `rate` per second over the load window, each calling charge_payment once."""
    count = int((LOAD_END - LOAD_START) * rate)
    activities = tuple(simulated(i, LOAD_START + i / rate, policy) for i in range(count))
    values = dict(
        scenario="retry-outage",
        workflows=tuple(WorkflowRecord(a.workflow_id, "run", "OrderWorkflow", "COMPLETED", 30, ("w",)) for a in activities),
        activities=activities,
        latencies=(),
        load=load_summary(rate, count),
        fault=FaultRecord("network:down", "payments", FAULT_START, FAULT_END, confirmed, {"probe_refused": confirmed}),
    )
    values.update(overrides)
    return LoadObservations(**values)


def slots(worker_type: str, available: float, used: float = 0.0) -> tuple[MetricSample, ...]:
    labels = (("worker_type", worker_type),)
    return (
        MetricSample("w-0", "before", "temporal_worker_task_slots_available", labels, available),
        MetricSample("w-0", "before", "temporal_worker_task_slots_used", labels, used),
    )


def latency_run(activity_wait_s: float, workflows: int = 100, hold_s: float = 0.2, **overrides) -> LoadObservations:
    """A schedule-to-start run: each workflow has 3 workflow tasks (5 ms wait) and one activity."""
    latencies, activities = [], []
    for i in range(workflows):
        at = LOAD_START + i * 0.1
        latencies += [TaskLatency("workflow", at, 0.005)] * 3 + [TaskLatency("workflow_execution", at, 0.01)] * 3
        wait = activity_wait_s * i / workflows
        latencies.append(TaskLatency("activity", at, wait))
        activities.append(ActivityRecord(
            f"wf-{i}", "1", "charge_payment", at, GOOD, 300.0, 10.0, 0.0, 1, at + wait, at + wait + hold_s, "completed",
        ))
    values = dict(
        scenario="schedule-to-start",
        workflows=tuple(WorkflowRecord(f"wf-{i}", "run", "OrderWorkflow", "COMPLETED", 20, ("w",)) for i in range(workflows)),
        activities=tuple(activities),
        latencies=tuple(latencies),
        load=load_summary(6.0, workflows),
        metrics=slots("ActivityWorker", 1.0) + slots("WorkflowWorker", 100.0),
        workers=1,
    )
    values.update(overrides)
    return LoadObservations(**values)
