"""Failure mode: long activities that die silently.

`longrun.heartbeat` reads the longrun-heartbeat scenario: every worker was SIGKILLed while long activities ran.
An activity with a heartbeat timeout (and heartbeat() calls) is noticed within that timeout and retried; one
without is noticed only when its start-to-close timeout expires, which for a long activity means hours. It also
compares each heartbeat timeout with how often the activity really heartbeats: far longer delays detection for
nothing, shorter than the gap between calls times out healthy attempts.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from harness.config.models import ReadinessConfig
from harness.observe.heartbeats import HOW, HeartbeatCadence, KilledAttempt, LongrunObservations
from harness.scorecard.model import CheckResult, Status, subjects

if TYPE_CHECKING:  # specs are read here, never built: their kinds' modules import this one
    from harness.scenarios.longrun_heartbeat import LongrunHeartbeatScenario

CHECK_ID = "longrun.heartbeat"
FAILURE_MODE = "long activities that die silently: a crashed worker is noticed only at start-to-close"
RECOMMENDED_INTERVALS = 3
"""A recommended heartbeat timeout is this many observed heartbeat intervals."""


def _s(value: float | None) -> str:
    return "none" if not value else f"{value:g}s"


def _timeouts(a: KilledAttempt) -> str:
    if not a.heartbeat_timeout_s and not a.schedule_to_close_s:
        return f"no heartbeat timeout (its only timeout is start-to-close {_s(a.start_to_close_s)})"
    return f"heartbeat timeout {_s(a.heartbeat_timeout_s)}, start-to-close {_s(a.start_to_close_s)}, schedule-to-close {_s(a.schedule_to_close_s)}"


def _limit(a: KilledAttempt, margin: float) -> float | None:
    return a.heartbeat_timeout_s + margin if a.heartbeat_timeout_s else None


def _problem(a: KilledAttempt, margin: float, detection_timeout: float) -> str:
    """Why the attempt was not noticed in time ('' when it was)."""
    limit = _limit(a, margin)
    if not a.detected:
        return f"not detected within detection_timeout ({detection_timeout:g}s)"
    if a.detected_by != HOW["HEARTBEAT"]:
        if a.detected_by.endswith("timeout"):
            return f"detected only by its {a.detected_by} after {a.detection_s:.1f}s"
        return f"not noticed by a heartbeat timeout ({a.detected_by} after {a.detection_s:.1f}s)"
    if limit is None or a.detection_s is None or a.detection_s > limit:
        return f"detected by its heartbeat timeout, but after {a.detection_s:.1f}s (limit {_s(limit)})"
    return ""


def _row(a: KilledAttempt, margin: float, detection_timeout: float) -> dict:
    limit = _limit(a, margin)
    return {
        "activity_type": a.activity_type,
        "workflow_id": a.workflow_id,
        "activity_id": a.activity_id,
        "attempt": a.attempt,
        "heartbeat_timeout": _s(a.heartbeat_timeout_s),
        "start_to_close": _s(a.start_to_close_s),
        "schedule_to_close": _s(a.schedule_to_close_s),
        "heartbeats": a.heartbeats,
        "heartbeat_calls_before_kill": a.heartbeats_before_kill,
        "detected": a.detected,
        "detection_s": None if a.detection_s is None else round(a.detection_s, 2),
        "polled_detection_s": None if a.polled_detection_s is None else round(a.polled_detection_s, 2),
        "detected_by": a.detected_by,
        "limit_s": None if limit is None else round(limit, 2),
        "retry_backoff_s": a.retry_backoff_s,
        "source": a.source,
        "polled_source": a.polled_source,
        "problem": _problem(a, margin, detection_timeout) or "ok",
        "history": a.history_file or "",
    }


def cadence_row(c: HeartbeatCadence, ratio: float, margin: float) -> dict:
    """A heartbeat timeout next to the observed heartbeat interval, with a status: FAIL when healthy attempts
    can time out between two calls, WARN when it is far longer than the calls need."""
    row = {"activity_type": c.activity_type, "heartbeat_timeout": _s(c.heartbeat_timeout_s), "heartbeat_calls": c.calls,
           "max_interval_s": None if c.max_interval_s is None else round(c.max_interval_s, 2), "status": "PASS", "note": "ok"}
    interval = c.max_interval_s
    if interval is None or interval <= 0:
        row["note"] = "fewer than two heartbeat calls in any attempt: no interval to compare"
        return row
    recommended = max(1, math.ceil(RECOMMENDED_INTERVALS * interval))
    if not c.heartbeat_timeout_s:
        row.update(status="WARN", recommended_timeout=f"{recommended}s",
                   note="it heartbeats, but has no heartbeat_timeout, so the server ignores the heartbeats for detection")
    elif c.heartbeat_timeout_s < interval:
        row.update(status="FAIL", recommended_timeout=f"{recommended}s",
                   note=f"heartbeat timeout {c.heartbeat_timeout_s:g}s is shorter than the {interval:.1f}s between calls: healthy attempts time out")
    elif c.heartbeat_timeout_s > max(ratio * interval, interval + margin, recommended):
        row.update(status="WARN", recommended_timeout=f"{recommended}s",
                   note=f"heartbeat timeout {c.heartbeat_timeout_s:g}s is over {ratio:g}x the {interval:.1f}s between calls: "
                   "a crash is noticed later than it could be")
    return row


def _detection_range(attempts: list[KilledAttempt]) -> str:
    times = [a.detection_s for a in attempts if a.detection_s is not None]
    span = f"{min(times):.1f}s" if max(times) - min(times) < 0.05 else f"{min(times):.1f}-{max(times):.1f}s"
    return f"{attempts[0].activity_type} x{len(attempts)} in {span} (heartbeat timeout {attempts[0].heartbeat_timeout_s:g}s)"


def longrun_heartbeat(obs: LongrunObservations, scenario: LongrunHeartbeatScenario, config: ReadinessConfig) -> CheckResult:
    margin, detection_timeout = scenario.margin, obs.detection_timeout_s
    long = [a for a in obs.in_flight if a.long]
    rows = [_row(a, margin, detection_timeout) for a in long]
    cadence = [cadence_row(c, scenario.max_heartbeat_ratio, margin) for c in obs.cadences]
    evidence: dict = {
        "workflows_started": len(obs.started),
        "workflows_completed": sum(w.status == "COMPLETED" for w in obs.workflows),
        "workers_killed": len(obs.kills),
        "kill_confirmed": obs.kill_confirmed,
        "long_activity_bound_s": obs.long_activity_bound_s,
        "in_flight_at_kill": len(obs.in_flight),
        "long_in_flight_at_kill": len(long),
        "margin_s": margin,
        "detection_timeout_s": detection_timeout,
        "measurement": "detection_s = from the kill to when the server noticed: the retry's ActivityTaskStarted minus the "
        "policy's retry backoff (or ActivityTaskTimedOut); limit_s = heartbeat timeout + margin",
        "in_flight": rows,
        "heartbeat_cadence": cadence,
    }

    def result(status: Status, summary: str, remediation: str = "", failing_types: list[str] | None = None) -> CheckResult:
        return CheckResult(id=CHECK_ID, scenario=obs.scenario, failure_mode=FAILURE_MODE, status=status, summary=summary,
                           evidence=evidence, remediation=remediation if status != Status.PASS else "",
                           subjects=subjects(activity_types=failing_types or ()))

    if not obs.kill_confirmed:
        return result(Status.NO_DATA, "The workers were not confirmed killed, so detection of lost activities was not tested.",
                      "See journal.json for the kill step; the workers must be processes the harness started.")
    if not long:
        return result(
            Status.NO_DATA,
            f"No activity with a start-to-close timeout over {obs.long_activity_bound_s:g}s was running when the workers were killed.",
            "Point `workflow`/`input` at a workflow that runs a long activity, or lower `long_activity_bound`.",
        )
    late = [(a, _problem(a, margin, detection_timeout)) for a in long if _problem(a, margin, detection_timeout)]
    spurious = [r for r in cadence if r["status"] == "FAIL"]
    slow = [r for r in cadence if r["status"] == "WARN"]
    if late or spurious:
        parts = []
        for activity_type in sorted({a.activity_type for a, _ in late}):
            mine = [(a, p) for a, p in late if a.activity_type == activity_type]
            a, problem = mine[0]
            parts.append(
                f"{activity_type} ({len(mine)} of {sum(x.activity_type == activity_type for x in long)} attempts running at the kill, "
                f"e.g. in {a.workflow_id}): {problem}; it {'heartbeats' if a.heartbeats else 'does not heartbeat'} and has {_timeouts(a)}"
            )
        parts += [f"{r['activity_type']}: {r['note']}" for r in spurious]
        return result(
            Status.FAIL, "; ".join(parts) + ".",
            "Give every long activity a heartbeat_timeout and call activity.heartbeat() at least every third of it (resuming "
            "from activity.info().heartbeat_details on retry): then a crashed worker is noticed within the heartbeat timeout, "
            "not only when start-to-close expires. Set the heartbeat timeout a few times longer than the interval between "
            "heartbeat calls (see `recommended_timeout` in heartbeat_cadence).",
            [a.activity_type for a, _ in late] + [r["activity_type"] for r in spurious],
        )
    figures = ", ".join(_detection_range([a for a in long if a.activity_type == t]) for t in sorted({a.activity_type for a in long}))
    summary = f"All {len(long)} long activities running at the kill were noticed within heartbeat timeout + {margin:g}s: {figures}."
    if slow:
        return result(
            Status.WARN, summary + " " + "; ".join(f"{r['activity_type']}: {r['note']}" for r in slow) + ".",
            "; ".join(f"Set {r['activity_type']}'s heartbeat_timeout to about {r['recommended_timeout']}" for r in slow) + ".",
        )
    return result(Status.PASS, summary)
