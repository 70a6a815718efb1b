"""`readiness audit-histories` on history files as a nightly CI job would run it: exit codes, output and bad input."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO, write
from tests.e2e.test_cli_run import run_cli

pytestmark = pytest.mark.e2e
RECORDED = REPO / "tests/fixtures/policy_histories"


def test_recorded_histories_pass_and_say_what_history_alone_cannot_judge(tmp_path):
    result = run_cli("audit-histories", str(RECORDED), "--json", str(tmp_path / "audit.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    out = " ".join(result.stdout.split())
    assert "PASS All 2 retry policies" in out and "local_activity flaky (history, seen 1)" in out and "not judged" in out
    report = json.loads((tmp_path / "audit.json").read_text())
    assert report["id"] == "retry.policy" and report["scenario"] == "audit-histories"
    assert report["evidence"]["code"].startswith("no --workflows given")


def test_a_retry_policy_the_config_calls_unsafe_is_exit_1(tmp_path):
    history = json.loads((RECORDED / "local_activity_and_child.json").read_text())
    started = history["events"][0]["workflowExecutionStartedEventAttributes"]
    started["retryPolicy"]["maximumAttempts"] = 0  # the workflow itself now retries forever, with no execution timeout
    path = write(tmp_path / "histories/forever.json", json.dumps(history))
    result = run_cli("audit-histories", str(path.parent))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "workflow Parent: unlimited attempts and no execution timeout" in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--query", "x", str(RECORDED)], "only apply with --from-cluster"),
        (["--from-cluster"], "--from-cluster needs --query"),
        ([], "give history files/folders"),
        (["--workflows", "no.such.module", str(RECORDED)], "module no.such.module not found"),
    ],
)
def test_bad_usage_is_exit_2_with_one_line(args, message):
    result = run_cli("audit-histories", *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_a_file_that_is_not_a_history_is_exit_2_naming_it(tmp_path):
    bad = write(tmp_path / "h/broken.json", '{"events": [')
    result = run_cli("audit-histories", str(bad.parent), "--json", str(tmp_path / "audit.json"))
    assert result.returncode == 2 and str(bad) in result.stderr and "invalid JSON" in result.stderr
    assert not (tmp_path / "audit.json").exists()
