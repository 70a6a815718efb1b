"""Fuzzed history files through `readiness audit-histories` and the replay processes of `readiness replay`: truncated
files, wrong types, huge payloads, deep nesting and random mutations of a real history. Bad input is exit 2 with one
line naming the file; anything else is a verdict (0 or 1). Never a traceback, an internal error or a hang.

FUZZ_EXAMPLES sets the examples per property (default 40, well under a minute; `make soak` runs more)."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from temporalio.api.enums.v1 import EventType

from harness.cli import main
from harness.replay import pool as replay_pool
from harness.replay.pool import ReplayPool
from tests.conftest import REPO

pytestmark = pytest.mark.e2e
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
EXAMPLE_TIMEOUT_S = 30
WORKFLOWS = "sample_workflows.orders:OrderWorkflow"
REAL = json.loads((REPO / "tests/fixtures/histories/order-v1.json").read_text())
REAL_TEXT = json.dumps(REAL, indent=2)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True),
    st.text(max_size=30), st.sampled_from(["EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", "WorkflowTaskScheduled", "1", "-1", ""]),
)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


PATHS = [p for p in _paths(REAL) if p]


EVENT_TYPES = [name for name in EventType.keys() if name != "EVENT_TYPE_UNSPECIFIED"]


@st.composite
def mutated(draw) -> bytes:
    """The real history with a few of its values replaced (wrong types, huge strings), deleted or duplicated, and its
    events retyped or reordered (still a history that parses: what the replayer itself makes of it)."""
    data = copy.deepcopy(REAL)
    events = data["events"]
    for _ in range(draw(st.integers(0, 2))):
        i, j = draw(st.integers(0, len(events) - 1)), draw(st.integers(0, len(events) - 1))
        if draw(st.booleans()):
            events[i]["eventType"] = draw(st.sampled_from(EVENT_TYPES))
        else:
            events[i], events[j] = events[j], events[i]
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(PATHS))
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = draw(st.sampled_from(["replace", "delete", "huge", "duplicate"]))
            if action == "delete":
                del parent[path[-1]]
            elif action == "huge":
                parent[path[-1]] = "x" * draw(st.sampled_from([10_000, 1_000_000, 5_000_000]))
            elif action == "duplicate" and isinstance(parent, list):
                parent.insert(path[-1], copy.deepcopy(parent[path[-1]]))
            else:
                parent[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue
    return json.dumps(data).encode()


@st.composite
def truncated(draw) -> bytes:
    """The real history cut anywhere: as text, or after any number of events."""
    if draw(st.booleans()):
        return REAL_TEXT.encode()[: draw(st.integers(0, len(REAL_TEXT) - 1))]
    return json.dumps({"events": REAL["events"][: draw(st.integers(0, len(REAL["events"])))]}).encode()


def nested(depth: int) -> bytes:
    return json.dumps({"events": [{"eventId": "1", "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"}]})[:-2].encode() + (
        b',"x":' + b"[" * depth + b"]" * depth + b"}]}"
    )


history_files = st.one_of(
    mutated(),
    truncated(),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.just("events"), json_values).map(lambda v: json.dumps(v).encode()),
    st.sampled_from([10, 1000, 100_000]).map(nested),
    st.binary(max_size=200),
)


@contextmanager
def time_limit(seconds: int):
    """A hang becomes a failure of this example instead of a stuck test."""

    def expired(signum, frame):
        raise TimeoutError(f"no answer within {seconds}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_cli_result(result, path: Path) -> None:
    output = result.output
    assert result.exit_code in (0, 1, 2), output
    assert "Traceback" not in output and "internal harness error" not in output, output
    if result.exit_code == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and str(path) in lines[0], result.stderr


@FUZZ
@given(content=history_files)
def test_audit_histories_on_fuzzed_files(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("fuzz") / "history.json"
    path.write_bytes(content)
    with time_limit(EXAMPLE_TIMEOUT_S):
        result = CliRunner().invoke(main, ["audit-histories", str(path)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    check_cli_result(result, path)


class ReplayProcess:
    """One replay process, as `readiness replay` starts them, kept for every example (a process start costs seconds)
    and started afresh after an example broke it."""

    def __init__(self, log_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.log_dir = log_dir
        self.pool: ReplayPool | None = None

    def replay(self, path: Path) -> list[dict]:
        async def one() -> list[dict]:
            if self.pool is None:
                self.pool = ReplayPool([WORKFLOWS], jobs=1, env=dict(os.environ), cwd=REPO, log_dir=self.log_dir, hash_seed=0)
                await self.pool.__aenter__()
            try:
                return [record async for record in self.pool.replay(iter([path]))]
            except BaseException:
                await self.pool.__aexit__(None, None, None)
                self.pool = None
                raise

        return self.loop.run_until_complete(one())

    def close(self) -> None:
        if self.pool is not None:
            self.loop.run_until_complete(self.pool.__aexit__(None, None, None))
        self.loop.close()


@pytest.fixture(scope="module")
def replay_processes(tmp_path_factory):
    process = ReplayProcess(tmp_path_factory.mktemp("replay-logs"))
    try:
        yield process
    finally:
        process.close()


@settings(FUZZ, phases=[Phase.explicit, Phase.reuse, Phase.generate])  # shrinking a hang costs a timeout per step
@given(content=history_files)
def test_replay_processes_on_fuzzed_files(tmp_path_factory, replay_processes, monkeypatch_module_timeout, content):
    """What `readiness replay` gets back for each file: an input error (exit 2, naming the file) or an outcome. A
    process that crashes or gives no answer fails the example."""
    path = tmp_path_factory.mktemp("fuzz") / "history.json"
    path.write_bytes(content)
    records = replay_processes.replay(path)
    assert len(records) == 1
    record = records[0]
    assert record.get("path", record.get("outcome", {}).get("path")) == str(path)
    assert "input_error" in record or isinstance(record["outcome"]["ok"], bool), record


@pytest.fixture(scope="module")
def monkeypatch_module_timeout():
    """No answer for a history within EXAMPLE_TIMEOUT_S is a hang (the pool's own bound is minutes)."""
    original = replay_pool.HISTORY_TIMEOUT_S
    replay_pool.HISTORY_TIMEOUT_S = EXAMPLE_TIMEOUT_S
    yield
    replay_pool.HISTORY_TIMEOUT_S = original


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (REAL_TEXT.encode()[:5000], 2),
        (nested(100_000), 2),
        (json.dumps({"events": REAL["events"][:1]}).encode(), 0),  # a delayed start: nothing has run the code yet
    ],
    ids=["truncated", "deep", "started-only"],
)
def test_replay_command_on_broken_files(tmp_path, content, code):
    path = tmp_path / "history.json"
    path.write_bytes(content)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "readiness"), "replay", str(path), "--workflows", WORKFLOWS, "--jobs", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    if code == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and str(path) in lines[0], result.stderr
