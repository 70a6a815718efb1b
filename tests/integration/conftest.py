from __future__ import annotations

import os
from pathlib import Path

import pytest
import pytest_asyncio

from harness import server
from harness.config.models import EmbeddedTarget

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="session")
async def embedded(tmp_path_factory):
    """One real embedded Temporal dev server (and a client of it) for the integration tests."""
    log = Path(tmp_path_factory.mktemp("server")) / "temporal-server.log"
    async with server.embedded_server(EmbeddedTarget(), log, dict(os.environ)) as target_and_client:
        yield target_and_client


@pytest_asyncio.fixture(scope="session")
async def dev_server(embedded) -> server.Target:
    return embedded[0]


@pytest_asyncio.fixture(scope="session")
async def client(embedded):
    return embedded[1]
