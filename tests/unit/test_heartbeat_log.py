"""The worker-side heartbeat log (written by the fault interceptor's outbound hook) and its reader."""

from __future__ import annotations

import json
from types import SimpleNamespace

from harness.faults.activity import ActivityFaultSwitch, HeartbeatCall, _FaultFile, _HeartbeatRecorder, read_heartbeats


class _Next:
    """The SDK's outbound interceptor at the end of the chain."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []

    def info(self):
        return SimpleNamespace(workflow_id="wf-0", activity_id="7", activity_type="export_orders", attempt=2)

    def heartbeat(self, *details) -> None:
        self.sent.append(details)


def test_each_heartbeat_call_is_logged_and_still_sent(tmp_path):
    switch = ActivityFaultSwitch(tmp_path / "faults" / "activity-faults.json")
    next_outbound = _Next()
    recorder = _HeartbeatRecorder(next_outbound, _FaultFile(switch.path))
    recorder.heartbeat(3)
    recorder.heartbeat(4, "detail")
    assert next_outbound.sent == [(3,), (4, "detail")]
    calls = switch.heartbeats()
    assert [(c.workflow_id, c.activity_id, c.activity_type, c.attempt) for c in calls] == [("wf-0", "7", "export_orders", 2)] * 2
    assert calls[0].at <= calls[1].at
    assert len(list(switch.path.parent.glob("heartbeats-*.jsonl"))) == 1


def test_a_log_that_cannot_be_written_does_not_break_the_heartbeat(tmp_path):
    next_outbound = _Next()
    faults = _FaultFile(tmp_path / "missing-folder" / "activity-faults.json")
    _HeartbeatRecorder(next_outbound, faults).heartbeat(1)
    assert next_outbound.sent == [(1,)]


def test_reader_merges_processes_in_time_order_and_skips_cut_lines(tmp_path):
    row = {"workflow_id": "wf-0", "activity_id": "1", "activity_type": "export_orders", "attempt": 1}
    (tmp_path / "heartbeats-10.jsonl").write_text(json.dumps({**row, "at": 3.0}) + "\n" + '{"workflow_id": "wf-0", "activ')
    (tmp_path / "heartbeats-11.jsonl").write_text(json.dumps({**row, "attempt": 2, "at": 5.0}) + "\n" + json.dumps({**row, "at": 1.0}) + "\n[1]\n")
    (tmp_path / "injections-10.jsonl").write_text(json.dumps({"activity": "charge"}) + "\n")
    assert read_heartbeats(tmp_path) == (
        HeartbeatCall("wf-0", "1", "export_orders", 1, 1.0), HeartbeatCall("wf-0", "1", "export_orders", 1, 3.0),
        HeartbeatCall("wf-0", "1", "export_orders", 2, 5.0),
    )
    assert read_heartbeats(tmp_path / "absent") == ()
