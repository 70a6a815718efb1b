"""A local server whose free port another process took before it could bind it starts again on other ports: lanes
start several servers side by side, so picking a free port and binding it are not one step."""

from __future__ import annotations

import os
import socket

import pytest

from harness import environment, processes
from harness.config.models import EmbeddedTarget
from harness.environment import Environment
from harness.errors import TargetError

pytestmark = pytest.mark.integration


@pytest.fixture
def taken_port():
    """A port something else listens on, handed out first by free_port()."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _first_ports(monkeypatch, taken: int, count: int) -> list[int]:
    real, handed = processes.free_port, []

    def free_port() -> int:
        port = taken if len(handed) < count else real()
        handed.append(port)
        return port

    monkeypatch.setattr(environment.processes, "free_port", free_port)
    return handed


async def test_the_dev_server_retries_on_new_ports_when_its_port_was_taken(monkeypatch, tmp_path, taken_port):
    handed = _first_ports(monkeypatch, taken_port, 3)  # grpc, http and metrics ports of the first try: all taken
    async with Environment.dev_server(EmbeddedTarget(), tmp_path / "server.log", dict(os.environ)) as env:
        assert env.target.address != f"127.0.0.1:{taken_port}" and len(handed) == 6
        assert env.target.server_version
    assert "address already in use" in (tmp_path / "server.log").read_text()


async def test_the_time_skipping_server_retries_too(monkeypatch, tmp_path, taken_port):
    handed = _first_ports(monkeypatch, taken_port, 1)
    async with Environment.time_skipping(tmp_path / "test-server.log", dict(os.environ)) as env:
        assert env.target.address != f"127.0.0.1:{taken_port}" and len(handed) == 2
        await env.now()


async def test_fixed_ports_are_never_swapped_for_others(tmp_path, taken_port):
    """A restart on the same ports and database (server_restart) must fail rather than come back elsewhere."""
    ports = (taken_port, processes.free_port(), processes.free_port())
    with pytest.raises(TargetError, match="(?i)address already in use"):
        async with Environment.dev_server(EmbeddedTarget(), tmp_path / "server.log", dict(os.environ), ports=ports):
            pass
