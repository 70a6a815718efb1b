from __future__ import annotations

import os
from pathlib import Path

import pytest
import pytest_asyncio

from harness import server
from harness.config.models import EmbeddedTarget

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="session")
async def dev_server(tmp_path_factory) -> server.Target:
    """One real embedded Temporal dev server for the integration tests."""
    log = Path(tmp_path_factory.mktemp("server")) / "temporal-server.log"
    async with server.embedded_server(EmbeddedTarget(), log, dict(os.environ)) as target:
        yield target


@pytest_asyncio.fixture(scope="session")
async def client(dev_server):
    return await server.connect(dev_server)
