"""Typed evidence: the checks write it through the models the charts read it with, and the JSON is unchanged."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from harness.scorecard.evidence import AlertFireEvidence, LatencyEvidence, OutageEvidence
from tests.conftest import REPO

MODELS = {"retry.outage": OutageEvidence, "latency.schedule_to_start": LatencyEvidence, "alerts.fire": AlertFireEvidence}
SCORECARDS = sorted((REPO / "tests/fixtures/scorecards").glob("*.json"))


@pytest.mark.parametrize("path", SCORECARDS, ids=lambda p: p.name)
def test_recorded_evidence_reads_into_its_model_and_dumps_back_to_the_same_json(path):
    checks = [c for c in json.loads(path.read_text())["checks"] if c["id"] in MODELS]
    assert {c["id"] for c in checks} == set(MODELS)
    for check in checks:
        model = MODELS[check["id"]].read(check["evidence"])
        assert model is not None and model.dump() == check["evidence"], check["id"]


def test_a_key_the_model_does_not_know_fails_when_written_and_reads_as_no_chart():
    with pytest.raises(ValidationError, match="peak_attempts_per_sec"):
        OutageEvidence(fault={}, peak_attempts_per_sec=3.0)
    assert OutageEvidence.read({"attempts_per_second": [{"t": 0, "attempts": "many"}]}) is None
    assert LatencyEvidence.read({"schedule_to_start_over_the_load": [{"from_s": 0}]}) is None
    assert AlertFireEvidence.read({}) is None


def test_dump_keeps_only_what_the_check_set_and_ints_stay_ints():
    evidence = OutageEvidence(fault={"confirmed": False})
    assert evidence.dump() == {"fault": {"confirmed": False}} and not evidence.drain_known
    drained = OutageEvidence(fault={}, drain_after_restore_s=None, attempts_per_second=[{"t": 0, "attempts": 2}])
    assert drained.drain_known and drained.dump()["attempts_per_second"] == [{"t": 0, "attempts": 2}]
    assert isinstance(drained.dump()["attempts_per_second"][0]["t"], int)
