"""The side-effect ledger over real sockets: the sample payment service behind a FaultProxy with a ledger, called
by httpx and urllib from inside a real activity context (temporalio's ActivityEnvironment), so the attempt tags, the
framing and the downstream toxics are the ones a run uses."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from harness import processes
from harness.faults import request_tags
from harness.faults.ledger import RequestLedger
from harness.faults.proxy import FaultProxy, Toxic

pytestmark = pytest.mark.integration


def _payment_service(*extra: str) -> Iterator[int]:
    port = processes.free_port()
    argv = [sys.executable, "-m", "sample_workflows.payment_service", "--port", str(port), *extra]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    try:
        asyncio.run(_until_listening(port))
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def payment_port() -> Iterator[int]:
    yield from _payment_service()


@pytest.fixture(scope="module")
def slow_payment_port() -> Iterator[int]:
    yield from _payment_service("--latency-ms", "800")


async def _until_listening(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError("the payment service did not start")


@pytest_asyncio.fixture
async def ledger_proxy(payment_port: int) -> AsyncIterator[tuple[FaultProxy, RequestLedger]]:
    request_tags.install()
    ledger = RequestLedger("payments", "Idempotency-Key", scenario="test")
    async with FaultProxy("payments", "127.0.0.1", payment_port, ledger=ledger) as proxy:
        yield proxy, ledger


def charges(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
        return json.loads(answer.read())["charges"]


async def test_httpx_and_urllib_calls_from_an_activity_are_tagged_with_its_attempt(ledger_proxy) -> None:
    proxy, ledger = ledger_proxy
    url = f"http://127.0.0.1:{proxy.port}/charges"

    @activity.defn(name="charge_payment")
    async def charge_async() -> int:
        async with httpx.AsyncClient(timeout=5) as http:
            answer = await http.post(url, json={"amount_cents": 100}, headers={"Idempotency-Key": "order-1:2"})
        return answer.status_code

    @activity.defn(name="charge_sync")
    def charge_sync() -> int:  # a plain def on the worker's thread pool, through http.client
        request = urllib.request.Request(url, data=b'{"amount_cents": 7}', headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status

    def environment(activity_type: str) -> ActivityEnvironment:
        env = ActivityEnvironment()
        env.info = activity.Info(**{
            **env.info.__dict__, "workflow_id": "order-1", "workflow_run_id": "run-9", "activity_id": "2", "attempt": 3,
            "activity_type": activity_type,
        })
        return env

    assert await environment("charge_payment").run(charge_async) == 201
    assert await asyncio.to_thread(environment("charge_sync").run, charge_sync) == 201
    async with httpx.AsyncClient(timeout=5) as http:  # outside any activity: no tag
        await http.post(url, json={"amount_cents": 1})
    await asyncio.sleep(0.1)
    rows = ledger.requests
    assert [(r["idempotency_key"], r["status"], r["answer_delivered"]) for r in rows] == [
        ("order-1:2", 201, True), (None, 201, True), (None, 201, True),
    ]
    assert rows[0]["attempt"] == {"workflow_id": "order-1", "run_id": "run-9", "activity_id": "2", "activity_type": "charge_payment", "attempt": 3}
    assert rows[1]["attempt"]["activity_type"] == "charge_sync" and rows[2]["attempt"] is None


@pytest.mark.parametrize("kind", ["reset_peer", "timeout"])
async def test_a_downstream_toxic_lets_the_charge_happen_and_loses_its_answer(ledger_proxy, payment_port: int, kind: str) -> None:
    proxy, ledger = ledger_proxy
    before = charges(payment_port)
    async with proxy.fault(Toxic(kind, stream="downstream")) as stats:
        async with httpx.AsyncClient(timeout=1.5) as http:
            with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout)):
                await http.post(f"http://127.0.0.1:{proxy.port}/charges", json={"amount_cents": 5})
        assert stats.answers_lost == 1
    assert charges(payment_port) == before + 1  # the service acted; the caller saw a failure
    async with httpx.AsyncClient(timeout=5) as http:  # restored: answers get back again
        assert (await http.post(f"http://127.0.0.1:{proxy.port}/charges", json={"amount_cents": 5})).status_code == 201
    await asyncio.sleep(0.1)
    assert [r["answer_delivered"] for r in ledger.requests if r["method"] == "POST"] == [False, True]


async def test_a_call_whose_answer_comes_after_the_fault_ended_gets_its_answer(slow_payment_port: int) -> None:
    ledger = RequestLedger("payments", "Idempotency-Key")
    async with FaultProxy("payments", "127.0.0.1", slow_payment_port, ledger=ledger) as proxy:
        async with httpx.AsyncClient(timeout=5) as http:
            await proxy.apply(Toxic("reset_peer", stream="downstream"))
            call = asyncio.create_task(http.post(f"http://127.0.0.1:{proxy.port}/charges", json={"amount_cents": 5}))
            await asyncio.sleep(0.3)  # the charge is in progress at the service
            await proxy.remove()
            assert (await call).status_code == 201
    assert [(r["status"], r["answer_delivered"]) for r in ledger.requests] == [(201, True)] and proxy.stats.answers_lost == 0


async def test_a_caller_that_resets_before_the_answer_did_not_get_it(slow_payment_port: int) -> None:
    """A killed worker's kernel may reset its connections instead of closing them: the charge happened, the answer
    reached nobody."""
    import socket
    import struct

    ledger = RequestLedger("payments", "Idempotency-Key")
    async with FaultProxy("payments", "127.0.0.1", slow_payment_port, ledger=ledger) as proxy:
        body = b'{"amount_cents": 5}'
        head = f"POST /charges HTTP/1.1\r\nHost: pay\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        caller = socket.create_connection(("127.0.0.1", proxy.port))
        caller.sendall(head.encode() + body)
        await asyncio.sleep(0.3)  # the service is charging (800 ms)
        caller.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        caller.close()  # RST, not FIN
        for _ in range(60):
            if ledger.requests and ledger.requests[0]["answer_delivered"] is not None:
                break
            await asyncio.sleep(0.05)
    assert [(r["method"], r["answer_delivered"]) for r in ledger.requests] == [("POST", False)]
