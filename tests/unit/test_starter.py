"""`readiness init`'s reading of workflow code (no import) and the starter files it writes, on apps of several shapes:
the order app (signals, an update, a long heartbeating activity, a month-long timer), the batch app (child workflows,
a local activity, a sync activity, continue-as-new, an update) and the tutorial-shaped fixtures."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from harness.cli import main
from harness.config.models import ReadinessConfig
from harness.starter.facts import discover
from harness.starter.render import starter_files
from tests.conftest import REPO, write

ORDER_MODULES = ["sample_workflows.orders", "sample_workflows.exports", "sample_workflows.approvals", "sample_workflows.subscriptions"]


def by_type(facts):
    return {w.type_name: w for w in facts.workflows}


def test_the_order_apps_handlers_inputs_timers_and_activity_definitions_are_read_from_source():
    workflows = by_type(discover(ORDER_MODULES, REPO))
    approvals = workflows["ApprovalWorkflow"]
    assert [(h.kind, h.name) for h in approvals.handlers] == [("signal", "approve"), ("signal", "cancel"), ("update", "amend"), ("query", "state")]
    assert approvals.handlers[2].args[0].value == 1  # amend(amount_cents: int)
    assert approvals.run_input.value == {"request_id": "request_id-{i}", "amount_cents": 0, "decision_timeout_seconds": 60.0}
    subscription = workflows["SubscriptionWorkflow"]
    [timer] = subscription.timers
    assert timer.seconds is None and timer.days_long and timer.where == "sample_workflows/subscriptions.py:83"
    assert subscription.longest_timer_days == 0  # computed from the input: day-long, length unknown
    assert workflows["OrderWorkflow"].longest_timer_days is None
    export = workflows["ExportWorkflow"]
    assert [(s.name, s.bounds, s.definition) for s in export.call_sites] == [
        ("export_orders", (0.0, 600.0, 5.0), "sample_workflows.exports:export_orders")
    ]


def test_the_batch_apps_children_local_and_sync_activities_are_found():
    facts = discover(["sample_workflows.batch.workflows"], REPO)
    workflows = by_type(facts)
    assert set(workflows) == {"BatchWorkflow", "ChunkWorkflow"}
    kinds = {(s.kind, s.name) for w in facts.workflows for s in w.call_sites}
    assert kinds == {("child_workflow", "ChunkWorkflow"), ("local_activity", "reserve_quota"), ("activity", "transform_chunk")}
    assert facts.activity_definitions == ("sample_workflows.batch.activities:reserve_quota", "sample_workflows.batch.activities:transform_chunk")
    batch = workflows["BatchWorkflow"]
    assert [(h.kind, h.name) for h in batch.handlers] == [("signal", "tag"), ("update", "resize"), ("query", "progress")]  # the validator is no handler
    assert batch.run_input.value["batch_id"] == "batch_id-{i}" and batch.run_input.value["items"] == 40
    assert not batch.waits_forever  # it waits for its handlers only after the children: a plain start ends by itself
    files = starter_files(facts, ["sample_workflows.batch.workflows"], REPO, REPO / "readiness.yaml")
    [entry] = yaml.safe_load(files.config)["workload"]
    assert entry["workflow"] == "BatchWorkflow" and "ChunkWorkflow" not in files.config.split("workload:")[1]  # not its child
    assert list(files.scenarios) == ["worker-restart", "schedule-to-start", "signals-concurrent"]


def test_the_starter_picks_scenarios_from_what_the_code_shows(tmp_path):
    facts = discover(ORDER_MODULES, REPO)
    files = starter_files(facts, ORDER_MODULES, REPO, tmp_path / "readiness.yaml")
    assert list(files.scenarios) == [
        "worker-restart", "schedule-to-start", "signals-concurrent-orderworkflow", "signals-concurrent-approvalworkflow",
        "signals-concurrent-subscriptionworkflow", "longrun-heartbeat", "longrun-time-skip",
    ]
    config = yaml.safe_load(files.config)
    [entry] = config["workload"]
    assert entry["workflow"] == "OrderWorkflow" and entry["share"] == 1  # ends by itself: no day-long timer
    suggested = [line.split("workflow: ")[1] for line in files.config.splitlines() if line.startswith("  # - workflow: ")]
    assert suggested == ["ExportWorkflow", "ApprovalWorkflow", "SubscriptionWorkflow"]  # the other entry points, commented
    uncommented = yaml.safe_load(files.config.replace("\n  # - ", "\n  - ").replace("\n  #   ", "\n    "))
    assert [w.workflow for w in ReadinessConfig.model_validate(uncommented).workload][1:] == suggested
    assert (tmp_path / config["app"]["path"]).resolve() == REPO  # relative to the config's folder
    assert config["scenarios"] == list(files.scenarios)
    approvals = yaml.safe_load(files.scenarios["signals-concurrent-approvalworkflow"])
    assert approvals["combinations"] == [
        ["approve", "cancel"], ["approve", {"update": "amend", "args": [1]}], ["cancel", {"update": "amend", "args": [1]}],
        ["approve", "approve"], ["cancel", "cancel"],
    ]
    assert approvals["queries"] == ["state"] and "delivered_signals == sent_signals" in approvals["invariants"]
    heartbeat = yaml.safe_load(files.scenarios["longrun-heartbeat"])
    assert heartbeat["workflow"] == "ExportWorkflow" and heartbeat["long_activity_bound"] == "60s"
    skip = yaml.safe_load(files.scenarios["longrun-time-skip"])
    assert skip["workflow"] == "SubscriptionWorkflow" and skip["timeline"][1] == {"restart_workers": True}
    assert "TODO" in files.config and any("task_queue" in t for t in files.todos)


def test_a_tutorial_app_gets_the_two_scenarios_every_app_needs(tmp_path):
    root = REPO / "tests/fixtures/apps"
    files = starter_files(discover(["greeting.workflows"], root), ["greeting.workflows"], root, tmp_path / "r.yaml")
    assert list(files.scenarios) == ["worker-restart", "schedule-to-start"]
    config = yaml.safe_load(files.config)
    assert config["workload"] == [{"workflow": "GreetingWorkflow", "id_prefix": "greetingworkflow", "inputs": ["name-{i}"], "share": 1}]
    assert "other entry points" not in files.config
    assert config["workers"][0]["python"]["activities"] == ["greeting.activities:compose_greeting"]


def test_init_writes_files_that_validate_and_refuses_to_overwrite(tmp_path):
    app = tmp_path / "app"
    write(app / "shop/__init__.py", "")
    write(app / "shop/flows.py", (REPO / "tests/fixtures/apps/greeting/workflows.py").read_text().replace("greeting.", "shop."))
    write(app / "shop/activities.py", (REPO / "tests/fixtures/apps/greeting/activities.py").read_text())
    runner = CliRunner()
    result = runner.invoke(main, ["init", "shop.flows", "--root", str(app), "--out", str(app / "readiness.yaml")])
    assert result.exit_code == 0, result.output
    assert (app / "scenarios/worker-restart.yaml").is_file() and "next: readiness run --config" in result.output
    validated = runner.invoke(main, ["validate", str(app / "readiness.yaml"), *map(str, (app / "scenarios").glob("*.yaml"))])
    assert validated.exit_code == 0, validated.output
    before = (app / "readiness.yaml").read_text()
    again = runner.invoke(main, ["init", "shop.flows", "--root", str(app), "--out", str(app / "readiness.yaml")])
    assert again.exit_code == 2 and "already exist" in again.output and (app / "readiness.yaml").read_text() == before
    forced = runner.invoke(main, ["init", "shop.flows", "--root", str(app), "--out", str(app / "readiness.yaml"), "--force"])
    assert forced.exit_code == 0, forced.output


def test_init_on_code_without_workflows_or_a_missing_module_is_one_error_and_writes_nothing(tmp_path):
    write(tmp_path / "plain.py", "def f():\n    return 1\n")
    runner = CliRunner()
    for module, expected in (("plain", "no @workflow.defn class"), ("missing.mod", "module missing.mod not found")):
        result = runner.invoke(main, ["init", module, "--root", str(tmp_path), "--out", str(tmp_path / "r.yaml")])
        assert result.exit_code == 2 and expected in result.output, result.output
    assert not (tmp_path / "r.yaml").exists() and not (tmp_path / "scenarios").exists()
