"""longrun.heartbeat on hand-built observations: every status, and the heartbeat-interval rows."""

from __future__ import annotations

import dataclasses

from harness.checks.heartbeat import cadence_row, longrun_heartbeat
from harness.observe.heartbeats import HOW, NOT_DETECTED, HeartbeatCadence, KilledAttempt, LongrunObservations
from harness.observe.model import KillRecord
from harness.scenarios.longrun_heartbeat import LongrunHeartbeatScenario
from harness.scorecard.model import Status

SCENARIO = LongrunHeartbeatScenario(name="longrun-heartbeat", kind="longrun_heartbeat", detection_timeout=30)


def attempt(workflow_id: str = "wf-0", **overrides) -> KilledAttempt:
    values = dict(
        workflow_id=workflow_id, activity_id="1", activity_type="export_orders", attempt=1, heartbeat_timeout_s=5.0,
        start_to_close_s=600.0, schedule_to_close_s=0.0, retry_backoff_s=1.0, long=True, heartbeats_before_kill=3,
        server_heartbeat_seen=True, detected=True, detection_s=2.5, detected_by=HOW["HEARTBEAT"],
        source="history: attempt 2 started (event 6) minus the 1s retry backoff", polled_detection_s=2.7,
    )
    values.update(overrides)
    return KilledAttempt(**values)


SILENT = dict(heartbeat_timeout_s=0.0, heartbeats_before_kill=0, server_heartbeat_seen=False, detected=False, detection_s=None,
              detected_by=NOT_DETECTED, source="", polled_detection_s=None)


def observations(*in_flight: KilledAttempt, confirmed: bool = True, cadences=()) -> LongrunObservations:
    kill = KillRecord("w-0", "w-0-g0", 4242, "SIGKILL", -9 if confirmed else None, confirmed)
    return LongrunObservations(
        scenario="longrun-heartbeat", started=("wf-0", "wf-1"), kills=(kill,), killed_at=1000.0, long_activity_bound_s=10.0,
        detection_timeout_s=30.0, in_flight=tuple(in_flight), cadences=tuple(cadences), workflows=(),
    )


def test_pass_when_every_long_activity_is_noticed_within_heartbeat_timeout_plus_margin():
    result = longrun_heartbeat(observations(attempt("wf-0"), attempt("wf-1", detection_s=9.9)), SCENARIO, None)
    assert result.status == Status.PASS and result.remediation == ""
    assert "export_orders x2 in 2.5-9.9s (heartbeat timeout 5s)" in result.summary
    rows = result.evidence["in_flight"]
    assert [r["limit_s"] for r in rows] == [10.0, 10.0] and all(r["problem"] == "ok" and r["heartbeats"] for r in rows)


def test_fail_when_not_detected_names_type_timeouts_and_missing_heartbeat():
    result = longrun_heartbeat(observations(attempt("wf-0", **SILENT), attempt("wf-1", **SILENT)), SCENARIO, None)
    assert result.status == Status.FAIL
    assert "export_orders (2 of 2 attempts running at the kill" in result.summary
    assert "not detected within detection_timeout (30s)" in result.summary
    assert "does not heartbeat" in result.summary and "its only timeout is start-to-close 600s" in result.summary
    assert "heartbeat_timeout" in result.remediation
    assert result.evidence["in_flight"][0]["detected"] is False and result.evidence["in_flight"][0]["limit_s"] is None


def test_fail_when_detected_only_by_start_to_close():
    late = attempt(heartbeat_timeout_s=0.0, heartbeats_before_kill=0, server_heartbeat_seen=False, start_to_close_s=20.0,
                   detection_s=19.0, detected_by=HOW["START_TO_CLOSE"])
    result = longrun_heartbeat(observations(late), SCENARIO, None)
    assert result.status == Status.FAIL and "detected only by its start-to-close timeout after 19.0s" in result.summary


def test_fail_when_heartbeat_timeout_fired_later_than_the_limit():
    result = longrun_heartbeat(observations(attempt(detection_s=10.5)), SCENARIO, None)
    assert result.status == Status.FAIL and "after 10.5s (limit 10s)" in result.summary


def test_short_activities_are_not_judged_and_alone_give_no_data():
    short = attempt(long=False, start_to_close_s=5.0, **SILENT)
    result = longrun_heartbeat(observations(short), SCENARIO, None)
    assert result.status == Status.NO_DATA and "longer than" not in result.summary and "10s" in result.summary
    assert longrun_heartbeat(observations(short, attempt()), SCENARIO, None).status == Status.PASS


def test_no_data_when_kill_not_confirmed_or_nothing_in_flight():
    assert longrun_heartbeat(observations(attempt(), confirmed=False), SCENARIO, None).status == Status.NO_DATA
    missing_kill = dataclasses.replace(observations(attempt()), killed_at=None)
    assert longrun_heartbeat(missing_kill, SCENARIO, None).status == Status.NO_DATA
    result = longrun_heartbeat(observations(), SCENARIO, None)
    assert result.status == Status.NO_DATA and result.evidence["long_in_flight_at_kill"] == 0


def test_heartbeat_timeout_far_longer_than_the_interval_warns_with_a_recommendation():
    cadence = HeartbeatCadence("export_orders", 60.0, 40, 1.2)
    result = longrun_heartbeat(observations(attempt(heartbeat_timeout_s=60.0, detection_s=30.0), cadences=[cadence]), SCENARIO.model_copy(update={"detection_timeout": 120.0}), None)
    assert result.status == Status.WARN
    [row] = result.evidence["heartbeat_cadence"]
    assert row["status"] == "WARN" and row["recommended_timeout"] == "4s" and "over 5x the 1.2s" in row["note"]
    assert "about 4s" in result.remediation


def test_heartbeat_timeout_shorter_than_the_interval_fails():
    cadence = HeartbeatCadence("export_orders", 5.0, 4, 7.5)
    result = longrun_heartbeat(observations(attempt(), cadences=[cadence]), SCENARIO, None)
    assert result.status == Status.FAIL and "shorter than the 7.5s between calls" in result.summary
    assert result.evidence["heartbeat_cadence"][0]["recommended_timeout"] == "23s"


def test_cadence_rows_at_the_edges():
    ratio, margin = 5.0, 5.0
    assert cadence_row(HeartbeatCadence("a", 5.0, 30, 1.0), ratio, margin)["status"] == "PASS"  # exactly 5x: not over
    assert cadence_row(HeartbeatCadence("a", 5.5, 30, 1.0), ratio, margin)["status"] == "PASS"  # over 5x, within interval + margin
    assert cadence_row(HeartbeatCadence("a", 30.0, 1, None), ratio, margin)["note"].startswith("fewer than two")
    # over 2x and over interval + margin, but never a warning that recommends a longer timeout than the one set
    assert cadence_row(HeartbeatCadence("a", 12.0, 30, 5.0), 2.0, 1.0)["status"] == "PASS"
    assert cadence_row(HeartbeatCadence("a", 16.0, 30, 5.0), 2.0, 1.0)["recommended_timeout"] == "15s"
    no_timeout = cadence_row(HeartbeatCadence("a", 0.0, 30, 1.0), ratio, margin)
    assert no_timeout["status"] == "WARN" and "no heartbeat_timeout" in no_timeout["note"] and no_timeout["recommended_timeout"] == "3s"


def test_fail_when_the_attempt_only_left_the_pending_list():
    closed = attempt(detected_by="activity closed", detection_s=3.0, source="polling: the activity left the pending list")
    result = longrun_heartbeat(observations(closed), SCENARIO, None)
    assert result.status == Status.FAIL and "not noticed by a heartbeat timeout (activity closed after 3.0s)" in result.summary
