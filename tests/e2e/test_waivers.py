"""Waivers end to end, on the fastest flawed variant (alerts_missing_type: one scenario, NO-GO on alerts.static for
OrderWorkflow only, about 6 s a run): a valid waiver gives GO-WITH-WAIVERS, the same waiver expired gives NO-GO, and a
broken waivers file stops the run before anything starts. The waiver files are dated from today."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import REPO, write
from tests.e2e.test_cli_run import processes_with_marker, run_cli

pytestmark = pytest.mark.e2e
CONFIG = REPO / "sample_workflows" / "flawed" / "alerts_missing_type.yaml"
WAIVERS = """\
version: 1
waivers:
  - check: alerts.static
    scope: workflow_type:OrderWorkflow
    reason: the per-type failure alert ships with the dashboards rework
    owner: orders-team
    ticket: OPS-412
    expires: {expires}
  - check: retry.outage
    reason: the payment service is rate limited upstream
    owner: payments-team
    ticket: PAY-123
    expires: {expires}
"""


def run_with_waivers(tmp_path: Path, name: str, text: str):
    waivers = write(tmp_path / f"{name}.yaml", text)
    out, marker = tmp_path / name, uuid.uuid4().hex
    result = run_cli(
        "run", "--config", str(CONFIG), "--waivers", str(waivers), "--out", str(out), "--history-db", str(tmp_path / "history.db"),
        marker=marker,
    )
    assert processes_with_marker(marker) == []
    return result, out


def test_a_valid_waiver_is_go_with_waivers_and_the_same_waiver_expired_is_no_go(tmp_path):
    today = date.today()
    result, out = run_with_waivers(tmp_path, "valid", WAIVERS.format(expires=today + timedelta(days=365)))
    assert result.returncode == 0, result.stdout + result.stderr
    card = json.loads((out / "scorecard.json").read_text())
    checks = {c["id"]: c for c in card["checks"]}
    assert card["verdict"] == "GO-WITH-WAIVERS" and card["exit_code"] == 0
    static = checks["alerts.static"]
    assert static["status"] == "FAIL" and static["subjects"] == ["workflow_type:OrderWorkflow"]
    assert [(w["ticket"], w["scope"], w["expired"]) for w in static["waivers"]] == [("OPS-412", "workflow_type:OrderWorkflow", False)]
    assert [w["ticket"] for w in card["unused_waivers"]] == ["PAY-123"]
    assert card["verdict_reason"].endswith(f"waived: alerts.static (OPS-412, expires {today + timedelta(days=365)})")
    markdown = (out / "scorecard.md").read_text()
    top = markdown.split("## Run")[0]
    assert "## Verdict: **GO-WITH-WAIVERS**" in top and "## Waived failures" in top and "| OPS-412 | orders-team |" in top
    assert "## Unused waivers" in top and "retry.outage did not run in this run" in top
    assert 'message="WAIVED (OPS-412, expires' in (out / "junit.xml").read_text()
    assert "Waived failures:" in result.stdout and "Verdict: GO-WITH-WAIVERS" in result.stdout

    yesterday = today - timedelta(days=1)
    result, out = run_with_waivers(tmp_path, "expired", WAIVERS.format(expires=yesterday))
    assert result.returncode == 1, result.stdout + result.stderr
    card = json.loads((out / "scorecard.json").read_text())
    assert card["verdict"] == "NO-GO" and card["verdict_reason"] == f"alerts.static: waiver OPS-412 expired on {yesterday}"
    assert [w["expired"] for c in card["checks"] for w in c["waivers"]] == [True]
    assert f"| **EXPIRED** {yesterday} |" in (out / "scorecard.md").read_text()
    assert f"EXPIRED on {yesterday}" in result.stdout


def test_a_broken_waivers_file_is_exit_2_with_one_line_and_nothing_started_or_written(tmp_path):
    broken = WAIVERS.format(expires=date.today() + timedelta(days=30)).replace("    owner: payments-team\n", "")
    result, out = run_with_waivers(tmp_path, "broken", broken)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"error: {tmp_path / 'broken.yaml'}: waivers[1].owner: required key is missing"]
    assert result.stdout == "" and not out.exists() and not (tmp_path / "history.db").exists()
