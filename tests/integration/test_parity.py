"""`readiness parity` on one dev server with two namespaces: `staging` runs the well-built order app, `production`
its default-retry variant (same workflow type, same task queue). Parity reads both and names the retry policy
difference: undocumented (WARN), then documented once the production profile's `differences` names the types."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import yaml
from click.testing import CliRunner
from temporalio.client import Client
from temporalio.worker import Worker

from harness import processes, server
from harness.cli import main
from harness.errors import TargetError
from sample_workflows.activities import ACTIVITIES
from sample_workflows.flawed.default_retry import DefaultRetryOrderWorkflow
from sample_workflows.models import Order
from sample_workflows.orders import OrderWorkflow
from tests.conftest import REPO, relocated, write
from tests.integration.conftest import payment_service, wait_for

pytestmark = pytest.mark.integration
READINESS = str(Path(sys.executable).parent / "readiness")
ORDERS_PER_ENVIRONMENT = 3
QUEUE = "orders"
PLANTED_KEY = "parity-test-api-key-9f8e7d6c5b4a"
KEY_VARIABLE = "PARITY_STAGING_API_KEY"
OPTION_DIFFERENCES = ("charge_payment", "reserve_inventory", "ship_order")
"""Every activity type whose options differ between the two apps (the flawed one sets no retry policy at all)."""


async def _dev_server(folder: Path) -> tuple[asyncio.subprocess.Process, str]:
    port = processes.free_port()
    argv = [
        str(server.find_temporal_cli()), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
        "--http-port", str(processes.free_port()), "--metrics-port", str(processes.free_port()), "--headless",
        "--log-level", "warn", "--namespace", "staging", "--namespace", "production", *server.SINGLE_PARTITION,
    ]
    proc = await processes.spawn(argv, env=dict(os.environ), log_path=folder / "server.log")
    address = f"127.0.0.1:{port}"

    async def ready() -> bool:
        try:
            await server.connect(server.Target(kind="existing", address=address, namespace="production"), timeout=3.0)
            return True
        except Exception:  # noqa: BLE001 - retried until the deadline
            if proc.returncode is not None:
                pytest.fail(f"the dev server exited: {(folder / 'server.log').read_text()[-2000:]}")
            return False

    await wait_for(ready, "the dev server", timeout=90)
    return proc, address


async def _orders(client: Client, workflow, prefix: str) -> list[str]:
    handles = [
        await client.start_workflow(
            workflow.run, Order(order_id=f"{prefix}-{i}", customer="acme", amount_cents=4200, items=1, shipping_delay_seconds=0.2),
            id=f"{prefix}-order-{i}", task_queue=QUEUE, execution_timeout=timedelta(minutes=2),
        )
        for i in range(ORDERS_PER_ENVIRONMENT)
    ]
    await asyncio.gather(*(h.result() for h in handles))

    async def visible() -> bool:  # visibility is eventually consistent
        return len([w async for w in client.list_workflows("ExecutionStatus = 'Completed'")]) == ORDERS_PER_ENVIRONMENT

    await wait_for(visible, f"visibility to list the {prefix} orders")
    return [h.id for h in handles]


@pytest_asyncio.fixture(scope="module")
async def environments(tmp_path_factory):
    """Both namespaces with their workers still polling, and a few completed orders each."""
    folder = tmp_path_factory.mktemp("parity-server")
    async with payment_service():
        proc, address = await _dev_server(folder)
        try:
            staging = await server.connect(server.Target(kind="existing", address=address, namespace="staging"))
            production = await server.connect(server.Target(kind="existing", address=address, namespace="production"))
            async with (
                Worker(staging, task_queue=QUEUE, workflows=[OrderWorkflow], activities=ACTIVITIES),
                Worker(production, task_queue=QUEUE, workflows=[DefaultRetryOrderWorkflow], activities=ACTIVITIES),
            ):
                await _orders(staging, OrderWorkflow, "staging")
                await _orders(production, DefaultRetryOrderWorkflow, "production")
                yield address, staging, production
        finally:
            await processes.stop(proc)


def parity_config(tmp_path: Path, address: str, documented: bool) -> Path:
    data = relocated(REPO / "readiness.yaml")
    production = {"address": address, "namespace": "production", "protected": True}
    if documented:
        production["differences"] = {"activity_types": {name: "production still runs the default retry policy (PAY-42)" for name in OPTION_DIFFERENCES}}
    data["profiles"] = {
        "staging": {"address": address, "namespace": "staging", "api_key": {"env": KEY_VARIABLE}, "tls": False},
        "production": production,
    }
    return write(tmp_path / "readiness.yaml", yaml.safe_dump(data))


async def parity(tmp_path: Path, config: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    proc = await asyncio.create_subprocess_exec(
        READINESS, "parity", "staging", "production", "--config", str(config), "--since", "10m", "--out", str(tmp_path / "out"),
        "--history-db", str(tmp_path / "history.db"), cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**env, KEY_VARIABLE: PLANTED_KEY, "COLUMNS": "220"},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode, out.decode(), err.decode()


async def test_an_undocumented_retry_policy_difference_warns(environments, tmp_path):
    address, staging, production = environments
    code, stdout, stderr = await parity(tmp_path, parity_config(tmp_path, address, documented=False))
    assert code == 0, stdout + stderr
    card = json.loads((tmp_path / "out" / "scorecard.json").read_text())
    assert (card["run"]["command"], card["verdict"]) == ("parity", "GO")
    (check,) = card["checks"]
    assert check["id"] == "parity.environments" and check["status"] == "WARN"
    rows = {row["difference"]: row["documented"] for row in check["evidence"]["differences"]}
    assert rows["charge_payment: maximum attempts: 8 in staging, unlimited in production"] == "NO"
    assert rows["charge_payment: non-retryable error types only in staging: InvalidOrder, PaymentDeclined"] == "NO"
    assert set(rows.values()) == {"NO"} and sorted(check["subjects"]) == [f"activity_type:{name}" for name in OPTION_DIFFERENCES]
    assert "charge_payment: maximum attempts: 8 in staging, unlimited in production" in stdout and "WARN" in stdout

    report = json.loads((tmp_path / "out" / "parity.json").read_text())
    for side, name in (("left", "staging"), ("right", "production")):
        sample = report[side]
        assert (sample["profile"], sample["namespace"], sample["listed"]) == (name, name, ORDERS_PER_ENVIRONMENT)
        assert [(q["name"], len(q["workflow_pollers"]), len(q["activity_pollers"])) for q in sample["task_queues"]] == [(QUEUE, 1, 1)]
        assert len(list((tmp_path / "out" / "histories" / name).glob("*.json"))) == ORDERS_PER_ENVIRONMENT
    assert not any(d["kind"] in ("workers", "sdk", "workflow_type") for d in report["differences"])

    with sqlite3.connect(tmp_path / "history.db") as db:
        assert db.execute("SELECT command, profile, verdict FROM runs").fetchall() == [("parity", "staging vs production", "GO")]
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "readiness.yaml")
    assert PLANTED_KEY.encode() not in written and PLANTED_KEY not in stdout + stderr
    for client in (staging, production):  # read-only: nothing was started in either namespace
        assert len([w async for w in client.list_workflows("")]) == ORDERS_PER_ENVIRONMENT


async def test_documented_differences_pass(environments, tmp_path):
    address, _staging, _production = environments
    code, stdout, stderr = await parity(tmp_path, parity_config(tmp_path, address, documented=True))
    assert code == 0, stdout + stderr
    (check,) = json.loads((tmp_path / "out" / "scorecard.json").read_text())["checks"]
    assert check["status"] == "PASS" and "documented difference(s)" in check["summary"]
    rows = check["evidence"]["differences"]
    assert rows and all(row["documented"] == "yes" for row in rows)
    charge = next(r for r in rows if r["difference"] == "charge_payment: maximum attempts: 8 in staging, unlimited in production")
    assert charge["documented_by"].startswith("profiles.production.differences.activity_types.charge_payment: production still runs")


def test_a_parity_that_fails_midway_leaves_no_earlier_comparison_behind(environments, tmp_path, monkeypatch):
    """Both clusters answer, then sampling fails (the cluster goes away): exit 3, and the report folder holds no
    parity.json of an earlier comparison that a reader could take for this one."""
    address, _staging, _production = environments
    config = parity_config(tmp_path, address, documented=False)
    out = tmp_path / "out"
    write(out / "parity.json", '{"left": "an earlier comparison"}')
    write(out / "scorecard.json", "{}")

    async def cluster_went_away(*_args, **_kwargs):
        raise TargetError("cannot list workflows: UNAVAILABLE: connection reset")

    monkeypatch.setattr(sys.modules["harness.cli.parity"], "sample", cluster_went_away)
    for name in [k for k in os.environ if k.startswith("TEMPORAL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv(KEY_VARIABLE, PLANTED_KEY)
    result = CliRunner().invoke(main, [
        "parity", "staging", "production", "--config", str(config), "--out", str(out), "--history-db", str(tmp_path / "history.db"),
    ])
    assert result.exit_code == 3, result.output
    assert "UNAVAILABLE" in result.stderr
    assert not (out / "parity.json").exists() and not (out / "scorecard.json").exists()
