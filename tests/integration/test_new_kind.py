"""A new scenario kind is one module and one registry line: this module is the whole kind (spec, run, check), and
`KINDS.with_kinds(KIND)` is its registry line. Everything else (YAML lookup, reference checks, JSON Schema, the
protected-profile refusal, the runner's dispatch, the check id a waiver may name) comes from the registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest
import yaml
from pydantic import Field

from harness import runner
from harness.config.references import References
from harness.config.scenarios import StartsItsOwnWorkflows
from harness.errors import ConfigError
from harness.observe.model import WorkflowRecord
from harness.planning import json_schemas, load_plan, load_scenario, validate_file
from harness.profiles import Profile
from harness.scenarios import steps
from harness.scenarios.base import ScenarioContext
from harness.scenarios.kind import ScenarioCheck, ScenarioKind
from harness.scenarios.registry import KINDS
from harness.scorecard.model import CheckResult, Status
from tests.conftest import REPO, relocated, write

pytestmark = pytest.mark.integration
CHECK_ID = "test.all_closed"


class AllCloseScenario(StartsItsOwnWorkflows):
    """Start workflows and wait: every one must complete."""

    kind: Literal["test_all_close"]
    workflows: int = Field(2, ge=1, le=10)
    timeout: float = Field(60.0, gt=0)


def validate(scenario: AllCloseScenario, refs: References) -> None:
    limit = min(w.execution_timeout for w in refs.config.workload_of(scenario.workflow))
    if scenario.timeout > limit:
        refs.fail("timeout", f"longer than the workflows' execution timeout ({limit:.0f}s)")


@dataclass(frozen=True)
class AllCloseObservations:
    workflows: tuple[WorkflowRecord, ...]
    """A `workflows` field puts them in the scorecard's per-workflow-type view."""
    still_open: tuple[str, ...]


async def run(ctx: ScenarioContext, scenario: AllCloseScenario) -> AllCloseObservations:
    ids = await steps.start_own_workflows(ctx, scenario, scenario.workflows)
    still_open = await steps.wait_closed(ctx, ids, scenario.timeout)
    _, records = await steps.collect_histories(ctx, ids)
    return AllCloseObservations(records, tuple(still_open))


def all_closed(obs: AllCloseObservations, spec: AllCloseScenario, config: object) -> CheckResult:
    done = sum(r.status == "COMPLETED" for r in obs.workflows)
    status = Status.PASS if done == spec.workflows and not obs.still_open else Status.FAIL
    return CheckResult(id=CHECK_ID, scenario=spec.name, failure_mode="workflows that never finish", status=status,
                       summary=f"{done} of {spec.workflows} workflows completed.")


KIND = ScenarioKind(
    name="test_all_close", spec=AllCloseScenario, run=run, checks=(ScenarioCheck(CHECK_ID, all_closed),),
    effect="starts workflows", validate=validate,
)
WITH_TEST_KIND = KINDS.with_kinds(KIND)


@pytest.fixture
def config_with_the_kind(tmp_path):
    scenarios = tmp_path / "scenarios"
    write(scenarios / "all-close.yaml", "name: all-close\nkind: test_all_close\nworkflows: 2\n")
    write(scenarios / "wrong-workflow.yaml", "name: wrong-workflow\nkind: test_all_close\nworkflow: NoSuchWorkflow\n")
    write(scenarios / "too-patient.yaml", "name: too-patient\nkind: test_all_close\ntimeout: 100000\n")
    data = {**relocated(REPO / "readiness.yaml"), "scenarios": ["all-close"], "scenarios_dir": str(scenarios)}
    data["workload"] = {**data["workload"], "inputs": [{**data["workload"]["inputs"][0], "shipping_delay_seconds": 0}]}
    data.pop("alerts")
    return write(tmp_path / "readiness.yaml", yaml.safe_dump(data)), scenarios


def test_the_registry_line_is_all_the_loader_schema_and_waivers_need(config_with_the_kind):
    config, scenarios = config_with_the_kind
    with pytest.raises(ConfigError, match="expected one of: .*non_retryable"):
        load_scenario(scenarios / "all-close.yaml")  # not registered: unknown kind
    assert isinstance(load_scenario(scenarios / "all-close.yaml", WITH_TEST_KIND), AllCloseScenario)
    assert validate_file(scenarios / "all-close.yaml", WITH_TEST_KIND) == "scenario"
    assert "test_all_close" in [s["properties"]["kind"]["const"] for s in json_schemas(WITH_TEST_KIND)["scenario"]["oneOf"]]
    assert CHECK_ID in WITH_TEST_KIND.known_check_ids() and CHECK_ID not in KINDS.known_check_ids()
    with pytest.raises(ConfigError) as caught:
        load_plan(config, ["wrong-workflow"], kinds=WITH_TEST_KIND)
    assert caught.value.key_path == "workflow" and "wrong-workflow.yaml" in str(caught.value)  # every kind that starts workflows
    with pytest.raises(ConfigError) as caught:
        load_plan(config, ["too-patient"], kinds=WITH_TEST_KIND)  # the kind's own validate
    assert caught.value.key_path == "timeout" and "too-patient.yaml" in str(caught.value)
    with pytest.raises(ValueError, match="registered twice"):
        WITH_TEST_KIND.with_kinds(KIND)


def test_a_protected_profile_refuses_the_new_kind_with_its_effect(config_with_the_kind, tmp_path):
    config, _ = config_with_the_kind
    plan = load_plan(config, kinds=WITH_TEST_KIND)
    protected = Profile("production", address="127.0.0.1:1", protected=True)
    with pytest.raises(ConfigError, match=r"all-close \(starts workflows\)"):
        runner.preflight(plan, runner.RunOptions(out_dir=tmp_path / "out", profile=protected, kinds=WITH_TEST_KIND))


async def test_the_runner_runs_the_new_kind_and_judges_it_with_its_check(config_with_the_kind, tmp_path):
    config, _ = config_with_the_kind
    plan = load_plan(config, kinds=WITH_TEST_KIND)
    card = await runner.execute(plan, runner.RunOptions(out_dir=tmp_path / "out", kinds=WITH_TEST_KIND))
    assert [s.kind for s in card.scenarios] == ["test_all_close"] and card.scenarios[0].status == "completed"
    [check] = [c for c in card.checks if c.id == CHECK_ID]
    assert check.status == Status.PASS and check.summary == "2 of 2 workflows completed."
    assert [t.workflow_type for t in card.workflow_types] == ["OrderWorkflow"] and card.workflow_types[0].completed == 2
    assert len(list((tmp_path / "out" / "histories").glob("*.json"))) == 2
