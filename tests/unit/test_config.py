"""Config and scenario validation: good files load, every kind of bad input gives one clean ConfigError."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.config import load_config
from harness.config.models import ReadinessConfig, parse_duration
from harness.errors import ConfigError
from harness.planning import load_plan, load_scenario, validate_file
from harness.scenarios.registry import KINDS
from harness.scenarios.worker_restart import WorkerRestartScenario
from tests.conftest import REPO, write

MINIMAL = """
app: {name: shop}
task_queue: q
workers:
  - name: w
    python: {workflows: ["shop.wf:Flow"]}
workload: {workflow: Flow}
"""


def test_shipped_configs_and_scenarios_are_valid():
    files = [REPO / "readiness.yaml", *sorted((REPO / "scenarios").glob("*.yaml")), *sorted((REPO / "sample_workflows").rglob("*.yaml"))]
    assert len(files) >= 3
    for path in files:
        assert validate_file(path) in (("waivers",) if path.parent.name == "waivers" else ("config", "scenario"))


def test_default_plan_resolves_paths_and_scenarios():
    plan = load_plan(REPO / "readiness.yaml")
    assert plan.app_path == REPO
    assert [s.name for s in plan.scenarios] == [
        "worker-restart", "retry-outage", "retry-lost-answers", "non-retryable", "schedule-to-start", "longrun-heartbeat", "signals-concurrent", "longrun-time-skip",
    ]
    assert plan.config.load.peak_rate == 3 and plan.config.retry.business_errors == ["PaymentDeclined", "InvalidOrder"]
    assert plan.config.workers[0].python.workflows == [
        "sample_workflows.orders:OrderWorkflow", "sample_workflows.exports:ExportWorkflow",
        "sample_workflows.approvals:ApprovalWorkflow", "sample_workflows.subscriptions:SubscriptionWorkflow",
    ]


def test_flawed_plan_points_at_the_shared_scenarios():
    plan = load_plan(REPO / "sample_workflows/flawed/local_state.yaml")
    assert plan.app_path == REPO
    assert plan.scenarios[0].kind == "worker_restart"


def test_minimal_config_gets_defaults(tmp_path):
    config = load_config(write(tmp_path / "r.yaml", MINIMAL))
    assert config.target.kind == "embedded" and config.target.namespace == "default"
    assert config.scenarios == ["worker-restart"]
    assert config.workers[0].count == 1


@pytest.mark.parametrize(
    ("text", "key_path", "fragment"),
    [
        (MINIMAL.replace("task_queue: q\n", ""), "task_queue", "required key is missing"),
        (MINIMAL + "colour: red\n", "colour", "unknown key (expected one of: alerts, app, audit, dependencies"),
        (MINIMAL.replace("name: w", "name: w\n    cuont: 2"), "workers[0].cuont", "unknown key (expected one of: command, count, env, name, python)"),
        (MINIMAL.replace("name: w", "name: w\n    count: many"), "workers[0].count", "valid integer"),
        (MINIMAL.replace("name: w", "name: w\n    count: 99"), "workers[0].count", "less than or equal to 16"),
        (MINIMAL.replace('"shop.wf:Flow"', '"shop.wf.Flow"'), "workers[0].python.workflows[0]", "should match pattern"),
        (MINIMAL + "target: {kind: existing}\n", "target.address", "required key is missing"),
        (MINIMAL + "target: {kind: existing, address: nope}\n", "target.address", "should match pattern"),
        (MINIMAL + "target: {kind: cloud}\n", "target", "does not match any of the expected tags"),
        (MINIMAL.replace("python: {workflows: [\"shop.wf:Flow\"]}", "env: {}"), "workers[0]", "exactly one of `python` or `command`"),
        (MINIMAL.replace("workload: {workflow: Flow}", "workload: {workflow: Flow, execution_timeout: soon}"), "workload.execution_timeout", "duration"),
        (MINIMAL + "target: {kind: embedded, bogus: 1}\n", "target.bogus", "expected one of: kind, namespace, temporal_cli)"),
        (MINIMAL.replace("workload: {workflow: Flow}", "workload: [{workflow: Flow}, {workflow: Bulk, share: 0}]"), "workload[1].share", "greater than 0"),
        (MINIMAL.replace("workload: {workflow: Flow}", "workload: [{workflow: Flow, wat: 1}]"), "workload[0].wat", "expected one of: execution_timeout, id_prefix, inputs, share, workflow)"),
        (MINIMAL.replace("workload: {workflow: Flow}", "workload: {workflow: Flow, wat: 1}"), "workload.wat", "expected one of: execution_timeout"),
        (MINIMAL.replace("workload: {workflow: Flow}", "workload: [{workflow: Flow}, {workflow: Flow}]"), "workload", "repeated: Flow"),
        (MINIMAL.replace("workload: {workflow: Flow}", "workload: []"), "workload", "at least 1 item"),
    ],
)
def test_bad_config_names_file_key_path_and_expectation(tmp_path, text, key_path, fragment):
    path = write(tmp_path / "r.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert error.file == str(path)
    assert error.key_path == key_path
    assert fragment in error.detail
    assert error.exit_code == 2
    assert "\n" not in str(error)


def test_a_workload_is_one_workflow_type_or_a_list_of_them_with_shares(tmp_path):
    one = load_config(write(tmp_path / "one.yaml", MINIMAL))
    assert [(w.workflow, w.share) for w in one.workload] == [("Flow", 1.0)]
    mix = load_config(write(tmp_path / "mix.yaml", MINIMAL.replace(
        "workload: {workflow: Flow}", "workload:\n  - {workflow: Flow, share: 3}\n  - {workflow: Bulk, inputs: ['b-{i}'], id_prefix: bulk}\n"
    )))
    assert [(w.workflow, w.share, w.id_prefix) for w in mix.workload] == [("Flow", 3.0, "readiness"), ("Bulk", 1.0, "bulk")]
    assert [w.workflow for w in mix.workload_of("Bulk")] == ["Bulk"] and mix.workload_of(None) == mix.workload
    assert mix.workload_of("Other") == []


def test_broken_yaml_reports_line_and_column(tmp_path):
    path = write(tmp_path / "r.yaml", "app:\n  name: [shop\ntask_queue: q\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:3:")
    assert "invalid YAML" in str(caught.value)


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(write(tmp_path / "list.yaml", "- a\n- b\n"))


def test_scenario_kind_and_keys_are_checked(tmp_path):
    good = "name: s\nkind: worker_restart\nworkflows: 3\ncompletion_timeout: 2m\n"
    scenario = load_scenario(write(tmp_path / "s.yaml", good))
    assert isinstance(scenario, WorkerRestartScenario) and scenario.completion_timeout == 120.0
    with pytest.raises(ConfigError) as caught:
        load_scenario(write(tmp_path / "k.yaml", "name: s\nkind: chaos_monkey\n"))
    assert caught.value.key_path == "kind" and "worker_restart" in caught.value.detail
    with pytest.raises(ConfigError) as caught:
        load_scenario(write(tmp_path / "x.yaml", good + "kill_signal: SIGFOO\n"))
    assert caught.value.key_path == "kill_signal" and "SIGKILL" in caught.value.detail and '"SIGFOO"' in caught.value.detail


def test_plan_rejects_unknown_scenario_and_missing_app_path(tmp_path):
    write(tmp_path / "scenarios/worker-restart.yaml", "name: worker-restart\nkind: worker_restart\n")
    config = write(tmp_path / "r.yaml", MINIMAL)
    assert load_plan(config).scenarios[0].name == "worker-restart"
    with pytest.raises(ConfigError, match="no scenario named 'nope'.*available: worker-restart"):
        load_plan(config, ["nope"])
    with pytest.raises(ConfigError) as caught:
        load_plan(write(tmp_path / "r2.yaml", MINIMAL.replace("app: {name: shop}", "app: {name: shop, path: missing}")))
    assert caught.value.key_path == "app.path" and "does not exist" in caught.value.detail


def test_scenario_file_name_must_match_its_name(tmp_path):
    write(tmp_path / "scenarios/worker-restart.yaml", "name: other\nkind: worker_restart\n")
    with pytest.raises(ConfigError) as caught:
        load_plan(write(tmp_path / "r.yaml", MINIMAL))
    assert caught.value.key_path == "name"


def test_duplicate_worker_names_are_rejected(tmp_path):
    text = MINIMAL.replace("workers:\n", "workers:\n  - {name: w, command: [run]}\n")
    with pytest.raises(ConfigError, match="names must be unique, repeated: w"):
        load_config(write(tmp_path / "r.yaml", text))


@pytest.mark.parametrize(("raw", "seconds"), [("500ms", 0.5), ("30s", 30), ("2m", 120), ("1h", 3600), (5, 5.0), ("1.5", 1.5)])
def test_durations(raw, seconds):
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize("raw", ["soon", "-1s", True, None, "5 days", [1]])
def test_bad_durations(raw):
    with pytest.raises(ValueError):
        parse_duration(raw)


def test_json_schema_covers_both_file_kinds():
    from harness.planning import json_schemas

    schemas = json_schemas()
    assert schemas["config"]["additionalProperties"] is False
    assert set(schemas["config"]["required"]) >= {"app", "task_queue", "workers", "workload"}
    kinds = [s["properties"]["kind"]["const"] for s in schemas["scenario"]["oneOf"]]
    assert kinds == KINDS.names


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100) | st.floats() | st.text(max_size=12)
    | st.sampled_from(["30s", "SIGKILL", "embedded", "existing", "worker_restart", "x:y", "a\0b", "1e999s"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(
        st.sampled_from(["app", "name", "path", "task_queue", "workers", "workload", "workflow", "python", "workflows", "count",
                         "kind", "target", "address", "scenarios", "scenarios_dir", "inputs", "completion_timeout", "extra"]),
        children,
        max_size=5,
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=yaml_values)
def test_any_input_gives_a_config_or_one_clean_error(tmp_path, data):
    text = yaml.safe_dump(data)
    for name, loader in (("fuzz.yaml", load_plan), ("fuzz-scenario.yaml", load_scenario)):
        try:
            loader(write(tmp_path / name, text))
        except ConfigError as error:
            assert error.exit_code == 2 and str(error) and "\n" not in str(error)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=80))
def test_any_text_gives_a_scenario_or_one_clean_error(tmp_path, text):
    path = Path(tmp_path / "fuzz-scenario.yaml")
    path.write_text(text, encoding="utf-8")
    try:
        load_scenario(path)
    except ConfigError as error:
        assert error.exit_code == 2 and str(error)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (MINIMAL + "task_queue: other\n", "duplicate key 'task_queue'"),
        (MINIMAL.replace("app: {name: shop}", "app: {name: shop, path: \"a\\0b\"}"), "app.path"),
    ],
)
def test_duplicate_keys_and_unusable_paths_are_clean_errors(tmp_path, text, fragment):
    path = write(tmp_path / "r.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_plan(path)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("kind", ["[a]", "{x: 1}", "7", "null"])
def test_non_string_scenario_kind_is_a_clean_error(tmp_path, kind):
    with pytest.raises(ConfigError) as caught:
        load_scenario(write(tmp_path / "s.yaml", f"name: s\nkind: {kind}\n"))
    assert caught.value.key_path == "kind"


@pytest.mark.parametrize("raw", [".inf", ".nan", "1.0e+300", "366d"])
def test_unbounded_durations_are_rejected(tmp_path, raw):
    with pytest.raises(ConfigError) as caught:
        load_scenario(write(tmp_path / "s.yaml", f"name: s\nkind: worker_restart\ncompletion_timeout: {raw}\n"))
    assert caught.value.key_path == "completion_timeout"


def test_python_invariants_and_worker_kinds_are_checked_before_anything_starts(tmp_path):
    shutil.copytree(REPO / "scenarios", tmp_path / "scenarios")
    config = yaml.safe_load((REPO / "readiness.yaml").read_text())
    config["app"]["path"] = str(REPO)
    config_path = write(tmp_path / "readiness.yaml", yaml.safe_dump(config))
    signals = tmp_path / "scenarios/signals-concurrent.yaml"
    signals.write_text(signals.read_text() + "check: sample_workflows.approvals:no_such_function\n")
    with pytest.raises(ConfigError) as caught:
        load_plan(config_path, only=["signals-concurrent"])
    assert (caught.value.file, caught.value.key_path) == (str(signals), "check") and "no_such_function" in caught.value.detail
    assert caught.value.exit_code == 2

    config["workers"].append({"name": "go-worker", "command": ["./worker"]})
    config_path = write(tmp_path / "readiness.yaml", yaml.safe_dump(config))
    with pytest.raises(ConfigError) as caught:
        load_plan(config_path, only=["longrun-time-skip"])
    assert caught.value.key_path == "kind" and "go-worker is an external command" in caught.value.detail
    assert caught.value.file.endswith("longrun-time-skip.yaml")


def test_the_readmes_complete_config_example_is_a_valid_config():
    readme = (REPO / "README.md").read_text()
    start = readme.index("```yaml", readme.index("A complete config, edited by hand")) + len("```yaml")
    config = ReadinessConfig.model_validate(yaml.safe_load(readme[start:readme.index("```", start)]))
    assert [(w.workflow, w.share) for w in config.workload] == [("InvoiceWorkflow", 4.0), ("RefundWorkflow", 1.0)]
    assert config.workers[0].python.workflows[-1] == "billing.workflows:RefundWorkflow"
