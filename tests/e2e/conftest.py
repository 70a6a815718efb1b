"""Runs that several e2e tests read without changing: each is made once per test process and shared. Tests that use
one carry `pytest.mark.xdist_group` with its name, so pytest-xdist (`--dist loadgroup`) sends them to one process."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, relocated, write
from tests.e2e.test_cli_run import processes_with_marker, run_cli

OUTAGE_HISTORY = "outage-history"


@dataclass(frozen=True)
class Runs:
    db: Path
    good: Path
    flawed: Path
    good_card: dict
    flawed_card: dict


@pytest.fixture(scope="session")
def outage_history(tmp_path_factory) -> Runs:
    """The good app's retry-outage run (GO), then the default-retry variant of the same app under the same scenario
    (NO-GO), recorded in one history database: about a minute each."""
    root = tmp_path_factory.mktemp("history-diff")
    db = root / "history.db"
    flawed_config = relocated(REPO / "sample_workflows/flawed/default_retry.yaml")
    flawed_config["app"]["name"] = "sample-orders"  # the same app, a version that dropped its retry policies
    config = write(root / "flawed.yaml", yaml.safe_dump(flawed_config))
    cards = {}
    for name, config_path, expected_exit in (("good", REPO / "readiness.yaml", 0), ("flawed", config, 1)):
        marker = uuid.uuid4().hex
        result = run_cli(
            "run", "--config", str(config_path), "--scenario", "retry-outage", "--out", str(root / name), "--history-db", str(db),
            marker=marker,
        )
        assert result.returncode == expected_exit, result.stdout + result.stderr
        assert "warning" not in result.stderr and processes_with_marker(marker) == []
        cards[name] = json.loads((root / name / "scorecard.json").read_text())
    return Runs(db, root / "good", root / "flawed", cards["good"], cards["flawed"])
