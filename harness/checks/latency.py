"""Failure mode: workers too small for real load, so tasks wait to start (and activities time out unstarted).

`latency.schedule_to_start` reads the schedule-to-start scenario: exact percentiles from histories
(workflow tasks, and activity first attempts), a cross-check against the SDK histograms scraped from the
workers, and a sizing recommendation from Little's law (slots needed = task rate x time a task holds a slot).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from harness.config.models import ReadinessConfig
from harness.load.shape import Stage
from harness.observe import histograms
from harness.observe.figures import percentile, summary_ms
from harness.observe.model import LoadObservations, MetricSample
from harness.scorecard.evidence import LatencyEvidence
from harness.scorecard.model import CheckResult, Status

if TYPE_CHECKING:  # specs are read here, never built: their kinds' modules import this one
    from harness.scenarios.schedule_to_start import ScheduleToStartScenario

CHECK_ID = "latency.schedule_to_start"
FAILURE_MODE = "workers too small for real load: tasks wait to start"
SDK_HISTOGRAMS = {"workflow": "temporal_workflow_task_schedule_to_start_latency", "activity": "temporal_activity_schedule_to_start_latency"}
SLOT_TYPES = {"workflow": "WorkflowWorker", "activity": "ActivityWorker"}
MIN_RATE_REACHED = 0.8
WINDOW_S = 5
MAX_WINDOWS = 24


def _slots(metrics: tuple[MetricSample, ...], kind: str) -> int | None:
    """Task slots the workers offer (available + used, from the `before` scrape), summed over workers."""
    total = 0.0
    for s in metrics:
        labels = dict(s.labels)
        if s.phase == "before" and s.name in ("temporal_worker_task_slots_available", "temporal_worker_task_slots_used"):
            if labels.get("worker_type") == SLOT_TYPES[kind]:
                total += s.value
    return int(total) if total else None


def _cross_check(obs: LoadObservations, kind: str, history_p99: float | None) -> dict:
    histogram = histograms.delta(obs.metrics, SDK_HISTOGRAMS[kind], "before", "after")
    if histogram is None:
        return {"sdk_metric": "not exported by the workers (or not scraped)"}
    row = {"sdk_metric": histogram.name, "sdk_unit": histogram.unit, "sdk_count": histogram.count}
    bounds = histograms.quantile_bounds(histogram, 0.99)
    if bounds is None or history_p99 is None:
        return row
    low, high = bounds
    row["sdk_p99_between_ms"] = [round(low * 1000, 1), None if math.isinf(high) else round(high * 1000, 1)]
    # The SDK counts every attempt on these workers (also retries and other workflows); history counts first attempts
    # of this scenario's workflows. A p99 outside the SDK's bucket by more than one bucket is worth a look.
    row["agrees_with_history"] = low * 0.5 <= history_p99 <= high * 2
    return row


def _need(obs: LoadObservations, kind: str, arrival_per_s: float, headroom: float) -> dict:
    """Slots needed at the target rate: arrivals per second x seconds each task holds a slot, plus headroom."""
    if kind == "activity":
        held = [r.closed_at - r.last_started_at for r in obs.activities if r.attempts == 1 and r.closed_at and r.last_started_at and not r.local]
    else:
        held = [t.latency_s for t in obs.latencies if t.kind == "workflow_execution"]
    if not held or arrival_per_s <= 0:
        return {}
    mean_hold = sum(held) / len(held)
    return {"arrivals_per_s": round(arrival_per_s, 2), "mean_hold_ms": round(mean_hold * 1000, 1),
            "slots_needed": max(1, math.ceil(arrival_per_s * mean_hold * headroom))}


def _advice(kind: str, row: dict, workers: int) -> str:
    needed, offered = row.get("slots_needed"), row.get("slots_offered")
    setting = "max_concurrent_activities" if kind == "activity" else "max_concurrent_workflow_tasks"
    if needed is None:
        return f"{kind} tasks: no completed task to size from."
    if offered is not None and offered < needed:
        per_worker = offered / max(workers, 1)
        return (
            f"{kind} tasks need about {needed} slots at the target rate ({row['arrivals_per_s']}/s x {row['mean_hold_ms']} ms, "
            f"with headroom) but {workers} worker(s) offer {offered}: set {setting} to {math.ceil(needed / max(workers, 1))} "
            f"per worker, or run {math.ceil(needed / max(per_worker, 1))} workers."
        )
    return (
        f"{kind} tasks need about {needed} slots and the workers offer {offered if offered is not None else 'an unknown number'}: "
        f"slots are not the limit, so add workers (CPU) or pollers (max_concurrent_{'activity' if kind == 'activity' else 'workflow'}_task_polls)."
    )


def _windows(stages: tuple[Stage, ...]) -> list[tuple[float, float, int, Stage]]:
    """Each stage cut into windows of at most WINDOW_S (longer for long loads, so there are at most ~MAX_WINDOWS)."""
    total = sum(s.duration_s for s in stages)
    size = max(WINDOW_S, math.ceil(total / MAX_WINDOWS))
    windows, at = [], 0.0
    for number, stage in enumerate(stages, start=1):
        end = at + stage.duration_s
        while at < end - 1e-9:
            windows.append((at, min(at + size, end), number, stage))
            at = min(at + size, end)
        at = end
    return windows


def _window_row(kinds: dict[str, list[float]]) -> dict:
    row: dict = {}
    for kind, values in kinds.items():
        figures = summary_ms(values)
        row[f"{kind}_tasks"] = figures["count"]
        row.update({f"{kind}_{q}_ms": figures[f"{q}_ms"] for q in ("p50", "p95", "p99")})
    return row


def over_the_load(obs: LoadObservations) -> list[dict]:
    """Schedule-to-start percentiles per window of each load stage (seconds since the first workflow started), and one
    row for the tasks scheduled after the load ended (the drain): how waiting grew as the rate stepped up."""
    starts = [w.started_at for w in obs.workflows if w.started_at is not None]
    if not obs.load.stages or not starts:
        return []
    origin = min(starts)
    windows = _windows(obs.load.stages)
    load_end = windows[-1][1]
    tasks = [(t.kind, t.scheduled_at - origin, t.latency_s) for t in obs.latencies if t.kind in ("workflow", "activity")]
    rows = []
    for start, end, number, stage in windows:
        inside = {k: [s for kind, at, s in tasks if kind == k and start <= at < end] for k in ("workflow", "activity")}
        load = f"{stage.rate:g}/s" if stage.rate else f"{stage.users} users"
        rows.append({"from_s": round(start, 1), "to_s": round(end, 1), "stage": number, "load": load, **_window_row(inside)})
    after = [(kind, at, s) for kind, at, s in tasks if at >= load_end]
    if after:
        inside = {k: [s for kind, _, s in after if kind == k] for k in ("workflow", "activity")}
        last = max(at for _, at, _ in after)
        rows.append({"from_s": round(load_end, 1), "to_s": round(max(last, load_end + 1), 1), "stage": "drain", "load": "none", **_window_row(inside)})
    return rows


def schedule_to_start(obs: LoadObservations, spec: ScheduleToStartScenario, config: ReadinessConfig) -> CheckResult:
    thresholds = spec.thresholds
    def result(status: Status, summary: str, remediation: str = "") -> CheckResult:
        return CheckResult(
            id=CHECK_ID, scenario=obs.scenario, failure_mode=FAILURE_MODE, status=status, summary=summary,
            evidence=LatencyEvidence.model_validate(evidence).dump(), remediation=remediation if status != Status.PASS else "",
        )

    load = obs.load
    evidence: dict = {
        "target_rate_per_s": round(load.target_rate, 2),
        "mean_target_rate_per_s": round(load.mean_target_rate, 2),
        "achieved_rate_per_s": round(load.achieved_rate, 2),
        "workflows_started": load.started,
        "start_requests": load.requests,
        "start_failures": load.failures,
        "start_latency_p99_ms": load.start_p99_ms,
        "locust_workers": load.locust_workers,
        "counter_naming": histograms.counter_naming(obs.metrics),
    }
    limits = {"workflow": thresholds.workflow_task_p99, "activity": thresholds.activity_task_p99}
    rows, over = [], []
    workflows = max(len(obs.workflows), 1)
    for kind, limit in limits.items():
        values = [t.latency_s for t in obs.latencies if t.kind == kind]
        p99 = percentile(values, 99)
        tasks_per_workflow = len(values) / workflows
        row = {"task": kind, **summary_ms(values), "limit_p99_ms": round(limit * 1000, 1)}
        row.update(_cross_check(obs, kind, p99))
        row.update(_need(obs, kind, load.target_rate * tasks_per_workflow, thresholds.headroom))
        row["slots_offered"] = _slots(obs.metrics, kind)
        rows.append(row)
        if p99 is not None and p99 > limit:
            over.append((kind, p99, limit, row))
    evidence["schedule_to_start"] = rows
    if windows := over_the_load(obs):
        evidence["schedule_to_start_over_the_load"] = windows
    disagree = [r["task"] for r in rows if r.get("agrees_with_history") is False]
    if disagree:
        evidence["metrics_disagree"] = f"SDK histograms and histories disagree for {', '.join(disagree)} tasks (see the rows)"
    if not any(r["count"] for r in rows):
        return result(Status.NO_DATA, "No task was started during the load, so there is no schedule-to-start to measure.")
    if load.mean_target_rate and load.achieved_rate < MIN_RATE_REACHED * load.mean_target_rate:
        return result(
            Status.NO_DATA,
            f"The load reached only {load.achieved_rate:.1f} of the {load.mean_target_rate:.1f} starts/s asked for on average, "
            "so it says nothing about the target rate.",
            "Run Locust on more processes (--locust-workers N) or machines; see the README on distributed load.",
        )
    figures = "; ".join(f"{r['task']} p99 {r['p99_ms']} ms (p50 {r['p50_ms']}, {r['count']} tasks)" for r in rows if r["count"])
    if over:
        advice = " ".join(_advice(kind, row, obs.workers) for kind, _, _, row in over)
        evidence["recommendation"] = advice
        worst = ", ".join(f"{kind} tasks waited {p99 * 1000:.0f} ms at p99 (limit {limit * 1000:.0f} ms)" for kind, p99, limit, _ in over)
        return result(Status.FAIL, f"Under load up to {load.target_rate:g} starts/s {worst}.", advice)
    return result(Status.PASS, f"Under load up to {load.target_rate:g} starts/s tasks start promptly: {figures}.")
