"""Verdict rule and renderers (JSON round trip, Markdown, JUnit XML)."""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap
from xml.etree import ElementTree as ET

import pytest

from harness.checks.determinism import restart_replay
from harness.scorecard import EXIT_CODES, Scorecard, Status, Verdict, decide
from harness.scorecard.model import SCHEMA_VERSION, CheckResult, RunInfo, ScenarioSummary, TargetInfo
from harness.scorecard.render import to_json, to_junit, to_markdown, write_reports
from tests.conftest import REPO
from tests.unit.observations import nondeterministic, observations

DONE = ScenarioSummary(name="worker-restart", kind="worker_restart", status="completed", duration_s=1.0)


def check(status: Status, cid: str = "x.y") -> CheckResult:
    return CheckResult(id=cid, scenario="s", failure_mode="m", status=status, summary=f"{cid} {status.value}")


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        ([Status.PASS], Verdict.GO),
        ([Status.PASS, Status.WARN, Status.SKIPPED], Verdict.GO),
        ([Status.PASS, Status.FAIL], Verdict.NO_GO),
        ([Status.FAIL, Status.ERROR], Verdict.NO_GO),
        ([Status.PASS, Status.NO_DATA], Verdict.INCONCLUSIVE),
        ([Status.PASS, Status.ERROR], Verdict.INCONCLUSIVE),
        ([], Verdict.INCONCLUSIVE),
    ],
)
def test_verdict_rule(statuses, verdict):
    got, reason = decide([check(s, f"c{i}") for i, s in enumerate(statuses)], [DONE])
    assert got == verdict and reason


def test_scenario_that_did_not_finish_is_inconclusive():
    broken = DONE.model_copy(update={"status": "error", "error": "boom"})
    verdict, reason = decide([check(Status.PASS)], [broken])
    assert verdict == Verdict.INCONCLUSIVE and "worker-restart" in reason


def test_exit_codes_contract():
    assert EXIT_CODES == {Verdict.GO: 0, Verdict.GO_WITH_WAIVERS: 0, Verdict.NO_GO: 1, Verdict.INCONCLUSIVE: 3}


def card(checks: list[CheckResult]) -> Scorecard:
    verdict, reason = decide(checks, [DONE])
    return Scorecard(
        verdict=verdict, exit_code=EXIT_CODES[verdict], verdict_reason=reason,
        run=RunInfo(
            id="abc", started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:00:20Z", duration_s=20.0,
            config_file="readiness.yaml", app_name="shop", app_git_commit="deadbeef", harness_version="0.1.0",
            sdk_version="1.35.0", python_version="3.11.7",
            target=TargetInfo(kind="embedded", address="127.0.0.1:7233", namespace="default", server_version="1.32.0"),
        ),
        scenarios=[DONE], checks=checks, artifacts={"journal": "journal.json"},
    )


def test_json_round_trips_with_schema_version():
    original = card([restart_replay(nondeterministic(2), None, None)])
    again = Scorecard.model_validate_json(to_json(original))
    assert again == original and again.schema_version == SCHEMA_VERSION and again.verdict == Verdict.NO_GO


def test_markdown_shows_verdict_evidence_tables_and_fix():
    text = to_markdown(card([restart_replay(nondeterministic(2), None, None)]))
    assert "## Verdict: **NO-GO**" in text
    assert "| `determinism.restart_replay` | worker-restart | ❌ FAIL |" in text
    assert "| workflow_id | status | error_class | message | history |" in text
    assert "| wf-1 | RUNNING | NondeterminismError |" in text
    assert "**What to fix:**" in text and "workflow.patched" in text
    assert "deadbeef" in text and "server 1.32.0" in text
    assert "`readiness run` run id" in text and "profile `local`" in text


def test_junit_has_one_case_per_check_with_failure_and_error():
    checks = [restart_replay(nondeterministic(1), None, None), restart_replay(observations(2), None, None), check(Status.NO_DATA, "n.d"), check(Status.SKIPPED, "s.k")]
    root = ET.fromstring(to_junit(card(checks)))
    suite = root.find("testsuite")
    assert suite.get("tests") == "4" and suite.get("failures") == "1" and suite.get("errors") == "1" and suite.get("skipped") == "1"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["determinism.restart_replay", "determinism.restart_replay", "n.d", "s.k"]
    assert "wf-0" in cases[0].find("failure").get("message")
    assert cases[1].find("failure") is None and cases[2].find("error") is not None


def test_write_reports_writes_the_four_formats(tmp_path):
    paths = write_reports(card([restart_replay(observations(2), None, None)]), tmp_path)
    assert sorted(p.name for p in paths.values()) == ["junit.xml", "scorecard.html", "scorecard.json", "scorecard.md"]
    assert Scorecard.model_validate_json((tmp_path / "scorecard.json").read_text()).verdict == Verdict.GO
    assert not list(tmp_path.glob(".*.tmp"))


def test_write_reports_is_all_or_nothing_when_the_disk_fills_up(tmp_path):
    """The page with charts is the largest report: a write limit it alone exceeds (a real short write, in a child
    process) must leave no report at all, not a scorecard.json standing for a run whose reports are missing."""
    source = write_reports(card([restart_replay(observations(2), None, None)]), tmp_path / "full")
    sizes = {name: path.stat().st_size for name, path in source.items()}
    limit = max(size for name, size in sizes.items() if name != "scorecard.html") + 1
    assert sizes["scorecard.html"] > limit
    code = textwrap.dedent("""
        import resource, signal, sys
        from pathlib import Path
        from harness.scorecard.model import Scorecard
        from harness.scorecard.render import write_reports
        card = Scorecard.model_validate_json(Path(sys.argv[1]).read_text())
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))
        try:
            write_reports(card, Path(sys.argv[2]))
        except OSError as exc:
            print(exc.errno)
    """)
    out = tmp_path / "cut"
    out.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", code, str(source["scorecard.json"]), str(out), str(limit)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert result.stdout.strip() == str(errno.EFBIG), result.stderr
    assert list(out.iterdir()) == []
