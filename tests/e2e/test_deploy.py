"""The deploy scenario through the CLI: version 2 of the order app rolled out under running version-1 orders (the
patched change is GO with a rollout that pages nobody, the unpatched one NO-GO naming every stuck workflow with the
recorded and the issued command, and the non-determinism alert fires), and a fulfilment app of another shape (local
activities, a child workflow, sync activities) whose version 2 is a git ref, deployed all at once."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid

import pytest
import yaml

from tests.conftest import REPO, write
from tests.e2e.test_cli_run import processes_with_marker, run_cli

pytestmark = pytest.mark.e2e


def _run(config, out, expected: int, *extra: str) -> dict:
    marker = uuid.uuid4().hex
    result = run_cli("run", "--config", str(config), "--out", str(out), *extra, marker=marker)
    assert result.returncode == expected, result.stdout + result.stderr
    assert processes_with_marker(marker) == []
    return json.loads((out / "scorecard.json").read_text())


def _check(card: dict, check_id: str) -> dict:
    return next(c for c in card["checks"] if c["id"] == check_id)


def test_the_unpatched_change_is_no_go_naming_every_stuck_workflow_and_the_nde_alert_fires(tmp_path):
    card = _run(REPO / "sample_workflows/versions/deploy_unpatched.yaml", tmp_path, 1)
    deploy = _check(card, "determinism.deploy")
    assert card["verdict"] == "NO-GO" and deploy["status"] == "FAIL"
    evidence = deploy["evidence"]
    assert evidence["in_flight_at_deploy"] == 6 and evidence["stuck"] == 6 and evidence["crossed_the_deploy"] == 0
    assert [s["started"] and s["stopped"] for s in evidence["rollout_steps"]] and len(evidence["rollout_steps"]) == 2
    assert len(evidence["problems"]) == 6
    for row in evidence["problems"]:
        assert row["workflow_id"] in deploy["summary"] or "more" in deploy["summary"]
        assert row["recorded"] == "ScheduleActivityTask reserve_inventory (event 5)"
        assert row["new_code_issued"] == "ScheduleActivityTask screen_order"
        assert row["guard"].startswith("if workflow.patched(") and (tmp_path / row["history"]).is_file()
    assert evidence["nondeterminism_task_failures_metric"] >= 6
    alerts = _check(card, "alerts.fire")
    if alerts["status"] != "SKIPPED":  # promtool present (CI installs it)
        fault = next(r for r in alerts["evidence"]["windows"] if r["window"] == "fault")
        assert "TemporalNonDeterminism" in fault["fired"] and fault["result"] == "caught"
        assert "TemporalNonDeterminism" not in alerts["evidence"]["alerts_not_exercised"]
    # the current version is back after the scenario: the journal says so and every process is gone
    steps = json.loads((tmp_path / "journal.json").read_text())["steps"]
    back = next(s for s in steps if s["name"] == "put the current version back")
    assert back["status"] == "ok" and all("-g2-" in i for i in back["detail"]["identities"])


def test_the_patched_change_is_go_with_every_order_crossing_and_a_silent_rollout(tmp_path):
    card = _run(REPO / "sample_workflows/versions/deploy_patched.yaml", tmp_path, 0)
    deploy = _check(card, "determinism.deploy")
    assert card["verdict"] == "GO" and deploy["status"] == "PASS", deploy["summary"]
    assert deploy["evidence"]["crossed_the_deploy"] == deploy["evidence"]["in_flight_at_deploy"] == 6
    assert deploy["evidence"]["nondeterminism_task_failures_metric"] == 0
    stopped = [s for step in deploy["evidence"]["rollout_steps"] for s in step["stopped"]]
    assert len(stopped) == 2 and all(s.endswith("(exit 0)") for s in stopped)  # old workers shut down gracefully
    alerts = _check(card, "alerts.fire")
    if alerts["status"] != "SKIPPED":
        rollout = next(r for r in alerts["evidence"]["windows"] if r["window"] == "rollout")
        assert alerts["status"] == "PASS" and rollout["result"] == "silent" and rollout["fired"] == "none"
        assert "clean rollout(s)" in alerts["summary"] and rollout["detail"]


def _git(cwd, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def fulfilment_repo(root):
    """A git repository holding the fulfilment app: version 1 checked out, version 2 (unpatched) on branch `v2`."""
    shutil.copytree(REPO / "tests/fixtures/apps/fulfilment", root / "fulfilment")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "empty")
    _git(root, "add", ".")
    _git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "v1")
    _git(root, "checkout", "-q", "-b", "v2")
    shutil.copy(REPO / "tests/fixtures/apps/fulfilment_v2_unpatched.py", root / "fulfilment/workflows.py")
    _git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-am", "v2: inspect first")
    _git(root, "checkout", "-q", "main")
    write(root / "scenarios/deploy-v2.yaml", yaml.safe_dump({
        "name": "deploy-v2", "kind": "deploy", "workflows": 4, "rollout": "all_at_once", "completion_timeout": "60s",
        "to": {"git_ref": "v2", "workers": [{"name": "fulfilment-worker", "python": {
            "workflows": ["fulfilment.workflows:FulfilmentWorkflow", "fulfilment.workflows:PackWorkflow", "fulfilment.workflows:InspectWorkflow"],
            "activities": ["fulfilment.activities:ACTIVITIES"]}}]},
    }))
    return write(root / "fulfilment.yaml", yaml.safe_dump({
        "version": 1, "app": {"name": "fulfilment", "path": "."}, "task_queue": "fulfilment",
        "workers": [{"name": "fulfilment-worker", "python": {
            "workflows": ["fulfilment.workflows:FulfilmentWorkflow", "fulfilment.workflows:PackWorkflow"],
            "activities": ["fulfilment.activities:ACTIVITIES"]}}],
        "workload": {"workflow": "FulfilmentWorkflow", "id_prefix": "fulfil", "inputs": ["F-{i}"]},
        "scenarios": ["deploy-v2"], "scenarios_dir": "scenarios",
    }))


def test_a_git_ref_deployed_all_at_once_is_checked_out_judged_and_removed(tmp_path):
    repo = tmp_path / "repo"
    config = fulfilment_repo(repo)
    card = _run(config, tmp_path / "out", 1)
    deploy = _check(card, "determinism.deploy")
    assert deploy["status"] == "FAIL" and deploy["evidence"]["version"].startswith("git ref v2")
    assert deploy["evidence"]["rollout"] == "all_at_once" and deploy["evidence"]["stuck"] == 4
    for row in deploy["evidence"]["problems"]:
        assert row["new_code_issued"].startswith("started a child workflow where the history recorded StartTimer 5s")
        assert any(c.startswith("RecordMarker") for c in row["recorded_commands"])  # the local activity's marker came first
    assert _git(repo, "worktree", "list").count("\n") == 1  # the checkout of v2 is gone
    assert _git(repo, "status", "--porcelain", "--untracked-files=no") == ""  # the working tree (version 1) untouched


def test_an_unknown_git_ref_is_refused_naming_the_key(tmp_path):
    repo = tmp_path / "repo"
    config = fulfilment_repo(repo)
    spec = yaml.safe_load((repo / "scenarios/deploy-v2.yaml").read_text())
    spec["to"]["git_ref"] = "no-such-branch"
    write(repo / "scenarios/deploy-v2.yaml", yaml.safe_dump(spec))
    result = run_cli("run", "--config", str(config), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "deploy-v2.yaml" in result.stderr and "to.git_ref" in result.stderr and "no-such-branch" in result.stderr
    assert not (tmp_path / "out" / "scorecard.json").exists()
