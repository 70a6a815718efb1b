"""longrun-heartbeat: SIGKILL every worker while long activities run, and measure how long the server takes to notice.

Steps: start the workflows; wait until each runs a long activity (pending, STARTED); wait `kill_after`; SIGKILL
every worker; restart; poll the pending activities until every killed attempt was noticed (its attempt number went
up, or it closed) or `detection_timeout` passes; wait for the workflows whose activities were noticed to close;
terminate the rest; fetch histories. The detection time of each killed attempt is read from history
(`harness.observe.heartbeats.detection_from_history`), with the polling as a cross-check.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import WorkflowExecutionStatus, WorkflowHistory

from harness.checks import heartbeat
from harness.config.scenarios import StartsItsOwnWorkflows
from harness.config.types import Duration
from harness.observe import histories
from harness.observe.heartbeats import (
    HOW,
    Detection,
    KilledAttempt,
    LongrunObservations,
    detection_from_history,
    heartbeat_cadence,
    heartbeats_before,
    scheduled,
    timeout_type,
)
from harness.observe.model import HeartbeatCall
from harness.scenarios import steps
from harness.scenarios.base import ScenarioContext
from harness.scenarios.kind import ScenarioCheck, ScenarioKind

LONG_STARTED_TIMEOUT_S = 60.0
"""How long to wait for every workflow to be running a long activity before the kill."""
STARTED = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED


class LongrunHeartbeatScenario(StartsItsOwnWorkflows):
    """Kill every worker while long activities run: the server must notice within the heartbeat timeout."""

    kind: Literal["longrun_heartbeat"]
    workflows: int = Field(2, ge=1, le=100, description="How many workflows to start.")
    long_activity_bound: Duration = Field(10.0, gt=0, description="Activities whose start-to-close timeout is longer than this are long.")
    kill_after: Duration = Field(3.0, description="How long after the long activities started to SIGKILL every worker.")
    restart_after: Duration = Field(1.0, description="Pause between the confirmed kill and the restart.")
    margin: Duration = Field(5.0, description="Detection may take the heartbeat timeout plus this.")
    detection_timeout: Duration = Field(
        60.0, gt=0, validate_default=True,
        description="How long after the kill to wait for the server to notice (also bounds the wait for the workflows to close).",
    )
    max_heartbeat_ratio: float = Field(
        5.0, gt=1, description="A heartbeat timeout over this many times the observed heartbeat interval (and over the interval "
        "plus `margin`) is flagged (WARN).",
    )

    @field_validator("detection_timeout")
    @classmethod
    def _longer_than_restart_and_margin(cls, value: float, info: ValidationInfo) -> float:
        margin, restart_after = info.data.get("margin"), info.data.get("restart_after")
        if margin is not None and restart_after is not None and value <= margin + restart_after:
            raise ValueError(
                f"expected more than `restart_after` + `margin` ({restart_after + margin:g}s), or no detection could be judged in time"
            )
        return value


@dataclass
class _Running:
    """An attempt running at the kill, and what the polling saw of it afterwards."""

    workflow_id: str
    activity_id: str
    attempt: int
    server_heartbeat_seen: bool
    polled: Detection | None = None
    retry_scheduled_at: float | None = None
    """scheduled_time of the retry, as the polling saw it (the moment the server noticed, plus the retry backoff)."""


async def _pending(ctx: ScenarioContext, ids: list[str]) -> dict[str, list[PendingActivityInfo]]:
    """{workflow id: its pending activities} of the workflows still running."""
    descriptions = await steps.bounded(ctx.client.get_workflow_handle(w).describe() for w in ids)
    return {d.id: list(d.raw_description.pending_activities) for d in descriptions if d.status == WorkflowExecutionStatus.RUNNING}


async def _wait_long_started(ctx: ScenarioContext, ids: list[str], bound: float) -> int:
    """Wait (bounded) until every running workflow has a long activity in state STARTED; returns how many have."""
    start_to_close: dict[tuple[str, str], float] = {}

    async def probe() -> tuple[int, int]:
        pending = await _pending(ctx, ids)
        for workflow_id, infos in pending.items():
            if any((workflow_id, p.activity_id) not in start_to_close for p in infos):
                for activity_id, record in scheduled(await histories.fetch(ctx.client, workflow_id)).items():
                    start_to_close[(workflow_id, activity_id)] = record.start_to_close_s
        ready = [
            w for w, infos in pending.items()
            if any(p.state == STARTED and start_to_close.get((w, p.activity_id), 0.0) > bound for p in infos)
        ]
        return len(ready), len(pending)

    ready, _ = await steps.poll_until(probe, lambda counts: counts[0] == counts[1], timeout=LONG_STARTED_TIMEOUT_S)
    return ready


def _poll(r: _Running, info: PendingActivityInfo | None) -> None:
    """Record what one poll says about a killed attempt: noticed (retried or closed), or not yet."""
    now = time.time()
    if info is None:
        r.polled = Detection(now, "activity closed", "polling: the activity left the pending list")
        return
    if info.attempt <= r.attempt:
        return
    kind = timeout_type(info.last_failure)
    how = HOW.get(kind, kind) if kind else "retried"
    complete = info.last_attempt_complete_time
    if complete.seconds > 0:
        r.polled = Detection(complete.ToMicroseconds() / 1e6, how, "polling: last_attempt_complete_time")
    else:
        r.polled = Detection(now, how, "polling: when the attempt number went up")
    if info.attempt == r.attempt + 1 and info.scheduled_time.seconds > 0:
        r.retry_scheduled_at = info.scheduled_time.ToMicroseconds() / 1e6


def _polled_detection(r: _Running, backoff: float) -> Detection | None:
    """The polling's view, sharpened by the retry's scheduled time when the server reported one that fits."""
    if r.polled is None or r.retry_scheduled_at is None or r.polled.source.endswith("last_attempt_complete_time"):
        return r.polled
    at = r.retry_scheduled_at - backoff
    if at > r.polled.at:
        return r.polled
    return Detection(at, r.polled.how, f"polling: the retry's scheduled_time minus the {backoff:g}s retry backoff")


async def _watch(ctx: ScenarioContext, running: list[_Running], timeout: float) -> None:
    """Poll until every killed attempt was noticed or `timeout` passes."""
    async def probe() -> list[_Running]:
        waiting = [r for r in running if r.polled is None]
        if waiting:
            pending = await _pending(ctx, sorted({r.workflow_id for r in waiting}))
            for r in waiting:
                _poll(r, next((p for p in pending.get(r.workflow_id, []) if p.activity_id == r.activity_id), None))
        return [r for r in running if r.polled is None]

    await steps.poll_until(probe, lambda waiting: not waiting, timeout=timeout)


def _killed_attempt(
    r: _Running, history: WorkflowHistory, history_file: str, *, killed_at: float, bound: float, calls: tuple[HeartbeatCall, ...]
) -> KilledAttempt | None:
    record = scheduled(history).get(r.activity_id)
    if record is None or (record.outcome == "completed" and record.attempts == r.attempt):
        return None  # unknown, or it finished on its worker just before the kill: nothing was lost
    backoff = record.policy.interval_after(r.attempt)
    polled = _polled_detection(r, backoff)
    # The history time (the retry's start minus its backoff) also holds the restarted workers' start-up; the polled
    # time (the retry's scheduling) does not. The earlier of the two is the closer bound.
    candidates = [d for d in (detection_from_history(history, r.activity_id, r.attempt), polled) if d is not None]
    found = min(candidates, key=lambda d: d.at, default=None)
    return KilledAttempt(
        workflow_id=r.workflow_id, activity_id=r.activity_id, activity_type=record.activity_type, attempt=r.attempt,
        heartbeat_timeout_s=record.heartbeat_s, start_to_close_s=record.start_to_close_s,
        schedule_to_close_s=record.schedule_to_close_s, retry_backoff_s=backoff,
        long=record.start_to_close_s > bound,
        heartbeats_before_kill=heartbeats_before(calls, r.workflow_id, r.activity_id, r.attempt, killed_at),
        server_heartbeat_seen=r.server_heartbeat_seen,
        detected=found is not None,
        detection_s=None if found is None else max(0.0, found.at - killed_at),
        detected_by=found.how if found else KilledAttempt.detected_by,
        source=found.source if found else "",
        polled_detection_s=None if polled is None else max(0.0, polled.at - killed_at),
        polled_source=polled.source if polled else "",
        history_file=history_file,
    )


async def run(ctx: ScenarioContext, scenario: LongrunHeartbeatScenario) -> LongrunObservations:
    name, journal = scenario.name, ctx.journal
    ids: list[str] = []
    closed_cleanly = False
    try:
        with journal.step("start workflows", name, count=scenario.workflows) as step:
            ids = await steps.start_own_workflows(ctx, scenario, scenario.workflows)
            step.detail["first"] = ids[0]
        with journal.step("wait for long activities to start", name, timeout_s=LONG_STARTED_TIMEOUT_S) as step:
            step.detail["running_long_activity"] = await _wait_long_started(ctx, ids, scenario.long_activity_bound)
        await asyncio.sleep(scenario.kill_after)
        with journal.step("attempts running at the kill", name) as step:
            pending = await _pending(ctx, ids)
            running = [
                _Running(w, p.activity_id, p.attempt, p.last_heartbeat_time.seconds > 0)
                for w, infos in pending.items() for p in infos if p.state == STARTED
            ]
            step.detail["attempts_running"] = len(running)
        killed_at = time.time()
        async with steps.workers_down(ctx, name, "SIGKILL", fault="every worker SIGKILLed during long activities") as down:
            await asyncio.sleep(scenario.restart_after)
        with journal.step("wait for the server to notice the lost attempts", name, timeout_s=scenario.detection_timeout) as step:
            await _watch(ctx, running, max(0.0, killed_at + scenario.detection_timeout - time.time()))
            step.detail["noticed"] = sum(r.polled is not None for r in running)
            step.detail["not_noticed"] = [f"{r.workflow_id}/{r.activity_id}" for r in running if r.polled is None]
        with journal.step("wait for workflows to close", name, timeout_s=scenario.detection_timeout) as step:
            # A workflow whose activity is still held by a dead worker cannot close before that activity's timeout.
            stuck = {r.workflow_id for r in running if r.polled is None}
            still_open = await steps.wait_closed(ctx, [w for w in ids if w not in stuck], scenario.detection_timeout)
            step.detail["open"] = len(still_open) + len(stuck)
            await steps.terminate(ctx.client, [*still_open, *stuck], f"readiness scenario {name} ended")
            closed_cleanly = True
        with journal.step("collect histories", name) as step:
            fetched, records = await steps.collect_histories(ctx, ids)
            started = set(ids)
            calls = tuple(c for c in (ctx.faults.heartbeats() if ctx.faults else ()) if c.workflow_id in started)
            step.detail.update(histories=len(fetched), heartbeat_calls=len(calls))
    finally:
        if ids and not closed_cleanly:
            await steps.terminate(ctx.client, ids, f"readiness scenario {name} did not finish")
    by_id = {h.workflow_id: (h, r.history_file) for h, r in zip(fetched, records, strict=True)}
    in_flight = [
        _killed_attempt(r, *by_id[r.workflow_id], killed_at=killed_at, bound=scenario.long_activity_bound, calls=calls)
        for r in running if r.workflow_id in by_id
    ]
    timeouts = {(h.workflow_id, a.activity_id): (a.activity_type, a.heartbeat_s) for h, _ in by_id.values() for a in scheduled(h).values()}
    return LongrunObservations(
        scenario=name,
        started=tuple(ids),
        kills=tuple(down.kills),
        killed_at=killed_at,
        long_activity_bound_s=scenario.long_activity_bound,
        detection_timeout_s=scenario.detection_timeout,
        in_flight=tuple(a for a in in_flight if a is not None),
        cadences=heartbeat_cadence(calls, timeouts),
        workflows=records,
    )


KIND = ScenarioKind(
    name="longrun_heartbeat",
    spec=LongrunHeartbeatScenario,
    run=run,
    checks=(ScenarioCheck(heartbeat.CHECK_ID, heartbeat.longrun_heartbeat),),
    effect="kills every worker while long activities run",
)
