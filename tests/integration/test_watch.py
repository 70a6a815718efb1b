"""`readiness watch` reads a live namespace (a dev server this module starts) where the sample app's order workflow
completed, failed on a declined payment, and a workflow is stuck on a failing workflow task."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import yaml
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from harness.config.models import EmbeddedTarget
from harness.environment import Environment
from sample_workflows.activities import ACTIVITIES
from sample_workflows.models import Order
from sample_workflows.orders import OrderWorkflow
from tests.conftest import REPO, relocated, write
from tests.fixtures.watch.stuck import STUCK_MESSAGE, StuckWorkflow
from tests.integration.conftest import payment_service, wait_for

pytestmark = pytest.mark.integration
READINESS = str(Path(sys.executable).parent / "readiness")
COMPLETED, DECLINED = 6, 2
DECLINED_CENTS = 2_000_000  # the sample payment service declines amounts above 1,000,000 cents


async def cli(*args: str, history_db: Path, command: str = "watch") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        READINESS, command, *args, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}, "COLUMNS": "200", "READINESS_HISTORY_DB": str(history_db)},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    return proc.returncode, out.decode(), err.decode()


def config(tmp_path: Path, name: str, watch: dict, profiles: dict | None = None) -> Path:
    data = relocated(REPO / "readiness.yaml")
    data["watch"] = watch
    data["profiles"] = profiles or {}
    data["alerts"]["workflow_types"]["StuckWorkflow"] = {"owner": "orders-team", "runbook": str(REPO / "sample_workflows/runbooks/orders.md")}
    return write(tmp_path / f"{name}.yaml", yaml.safe_dump(data))


@pytest_asyncio.fixture(scope="module")
async def live(tmp_path_factory):
    """A dev server with the order app's traffic: completed orders, declined payments, one stuck workflow."""
    folder = tmp_path_factory.mktemp("watch-server")
    async with (
        payment_service(),
        Environment.dev_server(EmbeddedTarget(namespace="orders-live"), folder / "server.log", dict(os.environ)) as environment,
    ):
        target, client = environment.target, environment.client
        queue = f"orders-{uuid.uuid4().hex[:6]}"
        async with (
            Worker(client, task_queue=queue, workflows=[OrderWorkflow], activities=ACTIVITIES),
            Worker(client, task_queue=f"{queue}-stuck", workflows=[StuckWorkflow]),
        ):
            ids = await _traffic(client, queue)
            yield target, client, ids


async def _traffic(client: Client, queue: str) -> dict[str, list[str]]:
    def order(i: int, cents: int) -> Order:
        return Order(order_id=f"W-{i}", customer="acme", amount_cents=cents, items=1, shipping_delay_seconds=0.2)

    handles = [
        await client.start_workflow(OrderWorkflow.run, order(i, 4200 if i < COMPLETED else DECLINED_CENTS), id=f"{queue}-order-{i}",
                                    task_queue=queue, execution_timeout=timedelta(minutes=2))
        for i in range(COMPLETED + DECLINED)
    ]
    stuck = await client.start_workflow(StuckWorkflow.run, id=f"{queue}-stuck", task_queue=f"{queue}-stuck")
    outcomes = await asyncio.gather(*(h.result() for h in handles), return_exceptions=True)
    assert sum(isinstance(o, WorkflowFailureError) for o in outcomes) == DECLINED, outcomes

    async def task_failed() -> bool:
        history = await stuck.fetch_history()
        return any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events)

    async def visible() -> bool:  # visibility is eventually consistent
        runs = [w async for w in client.list_workflows(f"TaskQueue = '{queue}' AND ExecutionStatus != 'Running'")]
        return len(runs) == COMPLETED + DECLINED

    await wait_for(task_failed, "the stuck workflow's task to fail")
    await wait_for(visible, "visibility to list every closed order")
    return {"completed": [h.id for h in handles[:COMPLETED]], "declined": [h.id for h in handles[COMPLETED:]], "stuck": [stuck.id]}


STRICT = {"max_failure_rate": 0.01, "max_stuck": 0, "min_runs": 3, "latency_p99": {"default": "5m"}}
LENIENT = {"max_failure_rate": 0.5, "max_stuck": 1, "min_runs": 3, "latency_p99": {"default": "5m", "OrderWorkflow": "60s"}}


async def test_strict_thresholds_are_no_go_with_counts_classes_and_the_stuck_workflow(live, tmp_path):
    target, _client, ids = live
    out = tmp_path / "strict"
    code, stdout, stderr = await cli(
        "--config", str(config(tmp_path, "strict", STRICT)), "--address", target.address, "--namespace", target.namespace,
        "--since", "10m", "--out", str(out), history_db=tmp_path / "history.db",
    )
    assert code == 1, stdout + stderr
    card = json.loads((out / "scorecard.json").read_text())
    assert card["verdict"] == "NO-GO" and card["run"]["command"] == "watch" and card["scenarios"] == []
    checks = {c["id"]: c for c in card["checks"]}
    assert list(checks) == ["watch.failure_rate", "watch.latency", "watch.stuck", "retry.policy", "alerts.static", "alerts.runbooks"]
    assert {k: c["status"] for k, c in checks.items()} == {
        "watch.failure_rate": "FAIL", "watch.latency": "WARN", "watch.stuck": "FAIL", "retry.policy": "PASS",
        "alerts.static": "WARN", "alerts.runbooks": "PASS",
    }
    assert checks["watch.failure_rate"]["subjects"] == ["workflow_type:OrderWorkflow"]
    assert checks["watch.stuck"]["subjects"] == ["workflow_type:StuckWorkflow"]

    rows = {r["workflow_type"]: r for r in checks["watch.failure_rate"]["evidence"]["workflow_types"]}
    orders = rows["OrderWorkflow"]
    assert (orders["started"], orders["completed"], orders["failed"], orders["open"]) == (COMPLETED + DECLINED, COMPLETED, DECLINED, 0)
    assert orders["failure_rate"] == round(DECLINED / (COMPLETED + DECLINED), 4) and orders["status"] == "FAIL"
    assert (rows["StuckWorkflow"]["open"], rows["StuckWorkflow"]["status"]) == (1, "NO_DATA")

    types = {t["workflow_type"]: t for t in card["workflow_types"]}
    [declined] = types["OrderWorkflow"]["failure_classes"]
    assert (declined["status"], declined["error_type"], declined["count"]) == ("FAILED", "PaymentDeclined", DECLINED)
    assert declined["sample_workflow_id"] in ids["declined"] and (out / declined["sample_history"]).is_file()
    assert types["OrderWorkflow"]["latency_p99_s"] < 60

    [stuck] = checks["watch.stuck"]["evidence"]["stuck_workflows"]
    assert stuck["workflow_id"] == ids["stuck"][0] and STUCK_MESSAGE in stuck["message"]
    assert stuck["cause"] == "WORKFLOW_WORKER_UNHANDLED_FAILURE" and (out / stuck["history"]).is_file()
    assert "alerts.static" in checks and "not checked" in json.dumps(checks["alerts.static"]["evidence"]["findings"])

    assert ids["stuck"][0] in stdout and "PaymentDeclined" in stdout and "NO-GO" in stdout
    assert {p.name for p in out.iterdir()} >= {"scorecard.json", "scorecard.md", "junit.xml", "histories"}
    assert "watch.stuck" in (out / "scorecard.md").read_text() and 'name="watch.stuck"' in (out / "junit.xml").read_text()
    orders_definition = next(w for w in card["definitions"]["workflow_types"] if w["workflow_type"] == "OrderWorkflow")
    assert {"reserve_inventory", "charge_payment", "ship_order"} <= set(orders_definition["activity_types"])


async def test_lenient_thresholds_are_go_through_a_protected_profile(live, tmp_path):
    target, _client, _ids = live
    out = tmp_path / "lenient"
    production = {"live-orders": {"address": target.address, "namespace": target.namespace, "protected": True}}
    code, stdout, stderr = await cli(
        "--config", str(config(tmp_path, "lenient", LENIENT, production)), "--profile", "live-orders",
        "--since", "10m", "--out", str(out), history_db=tmp_path / "history.db",
    )
    assert code == 0, stdout + stderr
    card = json.loads((out / "scorecard.json").read_text())
    assert (card["run"]["profile"], card["run"]["target"]["namespace"]) == ("live-orders", target.namespace)
    statuses = {c["id"]: c["status"] for c in card["checks"]}
    assert card["verdict"] == "GO" and statuses["watch.failure_rate"] == "WARN" and statuses["watch.stuck"] == "WARN"
    assert all(c["subjects"] == [] for c in card["checks"])
    code, listed, stderr = await cli("--json", history_db=tmp_path / "history.db", command="history")
    assert code == 0 and [(r["id"], r["command"], r["verdict"]) for r in json.loads(listed)] == [(card["run"]["id"], "watch", "GO")], stderr


async def test_waived_watch_failures_are_go_with_waivers_until_the_waiver_expires(live, tmp_path):
    target, _client, _ids = live
    tomorrow, today = date.today() + timedelta(days=1), date.today()
    results = {}
    for name, expires in (("valid", tomorrow), ("expired", today)):
        waivers = [
            {"check": "watch.failure_rate", "scope": "workflow_type:OrderWorkflow", "reason": "declines are the business", "owner": "orders-team",
             "ticket": "ORD-7", "expires": expires.isoformat()},
            {"check": "watch.stuck", "reason": "the stuck fixture is known", "owner": "orders-team", "ticket": "ORD-8", "expires": expires.isoformat()},
            {"check": "retry.outage", "reason": "a run-only check", "owner": "orders-team", "ticket": "ORD-9", "expires": expires.isoformat()},
        ]
        write(tmp_path / f"{name}-waivers.yaml", yaml.safe_dump({"version": 1, "waivers": waivers}))
        data = yaml.safe_load(config(tmp_path, name, STRICT).read_text())
        data["waivers"] = f"{name}-waivers.yaml"
        path = write(tmp_path / f"{name}.yaml", yaml.safe_dump(data))
        out = tmp_path / name
        code, stdout, stderr = await cli(
            "--config", str(path), "--address", target.address, "--namespace", target.namespace, "--since", "10m", "--out", str(out),
            history_db=tmp_path / "history.db",
        )
        results[name] = code, json.loads((out / "scorecard.json").read_text()), stdout + stderr
    code, card, output = results["valid"]
    assert (code, card["verdict"]) == (0, "GO-WITH-WAIVERS"), output
    waived = {c["id"]: [w["ticket"] for w in c["waivers"]] for c in card["checks"] if c["waivers"]}
    assert waived == {"watch.failure_rate": ["ORD-7"], "watch.stuck": ["ORD-8"]}
    assert card["unused_waivers"] == []  # the run-only waiver is not listed as stale by a watch
    code, card, output = results["expired"]
    assert (code, card["verdict"]) == (1, "NO-GO"), output
    assert "waiver ORD-7 expired on" in card["verdict_reason"] and "waiver ORD-8 expired on" in card["verdict_reason"]


async def test_limit_cut_is_reported(live, tmp_path):
    target, _client, _ids = live
    out = tmp_path / "limited"
    code, stdout, stderr = await cli(
        "--config", str(config(tmp_path, "limited", LENIENT)), "--address", target.address, "--namespace", target.namespace,
        "--limit", "3", "--sample", "1", "--out", str(out), history_db=tmp_path / "history.db",
    )
    assert code in (0, 1, 3), stdout + stderr
    card = json.loads((out / "scorecard.json").read_text())
    evidence = next(c for c in card["checks"] if c["id"] == "watch.failure_rate")["evidence"]
    assert (evidence["listed"], evidence["matching"], evidence["limit_reached"]) == (3, COMPLETED + DECLINED + 1, True)
    assert "--limit 3 cut the list" in " ".join(stdout.split())
    # Orders are at least 2 of any 3 listed runs; their counts come from a grouped count over the whole window.
    orders = {r["workflow_type"]: r for r in evidence["workflow_types"]}["OrderWorkflow"]
    assert evidence["counts"].startswith("exact") and (orders["started"], orders["failed"]) == (COMPLETED + DECLINED, DECLINED)


async def test_an_empty_window_is_inconclusive(live, tmp_path):
    target, _client, _ids = live
    out = tmp_path / "empty"
    code, stdout, stderr = await cli(
        "--config", str(config(tmp_path, "empty", STRICT)), "--address", target.address, "--namespace", "default",
        "--out", str(out), history_db=tmp_path / "history.db",
    )
    assert code == 3, stdout + stderr
    card = json.loads((out / "scorecard.json").read_text())
    statuses = {c["id"]: c["status"] for c in card["checks"]}
    assert card["verdict"] == "INCONCLUSIVE"
    assert statuses["watch.failure_rate"] == statuses["watch.latency"] == statuses["watch.stuck"] == "NO_DATA"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--since", "soon"], "--since: expected a duration"),
        (["--since", "0"], "--since: expected a duration above zero"),
        (["--profile", "nowhere"], "unknown profile 'nowhere'"),
        (["--limit", "0"], "Invalid value for '--limit'"),
    ],
)
async def test_bad_input_is_one_line_and_exit_2(args, expected, tmp_path):
    out = tmp_path / "never"
    code, stdout, stderr = await cli("--address", "127.0.0.1:1", "--out", str(out), *args, history_db=tmp_path / "history.db")
    assert code == 2 and expected in stderr and "Traceback" not in stderr, stdout + stderr
    assert not out.exists() and not (tmp_path / "history.db").exists()
