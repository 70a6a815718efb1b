from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import pytest_asyncio

from harness import processes, server
from sample_workflows.activities import PAYMENT_URL_ENV
from tests.conftest import REPO

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def dev_server(temporal_dev_server) -> server.Target:
    """One real embedded Temporal dev server for the integration tests (the plugin's own fixture)."""
    return temporal_dev_server


@pytest_asyncio.fixture(scope="session")
async def client(dev_server):
    return await server.connect(dev_server)


@pytest_asyncio.fixture(scope="session")
async def embedded(dev_server, client):
    return dev_server, client


async def wait_for(predicate, what: str, timeout: float = 60.0) -> None:
    """Poll an async predicate every 0.2 s until it holds; AssertionError naming `what` after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


@asynccontextmanager
async def payment_service() -> AsyncIterator[str]:
    """The sample app's payment service on a free port, its URL exported where in-process workers read it."""
    port = processes.free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sample_workflows.payment_service", "--port", str(port), cwd=REPO,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    monkey = pytest.MonkeyPatch()
    monkey.setenv(PAYMENT_URL_ENV, url)

    async def up() -> bool:
        try:
            async with httpx.AsyncClient(timeout=1.0) as http:
                return (await http.get(f"{url}/health")).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        await wait_for(up, "the payment service")
        yield url
    finally:
        monkey.undo()
        proc.terminate()
        await proc.wait()
