"""When the harness's own environment breaks (a dependency or worker that cannot start, a history database another
process holds, a report folder that stops being writable) the run is exit 3, never a verdict (0 or 1) nor bad input
(2): one error line, a journal naming the phase, every process stopped and nothing half-written. The slower cases
(the dev server killed mid-scenario, a full disk) are in `make soak`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, locked_by_another_process, relocated, write
from tests.e2e.test_cli_run import READINESS, RUN_TIMEOUT_S, processes_with_marker, run_cli

pytestmark = pytest.mark.e2e


def one_scenario_config(folder: Path, change=lambda data: None) -> Path:
    data = relocated(REPO / "readiness.yaml")
    data["scenarios"] = ["non-retryable"]
    change(data)
    return write(folder / "readiness.yaml", yaml.safe_dump(data, sort_keys=False))


def assert_harness_error(result: subprocess.CompletedProcess, out: Path, marker: str, message: str, failed_step: str | None) -> None:
    assert result.returncode == 3, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in result.stdout + result.stderr, result.stderr
    assert processes_with_marker(marker) == []
    if failed_step is not None:
        steps = json.loads((out / "journal.json").read_text())["steps"]
        assert [(s["name"], s["status"]) for s in steps][-2:] == [(failed_step, "failed"), ("stop workers, dependencies and server", "ok")]
    assert not (out / "scorecard.json").exists() and not list(out.glob(".*.tmp"))


def test_a_dependency_that_exits_at_start(tmp_path):
    def change(data):
        data["dependencies"][0]["command"] = ["{python}", "-c", "import sys; print('no config'); sys.exit(4)"]

    marker, out = uuid.uuid4().hex, tmp_path / "out"
    result = run_cli("run", "--config", str(one_scenario_config(tmp_path, change)), "--out", str(out), marker=marker)
    assert_harness_error(
        result, out, marker, "dependency payments exited with code 4 before accepting connections", "start dependencies behind fault proxies"
    )
    assert "no config" in result.stderr  # the tail of its log


def test_a_dependency_that_never_listens(tmp_path):
    def change(data):
        data["dependencies"][0]["command"] = ["{python}", "-c", "import time; time.sleep(300)"]

    marker, out = uuid.uuid4().hex, tmp_path / "out"
    result = run_cli("run", "--config", str(one_scenario_config(tmp_path, change)), "--out", str(out), marker=marker)
    assert_harness_error(result, out, marker, "did not accept connections on port", "start dependencies behind fault proxies")


def test_an_external_worker_that_crashes_on_start(tmp_path):
    def change(data):
        data["workers"][0] = {"name": "crashing-worker", "command": ["{python}", "-c", "import sys; sys.exit(7)"]}

    marker, out = uuid.uuid4().hex, tmp_path / "out"
    result = run_cli("run", "--config", str(one_scenario_config(tmp_path, change)), "--out", str(out), marker=marker)
    assert_harness_error(result, out, marker, "exited with code 7 before polling", "start workers")


def test_a_history_database_another_process_keeps_locked(tmp_path):
    """Waits out the store's busy timeout (30 s), then stops before anything starts or is written."""
    from harness.history.store import HistoryStore

    db = tmp_path / "history.db"
    HistoryStore.open(db, create=True).close()
    with locked_by_another_process(db):
        marker, out = uuid.uuid4().hex, tmp_path / "out"
        result = run_cli("run", "--config", str(one_scenario_config(tmp_path)), "--out", str(out), "--history-db", str(db), marker=marker)
    assert_harness_error(result, out, marker, "the history database is locked by another process", None)
    assert not out.exists()


def chattr(flag: str, path: Path) -> bool:
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


def test_a_report_folder_that_stops_being_writable(tmp_path):
    """`chattr +i` (even root cannot add or rename a file in the folder) once the workers run: the next journal write
    fails, and the run says which file and after which step, stops everything and exits 3."""
    out = tmp_path / "out"
    out.mkdir()
    if not chattr("+i", out) or not chattr("-i", out):
        pytest.skip("chattr +i is not available here (needs root and a filesystem with the immutable flag)")
    marker = uuid.uuid4().hex
    env = {**os.environ, "E2E_MARKER": marker, "COLUMNS": "400"}
    proc = subprocess.Popen(
        [READINESS, "run", "--config", str(one_scenario_config(tmp_path)), "--out", str(out), "--history-db", str(tmp_path / "h.db")],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "journal.json").exists() or "start workers" not in (out / "journal.json").read_text():
            assert time.monotonic() < deadline and proc.poll() is None, "the workers did not start"
            time.sleep(0.1)
        assert chattr("+i", out)
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        chattr("-i", out)
        if proc.poll() is None:
            proc.kill()
    result = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    assert_harness_error(result, out, marker, f"cannot write {out / 'journal.json'} after step", None)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("library", ["pydantic_core", "temporal_sdk_bridge"])
def test_a_signal_while_the_command_is_still_loading_is_exit_3(tmp_path, sig, library):
    """Sent once the process has mapped `library` (loaded while the commands import, before anything starts):
    exit 3 without a traceback, and the out dir untouched."""
    proc = subprocess.Popen(
        [READINESS, "run", "--out", str(tmp_path / "out")], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while library not in Path(f"/proc/{proc.pid}/maps").read_text(errors="replace"):
            assert time.monotonic() < deadline and proc.poll() is None, f"{library} was never loaded"
            time.sleep(0.005)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, stdout + stderr
    assert "Traceback" not in stdout + stderr and "interrupted" in stderr
