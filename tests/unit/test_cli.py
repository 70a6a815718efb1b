"""CLI contract for bad input: one clear line on stderr, exit 2, no traceback, nothing written."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from harness.cli import main
from tests.conftest import REPO, write


@pytest.fixture
def cli():
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def assert_one_clean_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output + result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_validate_accepts_the_shipped_files(cli):
    result = cli("validate", str(REPO / "readiness.yaml"), str(REPO / "scenarios/worker-restart.yaml"))
    assert result.exit_code == 0
    assert "(config)" in result.stdout and "(scenario)" in result.stdout


def test_validate_broken_yaml(cli, tmp_path):
    path = write(tmp_path / "s.yaml", "name: x\nkind: worker_restart\nworkflows: [1\n")
    assert_one_clean_error(cli("validate", str(path)), str(path), "invalid YAML")


def test_validate_bad_scenario_value(cli, tmp_path):
    path = write(tmp_path / "s.yaml", "name: x\nkind: worker_restart\nworkflows: lots\n")
    assert_one_clean_error(cli("validate", str(path)), f"{path}: workflows:", "valid integer", '"lots"')


def test_run_with_missing_config_writes_nothing(cli, tmp_path):
    out = tmp_path / "out"
    assert_one_clean_error(cli("run", "--config", str(tmp_path / "nope.yaml"), "--out", str(out)), "file not found")
    assert not out.exists()


def test_run_with_unknown_scenario(cli, tmp_path):
    result = cli("run", "--config", str(REPO / "readiness.yaml"), "--scenario", "nope", "--out", str(tmp_path / "o"))
    assert_one_clean_error(result, "no scenario named 'nope'", "worker-restart")


@pytest.mark.parametrize("address", ["localhost", "host:port", "a b:1"])
def test_run_with_bad_address(cli, tmp_path, address):
    assert_one_clean_error(cli("run", "--address", address, "--out", str(tmp_path / "o")), "--address", "HOST:PORT")
    assert not (tmp_path / "o").exists()


def test_run_with_unwritable_out_dir(cli, tmp_path):
    blocker = write(tmp_path / "file", "")
    assert_one_clean_error(cli("run", "--out", str(blocker / "sub")), "--out", "cannot write reports")


def test_wrong_flag_is_a_usage_error(cli):
    result = cli("run", "--frobnicate")
    assert result.exit_code == 2 and "No such option '--frobnicate'" in result.stderr


def test_schema_prints_json_schema(cli):
    result = cli("schema", "--kind", "scenario")
    assert result.exit_code == 0
    kinds = {s["properties"]["kind"]["const"]: s for s in json.loads(result.stdout)["oneOf"]}
    assert set(kinds) == {
        "worker_restart", "retry_outage", "non_retryable", "schedule_to_start", "longrun_heartbeat", "signals_concurrent", "time_skip",
            "deploy", "versioning", "server_connection", "server_restart",
    }
    assert kinds["worker_restart"]["additionalProperties"] is False and "kill_signal" in kinds["worker_restart"]["properties"]


def test_ctrl_c_outside_the_async_part_is_exit_3_not_no_go(cli, tmp_path, monkeypatch):
    """Ctrl-C while a command reads or writes files (outside run_async) is an interruption (exit 3), never exit 1:
    1 means NO-GO to a CI job."""

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sys.modules["harness.cli.report"], "write_atomic", interrupted)  # harness.cli.report is also the command
    scorecard = REPO / "tests" / "fixtures" / "scorecards" / "good-app.json"
    result = cli("report", str(scorecard), "--out", str(tmp_path / "page.html"))
    assert result.exit_code == 3, result.output
    assert result.stderr.strip() == "error: interrupted" and "Aborted" not in result.output
    assert not (tmp_path / "page.html").exists()


def test_a_signal_while_the_async_part_runs_code_that_never_yields_still_ends_in_exit_3(tmp_path):
    """The run-wide checks and the reports never yield to the event loop: a Ctrl-C or SIGTERM then is honoured once
    they finish (what they wrote is complete) and the run still exits 3, never with a verdict it was asked to drop."""
    from harness.cli.common import run_async

    async def finishes_anyway() -> str:
        threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()
        time.sleep(0.6)  # CPU work that never awaits
        (tmp_path / "scorecard.json").write_text("{}")
        return "GO"

    with pytest.raises(SystemExit) as exited:
        run_async(finishes_anyway(), crash_dir=tmp_path)
    assert exited.value.code == 3 and (tmp_path / "scorecard.json").read_text() == "{}"


def test_a_signal_that_lands_on_another_thread_still_interrupts_at_once(tmp_path):
    """The SDK runs threads of its own: a Ctrl-C the kernel hands to one of them must still wake the event loop."""
    from harness.cli.common import run_async

    def from_another_thread() -> None:
        time.sleep(0.2)
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    async def waits() -> str:
        threading.Thread(target=from_another_thread).start()
        await asyncio.sleep(60)
        return "GO"

    started = time.monotonic()
    with pytest.raises(SystemExit) as exited:
        run_async(waits(), crash_dir=tmp_path)
    assert exited.value.code == 3 and time.monotonic() - started < 30  # not after the 60 s sleep


def test_run_help_names_every_report_it_writes(cli):
    from harness.run_info import REPORT_FILES

    shown = " ".join(cli("run", "--help").stdout.split())
    assert all(name in shown for name in REPORT_FILES if name != "journal.json"), shown
