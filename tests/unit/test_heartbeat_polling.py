"""The pending-activity polling behind the cross-check: when the attempt number goes up, when the activity closes."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import TimeoutType
from temporalio.api.workflow.v1 import PendingActivityInfo

from harness.observe.heartbeats import HOW
from harness.scenarios.longrun_heartbeat import _poll, _polled_detection, _Running
from tests.fixtures.heartbeat.histories import timeout_failure


def pending(attempt: int, scheduled_at: float | None = None, completed_at: float | None = None) -> PendingActivityInfo:
    info = PendingActivityInfo(activity_id="1", attempt=attempt)
    info.last_failure.CopyFrom(timeout_failure(TimeoutType.TIMEOUT_TYPE_HEARTBEAT))
    if scheduled_at is not None:
        info.scheduled_time.FromMicroseconds(round(scheduled_at * 1e6))
    if completed_at is not None:
        info.last_attempt_complete_time.FromMicroseconds(round(completed_at * 1e6))
    return info


def test_same_attempt_is_not_noticed_yet():
    running = _Running("wf-0", "1", attempt=1, server_heartbeat_seen=True)
    _poll(running, pending(attempt=1, scheduled_at=100.0))
    assert running.polled is None and _polled_detection(running, 1.0) is None


def test_retry_scheduled_time_minus_backoff_sharpens_the_poll_time():
    running = _Running("wf-0", "1", attempt=1, server_heartbeat_seen=True)
    _poll(running, pending(attempt=2, scheduled_at=1_000.0))
    found = _polled_detection(running, 1.0)
    assert found is not None and found.how == HOW["HEARTBEAT"] and found.at == pytest.approx(999.0)
    assert "scheduled_time minus the 1s retry backoff" in found.source


def test_last_attempt_complete_time_wins_when_the_server_reports_it():
    running = _Running("wf-0", "1", attempt=1, server_heartbeat_seen=True)
    _poll(running, pending(attempt=2, scheduled_at=1_000.0, completed_at=998.5))
    found = _polled_detection(running, 1.0)
    assert found is not None and found.at == pytest.approx(998.5) and found.source.endswith("last_attempt_complete_time")


def test_a_scheduled_time_in_the_future_of_the_poll_is_not_trusted_and_a_closed_activity_counts():
    running = _Running("wf-0", "1", attempt=1, server_heartbeat_seen=False)
    _poll(running, pending(attempt=2, scheduled_at=4_000_000_000.0))
    assert _polled_detection(running, 1.0).source == "polling: when the attempt number went up"
    closed = _Running("wf-1", "1", attempt=1, server_heartbeat_seen=False)
    _poll(closed, None)
    assert closed.polled is not None and closed.polled.how == "activity closed"
