"""`readiness init` then `readiness run`, as a new user's first two commands, on an app the harness was not shaped on."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest

from tests.conftest import REPO
from tests.e2e.test_cli_run import processes_with_marker, run_cli

pytestmark = pytest.mark.e2e


def test_init_then_run_gives_a_first_verdict_on_the_tutorial_app(tmp_path):
    shutil.copytree(REPO / "tests/fixtures/apps/greeting", tmp_path / "greeting")
    written = run_cli("init", "greeting.workflows", cwd=tmp_path)
    assert written.returncode == 0, written.stdout + written.stderr
    assert sorted(p.name for p in (tmp_path / "scenarios").iterdir()) == ["schedule-to-start.yaml", "worker-restart.yaml"]
    marker = uuid.uuid4().hex
    result = run_cli("run", "--scenario", "worker-restart", "--out", str(tmp_path / "out"), marker=marker, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr  # NO-GO: the app's default retry policy, and no alert rules
    assert processes_with_marker(marker) == []
    card = json.loads((tmp_path / "out/scorecard.json").read_text())
    status = {c["id"]: c["status"] for c in card["checks"]}
    assert status["determinism.restart_replay"] == "PASS" and status["retry.policy"] == "FAIL"
    assert status["alerts.static"] == "FAIL"  # the starter leaves the rules to the team, and says so
