"""The Worker Versioning rehearsal through the CLI on the bundled dev server: version 2 of the order workflow ramped
10% -> 50% -> 100% beside version 1. Unpatched, the first auto-upgrade orders it takes fail on non-determinism, the
ramp is removed, they go back to version 1 and complete, and the pinned orders never leave version 1. Patched, every
stage holds and version 2 is promoted. And the fulfilment app (a child workflow, sync local activities), its version 2
a git ref."""

from __future__ import annotations

import json
import uuid

import pytest
import yaml

from tests.conftest import REPO, write
from tests.e2e.test_cli_run import processes_with_marker, run_cli
from tests.e2e.test_deploy import fulfilment_repo

pytestmark = pytest.mark.e2e


def _versioning(config: str, out, expected: int) -> dict:
    marker = uuid.uuid4().hex
    result = run_cli("run", "--config", str(REPO / "sample_workflows/versions" / config), "--out", str(out), marker=marker)
    assert result.returncode == expected, result.stdout + result.stderr
    assert processes_with_marker(marker) == []
    card = json.loads((out / "scorecard.json").read_text())
    return next(c for c in card["checks"] if c["id"] == "deploy.versioning")


def test_the_ramp_catches_the_unpatched_version_rolls_back_and_pinned_orders_finish_on_v1(tmp_path):
    check = _versioning("versioning_unpatched.yaml", tmp_path, 1)
    evidence = check["evidence"]
    card = json.loads((tmp_path / "scorecard.json").read_text())
    alerts = next(c for c in card["checks"] if c["id"] == "alerts.fire")
    if alerts["status"] != "SKIPPED":  # promtool present: the regressing stage pages on non-determinism
        fault = next(r for r in alerts["evidence"]["windows"] if r["window"] == "fault")
        assert fault["result"] == "caught" and "TemporalNonDeterminism" in fault["fired"]
    assert check["status"] == "FAIL" and evidence["rolled_back"] and not evidence["promoted"]
    stages = evidence["stages"]
    assert stages[-1]["verdict"] == "REGRESSED" and all(s["verdict"] == "held" for s in stages[:-1])
    assert "failed on non-determinism on v2-unpatched" in stages[-1]["why"]
    assert evidence["pinned_workflows"] == evidence["pinned_completed_on_current"] > 0
    assert evidence["final_status"] == {"COMPLETED": evidence["pinned_workflows"] + 8 * len(stages)}
    assert evidence["recovered_on_current_after_rollback"] == len(evidence["problems"]) > 0
    for row in evidence["problems"]:
        assert row["versions"][:2] == ["v1", "v2-unpatched"] and row["versions"][-1] == "v1"
        assert row["recorded"] == "ScheduleActivityTask reserve_inventory (event 5)" and row["issued"] == "ScheduleActivityTask screen_order"
        assert (tmp_path / row["history"]).is_file()
    side = {v["version"]: v for v in evidence["side_by_side"]}
    assert side["v2-unpatched"]["nondeterminism"] >= 1 and side["v1"]["nondeterminism"] == 0


def test_the_patched_version_holds_at_every_stage_and_is_promoted(tmp_path):
    check = _versioning("versioning_patched.yaml", tmp_path, 0)
    evidence = check["evidence"]
    alerts = next(c for c in json.loads((tmp_path / "scorecard.json").read_text())["checks"] if c["id"] == "alerts.fire")
    if alerts["status"] != "SKIPPED":  # every stage of a clean ramp is a rollout window that paged nobody
        assert alerts["status"] == "PASS" and [r["result"] for r in alerts["evidence"]["windows"] if r["window"] == "rollout"] == ["silent"] * 3
    assert check["status"] == "PASS", check["summary"]
    assert [s["ramp"] for s in evidence["stages"]] == ["10%", "50%", "100%"] and evidence["promoted"]
    assert all(s["verdict"] == "held" for s in evidence["stages"]) and evidence["moved_to_next_and_completed"] > 0
    side = {v["version"]: v for v in evidence["side_by_side"]}
    assert side["v2-patched"]["workflows"] > 0 and side["v2-patched"]["nondeterminism"] == side["v2-patched"]["failed"] == 0
    assert side["v2-patched"]["workflow_task_p99_s"] is not None and side["v1"]["latency_p50_s"] is not None


def test_a_git_ref_ramped_on_an_app_with_child_workflows_and_local_activities(tmp_path):
    repo = tmp_path / "repo"
    config = fulfilment_repo(repo)
    write(repo / "scenarios/versioning-v2.yaml", yaml.safe_dump({
        "name": "versioning-v2", "kind": "versioning", "stages": [50, 100], "pinned": 1, "auto_upgrade": 4,
        "current_build_id": "v1", "completion_timeout": "60s",
        "next": {"build_id": "v2", "git_ref": "v2", "workers": [{"name": "fulfilment-worker", "python": {
            "workflows": ["fulfilment.workflows:FulfilmentWorkflow", "fulfilment.workflows:PackWorkflow", "fulfilment.workflows:InspectWorkflow"],
            "activities": ["fulfilment.activities:ACTIVITIES"]}}]},
    }))
    settings = yaml.safe_load(config.read_text())
    write(config, yaml.safe_dump({**settings, "scenarios": ["versioning-v2"]}))
    marker = uuid.uuid4().hex
    result = run_cli("run", "--config", str(config), "--out", str(tmp_path / "out"), marker=marker)
    assert result.returncode == 1, result.stdout + result.stderr
    assert processes_with_marker(marker) == []
    card = json.loads((tmp_path / "out/scorecard.json").read_text())
    check = next(c for c in card["checks"] if c["id"] == "deploy.versioning")
    evidence = check["evidence"]
    assert check["status"] == "FAIL" and evidence["rolled_back"] and evidence["version"].startswith("git ref v2")
    for row in evidence["problems"]:
        assert row["issued"].startswith("started a child workflow where the history recorded StartTimer 5s")
    assert evidence["pinned_completed_on_current"] == evidence["pinned_workflows"] > 0
