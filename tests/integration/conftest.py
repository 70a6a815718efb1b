from __future__ import annotations

import pytest
import pytest_asyncio

from harness import server

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
