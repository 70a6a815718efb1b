"""What a scenario starts: the config's workload by share, one type of it with its inputs, or a type of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.models import ReadinessConfig
from harness.config.references import References
from harness.errors import ConfigError
from harness.scenarios.retry_outage import RetryOutageScenario
from harness.scenarios.worker_restart import WorkerRestartScenario
from harness.workload import pick, starts_of

CONFIG = ReadinessConfig.model_validate({
    "app": {"name": "shop"}, "task_queue": "q", "workers": [{"name": "w", "command": ["x"]}],
    "workload": [
        {"workflow": "Orders", "inputs": ["o-{i}"], "share": 3, "id_prefix": "orders", "execution_timeout": 60},
        {"workflow": "Refunds", "share": 1, "execution_timeout": 30},
    ],
})


def restart(**fields) -> WorkerRestartScenario:
    return WorkerRestartScenario.model_validate({"name": "restart", "kind": "worker_restart", **fields})


def test_without_a_workflow_a_scenario_starts_every_type_of_the_workload_by_share():
    starts = starts_of(CONFIG, restart())
    assert [(s.workflow, s.inputs, s.execution_timeout_s, s.share) for s in starts] == [
        ("Orders", ["o-{i}"], 60.0, 3.0), ("Refunds", [], 30.0, 1.0),
    ]
    picked = [pick(starts, i).workflow for i in range(40)]
    assert abs(picked.count("Orders") - 30) <= 2 and {"Orders", "Refunds"} == set(picked[:4])
    assert [s.id_prefix for s in starts] == ["orders", "readiness"]  # each entry's own


def test_a_type_of_the_workload_keeps_its_inputs_timeout_and_prefix_unless_the_scenario_gives_its_own():
    [refunds] = starts_of(CONFIG, restart(workflow="Refunds"))
    assert (refunds.workflow, refunds.args(4), refunds.execution_timeout_s) == ("Refunds", [], 30.0)
    assert refunds.id_prefix == "readiness"
    [own] = starts_of(CONFIG, restart(workflow="Orders", input={"id": "x-{i}"}, id_prefix="mine"))
    assert own.args(7) == [{"id": "x-7"}] and own.execution_timeout_s == 60.0
    assert own.id_prefix == "mine"


def test_a_type_outside_the_workload_needs_its_input_even_when_that_is_none():
    refs = References(CONFIG, Path("scenarios/restart.yaml"), Path("."))
    with pytest.raises(ConfigError) as caught:
        refs.workload(restart(workflow="Ordres"))
    assert caught.value.key_path == "workflow" and "Orders, Refunds" in caught.value.detail
    assert "scenarios/restart.yaml" in str(caught.value)
    refs.workload(restart(workflow="Ping", input=None))  # explicitly no argument
    [ping] = starts_of(CONFIG, restart(workflow="Ping", input=None))
    assert ping.args(0) == [] and ping.execution_timeout_s == 60.0
    refs.workload(restart(workflow="Refunds"))
    with pytest.raises(ValueError, match="`input` needs `workflow`"):
        restart(input=None)


def test_load_scenarios_pick_a_type_too():
    outage = RetryOutageScenario.model_validate(
        {"name": "o", "kind": "retry_outage", "fault": {"dependency": "db", "kind": "down"}, "workflow": "Refunds"}
    )
    assert [s.workflow for s in starts_of(CONFIG, outage)] == ["Refunds"]
