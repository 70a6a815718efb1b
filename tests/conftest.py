from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo() -> Path:
    return REPO


def relocated(config: Path) -> dict:
    """The config as data with every path in it made absolute, so a test can write a changed copy anywhere."""
    data = yaml.safe_load(config.read_text())
    base = config.resolve().parent
    data["app"]["path"] = str((base / data["app"].get("path", ".")).resolve())
    data["scenarios_dir"] = str((base / data.get("scenarios_dir", "scenarios")).resolve())
    if alerts := data.get("alerts"):
        alerts["rules"] = [str((base / rules).resolve()) for rules in alerts["rules"]]
        for owned in alerts.get("workflow_types", {}).values():
            owned["runbook"] = str((base / owned["runbook"]).resolve())
    return data


@contextlib.contextmanager
def locked_by_another_process(db: Path, seconds: float = 300) -> Iterator[None]:
    """`db` (SQLite) held under an exclusive lock by another process while the block runs."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\n"
         "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "db.execute('PRAGMA locking_mode = EXCLUSIVE'); db.execute('BEGIN EXCLUSIVE')\n"
         f"print('locked', flush=True); time.sleep({seconds})", str(db)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.wait()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """READINESS_NO_SKIPS=1 (set by .ci/run, which installs promtool and chromium): a skipped test is a failure, so a
    missing tool can never turn the alert or browser tests into silent skips in CI."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("READINESS_NO_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under READINESS_NO_SKIPS=1: {report.longrepr}"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Under `--dist loadgroup` pytest-xdist groups tests by suffixing their node id with the xdist_group name. When a
    pytest release stops that from taking effect (pytest-dev/pytest-xdist#1386) the shared e2e runs would silently be
    made once per process; fail before any fixture is built instead."""
    if getattr(item.config.option, "loadgroup", False) and item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
        pytest.fail(f"pytest {pytest.__version__} ignores xdist_group under --dist loadgroup: install the pytest pyproject.toml pins")
