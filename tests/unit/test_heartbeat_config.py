"""The longrun_heartbeat scenario kind: defaults, the shipped files, and bad input as one clean error (exit 2)."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.planning import load_plan, load_scenario
from harness.scenarios.longrun_heartbeat import LongrunHeartbeatScenario
from tests.conftest import REPO, write


def test_defaults_of_a_minimal_scenario(tmp_path):
    scenario = load_scenario(write(tmp_path / "s.yaml", "name: s\nkind: longrun_heartbeat\n"))
    assert isinstance(scenario, LongrunHeartbeatScenario)
    assert (scenario.workflow, scenario.input, scenario.id_prefix, scenario.workflows) == (None, None, None, 2)
    assert (scenario.long_activity_bound, scenario.kill_after, scenario.restart_after) == (10.0, 3.0, 1.0)
    assert (scenario.margin, scenario.detection_timeout, scenario.max_heartbeat_ratio) == (5.0, 60.0, 5.0)


def test_shipped_scenario_runs_the_export_and_both_apps_name_it():
    scenario = load_scenario(REPO / "scenarios/longrun-heartbeat.yaml")
    assert scenario.workflow == "ExportWorkflow" and scenario.input == {"export_id": "E-{i}", "seconds": 15}
    assert "longrun-heartbeat" in [s.name for s in load_plan(REPO / "readiness.yaml").scenarios]
    flawed = load_plan(REPO / "sample_workflows/flawed/silent_export.yaml")
    assert [s.name for s in flawed.scenarios] == ["longrun-heartbeat"] and flawed.config.task_queue == "exports-silent"


@pytest.mark.parametrize(
    ("body", "key_path", "fragment"),
    [
        ("input: {seconds: 15}\n", "input", "`input` needs `workflow`"),
        ("margin: 10s\ndetection_timeout: 10s\n", "detection_timeout", "expected more than `restart_after` + `margin` (11s)"),
        ("margin: 90s\n", "detection_timeout", "expected more than `restart_after` + `margin` (91s)"),
        ("workflows: 0\n", "workflows", "greater than or equal to 1"),
        ("long_activity_bound: 0\n", "long_activity_bound", "greater than 0"),
        ("kill_after: soon\n", "kill_after", "duration"),
        ("max_heartbeat_ratio: 1\n", "max_heartbeat_ratio", "greater than 1"),
        ("id_prefix: 'bad prefix'\n", "id_prefix", "should match pattern"),
        ("heartbeat_timeout: 5s\n", "heartbeat_timeout", "unknown key (expected one of: description, detection_timeout"),
    ],
)
def test_bad_scenario_names_file_key_path_and_expectation(tmp_path, body, key_path, fragment):
    path = write(tmp_path / "s.yaml", "name: s\nkind: longrun_heartbeat\n" + body)
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    error = caught.value
    assert (error.file, error.key_path, error.exit_code) == (str(path), key_path, 2)
    assert fragment in error.detail and "\n" not in str(error)
