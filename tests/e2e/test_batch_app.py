"""The batch sample app (child workflows fanned out per chunk, continue-as-new, a local activity, a sync activity on
the thread pool, an update): the checks judge it without knowing the order app. GO for the well-built one, and
each flawed twin NO-GO on the check its flaw plants."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import REPO
from tests.e2e.test_cli_run import processes_with_marker, run_cli

pytestmark = pytest.mark.e2e
BATCH = REPO / "sample_workflows/batch"


def run_batch(config: str, out, expected_exit: int) -> dict:
    marker = uuid.uuid4().hex
    result = run_cli("run", "--config", str(BATCH / config), "--out", str(out), marker=marker)
    assert result.returncode == expected_exit, result.stdout + result.stderr
    assert processes_with_marker(marker) == []
    return json.loads((out / "scorecard.json").read_text())


def checks(card: dict) -> dict[str, dict]:
    return {c["id"]: c for c in card["checks"]}


def test_the_well_built_batch_app_is_go_on_evidence_from_its_children_and_continued_runs(tmp_path):
    card = run_batch("readiness.yaml", tmp_path, 0)
    found = checks(card)
    assert card["verdict"] == "GO", {k: (c["status"], c["summary"]) for k, c in found.items()}
    for check_id in ("determinism.restart_replay", "retry.outage", "retry.non_retryable", "latency.schedule_to_start",
                     "signals.concurrent", "retry.policy", "activities.idempotent", "alerts.fire"):
        assert found[check_id]["status"] == "PASS", (check_id, found[check_id]["summary"])
    kinds = {row["kind"] for row in found["retry.policy"]["evidence"]["policies"]}
    assert {"activity", "local_activity", "child_workflow", "workflow"} <= kinds
    storage = found["activities.idempotent"]["evidence"]["dependencies"]["storage"]
    assert found["activities.idempotent"]["status"] == "PASS", found["activities.idempotent"]["summary"]
    # the sync activity's urllib writes on the thread pool are tagged; the local activity's GET /quota is not judged
    assert storage["by_activity"]["storage: transform_chunk POST /chunks"].get("repeated_with_key", 0) >= 1
    assert storage["untagged"] == 0 and storage["not_judged_methods"] > 0
    files = {p.name for p in (tmp_path / "histories").iterdir()}
    assert any("-chunk-" in name for name in files) and any("-run-" in name for name in files)  # children and earlier runs kept


@pytest.mark.parametrize(("config", "check_id"), [
    ("flawed/local_default_retry.yaml", "retry.policy"),
    ("flawed/resize_race.yaml", "signals.concurrent"),
    ("flawed/region_order.yaml", "determinism.restart_replay"),
    ("flawed/undersized.yaml", "latency.schedule_to_start"),
])
def test_each_flawed_twin_is_no_go_on_the_check_its_flaw_plants(tmp_path, config, check_id):
    found = checks(run_batch(config, tmp_path, 1))
    assert found[check_id]["status"] == "FAIL", found[check_id]["summary"]
    if config == "flawed/local_default_retry.yaml":
        policy = found["retry.policy"]
        assert policy["subjects"] == ["activity_type:reserve_quota"]
        assert "local activity reserve_quota (sample_workflows/batch/flawed/local_default_retry.py:21)" in policy["summary"]
        [row] = [r for r in policy["evidence"]["policies"] if r["kind"] == "local_activity"]
        assert row["source"] == "code"
        outage = found["retry.outage"]  # the local activity's attempts are measured too, whatever the verdict
        assert outage["status"] in ("PASS", "FAIL") and "reserve_quota" in outage["summary"], outage["summary"]
