"""When the server noticed a lost attempt, read from hand-built histories; heartbeat cadence from logged calls."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import TimeoutType

from harness.faults.activity import HeartbeatCall
from harness.observe.heartbeats import HOW, detection_from_history, heartbeat_cadence, heartbeats_before, scheduled
from tests.fixtures.heartbeat.histories import T0, export_history, history, retry_started, timed_out

HEARTBEAT = TimeoutType.TIMEOUT_TYPE_HEARTBEAT
START_TO_CLOSE = TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE


def test_retry_start_minus_the_backoff_is_when_the_heartbeat_timeout_fired():
    events = export_history() + [retry_started(at=9.5, attempt=2, last_failure=HEARTBEAT)]
    found = detection_from_history(history(events), "1", attempt=1)
    assert found is not None and found.how == HOW["HEARTBEAT"]
    assert found.at == pytest.approx(T0 + 8.5) and "minus the 1s retry backoff" in found.source


def test_backoff_of_a_later_attempt_follows_the_policy():
    events = export_history(initial_interval_s=2.0) + [retry_started(at=20.0, attempt=3, last_failure=START_TO_CLOSE)]
    found = detection_from_history(history(events), "1", attempt=2)
    assert found is not None and found.how == HOW["START_TO_CLOSE"]
    assert found.at == pytest.approx(T0 + 16.0)  # attempt 2 fails -> wait 2s x 2.0


def test_timed_out_event_is_the_detection_when_retrying_ended():
    events = export_history(maximum_attempts=1) + [timed_out(at=611.0, kind=START_TO_CLOSE)]
    found = detection_from_history(history(events), "1", attempt=1)
    assert found is not None and found.how == HOW["START_TO_CLOSE"] and found.at == pytest.approx(T0 + 611.0)
    assert "ActivityTaskTimedOut" in found.source


def test_no_detection_without_a_retry_or_timeout_or_when_history_skips_the_attempt():
    assert detection_from_history(history(export_history()), "1", attempt=1) is None
    assert detection_from_history(history(export_history()), "other", attempt=1) is None
    # Attempt 3 started: the failure it carries is attempt 2's, so history cannot tell when attempt 1 was noticed.
    skipped = export_history() + [retry_started(at=30.0, attempt=3, last_failure=HEARTBEAT)]
    assert detection_from_history(history(skipped), "1", attempt=1) is None
    # A retry after an application error is not a detection of the lost attempt.
    started = retry_started(at=9.5, attempt=2, last_failure=HEARTBEAT)
    started.activity_task_started_event_attributes.last_failure.Clear()
    assert detection_from_history(history(export_history() + [started]), "1", attempt=1) is None


def test_scheduled_reads_timeouts_and_drops_the_bound_the_server_filled_in():
    record = scheduled(history(export_history(heartbeat_s=0.0)))["1"]
    assert (record.activity_type, record.heartbeat_s, record.start_to_close_s, record.schedule_to_close_s) == ("export_orders", 0.0, 600.0, 0.0)
    assert record.policy.interval_after(1) == 1.0


def call(at: float, workflow_id: str = "wf-0", attempt: int = 1, activity_id: str = "1") -> HeartbeatCall:
    return HeartbeatCall(workflow_id, activity_id, "export_orders", attempt, at)


def test_cadence_is_the_largest_gap_within_one_attempt():
    calls = [call(1.0), call(2.0), call(3.5), call(20.0, attempt=2), call(21.0, attempt=2), call(5.0, workflow_id="wf-1"), call(1.0, workflow_id="other")]
    timeouts = {("wf-0", "1"): ("export_orders", 5.0), ("wf-1", "1"): ("export_orders", 5.0)}
    [cadence] = heartbeat_cadence(calls, timeouts)
    assert (cadence.activity_type, cadence.heartbeat_timeout_s, cadence.calls) == ("export_orders", 5.0, 6)
    assert cadence.max_interval_s == pytest.approx(1.5)  # the 16.5s between attempts 1 and 2 is not a heartbeat gap
    [single] = heartbeat_cadence([call(1.0)], timeouts)
    assert single.calls == 1 and single.max_interval_s is None
    assert heartbeat_cadence([], timeouts) == ()


def test_heartbeats_before_the_kill_count_only_that_attempt():
    calls = [call(1.0), call(2.0), call(4.0), call(1.5, attempt=2), call(1.0, workflow_id="wf-1")]
    assert heartbeats_before(calls, "wf-0", "1", 1, before=3.0) == 2
    assert heartbeats_before(calls, "wf-0", "1", 3, before=3.0) == 0
