"""The activity-fault file the harness writes and the worker-side interceptor reads."""

from __future__ import annotations

import json

import pytest

from harness.faults.activity import ActivityFault, ActivityFaultSwitch, _FaultFile, count_injections, read_faults, write_faults


def test_fault_scope_by_type_and_attempt():
    first_two = ActivityFault(activity="charge", first_attempts=2)
    assert first_two.applies("charge", 1) and first_two.applies("charge", 2) and not first_two.applies("charge", 3)
    assert not first_two.applies("ship", 1)
    everything = ActivityFault(activity="*")
    assert everything.applies("ship", 9)


def test_fault_file_round_trip_and_unreadable_file_means_no_fault(tmp_path):
    path = tmp_path / "faults.json"
    faults = (ActivityFault("charge", error_type="PaymentDeclined"), ActivityFault("ship", fail=False, latency_s=0.5))
    write_faults(path, faults)
    assert read_faults(path) == faults
    path.write_text("{not json")
    assert read_faults(path) == ()
    assert read_faults(tmp_path / "absent.json") == ()


async def test_switch_turns_faults_off_even_when_the_body_raises(tmp_path):
    switch = ActivityFaultSwitch(tmp_path / "faults.json")
    assert read_faults(switch.path) == ()
    with pytest.raises(RuntimeError):
        async with switch.injected([ActivityFault("charge")]):
            assert read_faults(switch.path) == (ActivityFault("charge"),)
            raise RuntimeError("scenario broke")
    assert read_faults(switch.path) == ()


def test_worker_side_rereads_only_on_change_and_logs_injections(tmp_path):
    path = tmp_path / "faults.json"
    write_faults(path, [ActivityFault("charge")])
    worker_view = _FaultFile(path)
    assert worker_view.current() == (ActivityFault("charge"),)
    write_faults(path, [ActivityFault("charge", error_type="Other", first_attempts=3)])
    assert worker_view.current()[0].error_type == "Other"
    worker_view.record("charge", 1, worker_view.current()[0])
    worker_view.record("charge", 2, worker_view.current()[0])
    (tmp_path / "injections-1.jsonl").write_text(json.dumps({"activity": "ship"}) + "\n{cut sh")
    assert count_injections(tmp_path) == {"charge": 2, "ship": 1}
