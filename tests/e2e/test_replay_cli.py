"""The determinism gate as teams use it: `readiness capture` a corpus from one version, `readiness replay` it
against the next, on real histories from the embedded dev server, through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import REPO, write
from tests.e2e.test_cli_run import READINESS, processes_with_marker, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("replay-corpora")]  # one process builds the two corpora once
V1 = "sample_workflows.orders:OrderWorkflow"


def capture(config: str, corpus: Path) -> Path:
    result = run_cli("capture", "--config", config, "--scenario", "worker-restart", "--out", str(corpus))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Captured 6 histories into {corpus}" in " ".join(result.stdout.split())
    return corpus


@pytest.fixture(scope="module")
def v1_corpus(tmp_path_factory) -> Path:
    return capture("readiness.yaml", tmp_path_factory.mktemp("corpus-v1"))


@pytest.fixture(scope="module")
def v2_corpus(tmp_path_factory) -> Path:
    return capture("sample_workflows/versions/v2_patched.yaml", tmp_path_factory.mktemp("corpus-v2"))


def replay(corpus: Path, workflows: str, tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    report = tmp_path / "replay.json"
    report.unlink(missing_ok=True)
    result = run_cli("replay", str(corpus), "--workflows", workflows, "--json", str(report), "--junit", str(tmp_path / "junit.xml"), *extra)
    return result, (json.loads(report.read_text()) if report.exists() else {})


def kinds(report: dict) -> set:
    return {r["kind"] for r in report["results"]}


def test_capture_keeps_histories_and_the_run_apart(v1_corpus):
    histories = sorted(p.name for p in v1_corpus.glob("*.json"))
    assert len(histories) == 6 and all(name.startswith("order-") for name in histories)
    assert (v1_corpus / ".run" / "scorecard.json").is_file()


def test_good_app_corpus_replays_clean_with_junit_per_history(v1_corpus, tmp_path):
    result, report = replay(v1_corpus, V1, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["summary"] == {"histories": 6, "replayed": 6, "failed": 0, "by_kind": {}}
    assert report["hash_seeds"] == [0, 1]
    junit = ET.parse(tmp_path / "junit.xml").getroot()
    cases = junit.findall(".//testcase")
    assert len(cases) == 6 and {c.get("classname") for c in cases} == {"OrderWorkflow"}
    assert not junit.findall(".//failure")


def test_unpatched_v2_fails_v1_histories_with_nondeterminism(v1_corpus, tmp_path):
    result, report = replay(v1_corpus, "sample_workflows.versions.v2_unpatched", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert kinds(report) == {"nondeterminism"} and report["summary"]["failed"] == 6
    first = report["results"][0]
    assert "'reserve_inventory' does not match activity type of activity command 'screen_order'" in first["error_message"]
    assert first["workflow_id"].startswith("order-") and first["run_id"]
    explained = first["explanation"]  # the SDK's line read against the history: both sides, and the guard
    assert explained["recorded"] == "ScheduleActivityTask reserve_inventory (event 5)"
    assert explained["issued"] == "ScheduleActivityTask screen_order" and "workflow.patched(" in explained["guard"]
    failures = ET.parse(tmp_path / "junit.xml").getroot().findall(".//failure")
    assert len(failures) == 6 and {f.get("type") for f in failures} == {"nondeterminism"}


def test_patched_v2_replays_v1_histories(v1_corpus, tmp_path):
    result, report = replay(v1_corpus, "sample_workflows.versions.v2_patched", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["summary"]["replayed"] == 6
    assert report["patches"]["in_code"]["patched"] == ["fraud-screening"]


def test_removed_patch_still_in_histories(v2_corpus, tmp_path):
    result, report = replay(v2_corpus, "sample_workflows.versions.v3_patch_removed", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert kinds(report) == {"nondeterminism"}
    assert "patch marker encountered for change fraud-screening" in report["results"][0]["error_message"]
    assert report["results"][0]["explanation"]["recorded"].startswith("RecordMarker patch 'fraud-screening'")
    removed = report["patches"]["removed_while_in_histories"]
    assert [(r["patch_id"], r["histories"]) for r in removed] == [("fraud-screening", 6)]
    assert "patch fraud-screening:" in result.stdout


def test_deprecated_patch_replays_and_warns_while_markers_are_live(v2_corpus, tmp_path):
    result, report = replay(v2_corpus, "sample_workflows.versions.v3_deprecated", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["patches"]["in_histories"] == {"fraud-screening": {"live": 6, "deprecated": 0}}
    assert [r["patch_id"] for r in report["patches"]["deprecated_while_live"]] == ["fraud-screening"]
    assert report["patches"]["removed_while_in_histories"] == []


def test_set_iteration_is_found_only_by_the_hash_seed_pass(tmp_path_factory, tmp_path):
    corpus = tmp_path_factory.mktemp("corpus-set-order")
    result = run_cli("capture", "--config", "sample_workflows/flawed/set_order.yaml", "--out", str(corpus))
    assert "Captured 6 histories" in " ".join(result.stdout.split()), result.stdout + result.stderr
    single, single_report = replay(corpus, "sample_workflows.flawed.set_order", tmp_path, "--single-pass")
    assert single.returncode == 0 and single_report["summary"]["replayed"] == 6, single.stdout + single.stderr
    both, report = replay(corpus, "sample_workflows.flawed.set_order", tmp_path)
    assert both.returncode == 1, both.stdout + both.stderr
    assert kinds(report) == {"hash_order"}
    assert "replays with PYTHONHASHSEED=0 but not with PYTHONHASHSEED=1" in report["results"][0]["error_message"]


@pytest.mark.parametrize(
    ("workflows", "kind", "fragment"),
    [
        ("tests.fixtures.replay_variants:ReadsWallClock", "sandbox", "Cannot access time.time"),
        ("tests.fixtures.replay_variants:Crashes", "error", "order store unavailable"),
        ("benchmarks.replay_workflows:BenchWorkflow", "unregistered", "OrderWorkflow is not registered"),
    ],
)
def test_other_failure_kinds(v1_corpus, tmp_path, workflows, kind, fragment):
    result, report = replay(v1_corpus, workflows, tmp_path, "--single-pass", "--jobs", "1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert kinds(report) == {kind}
    assert fragment in report["results"][0]["error_message"]


def test_corrupt_history_is_exit_2_naming_the_file_and_writes_nothing(v1_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for history in sorted(v1_corpus.glob("*.json"))[:3]:
        (corpus / history.name).write_bytes(history.read_bytes())
    broken = write(corpus / "zz-broken.json", '{"events": [{"eventId": "1", ')
    result, report = replay(corpus, V1, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{broken}: invalid JSON" in result.stderr and "Traceback" not in result.stderr
    assert report == {} and not (tmp_path / "junit.xml").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--workflows", "sample_workflows.nope"], "No module named 'sample_workflows.nope'"),
        (["--workflows", "sample_workflows.models"], "no @workflow.defn class"),
        (["--workflows", "not a path"], "expected MODULE[:CLASS]"),
        (["--workflows", V1, "--query", "x"], "only apply with --from-cluster"),
    ],
)
def test_bad_replay_input_is_exit_2(v1_corpus, args, fragment):
    result = run_cli("replay", str(v1_corpus), *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_missing_path_and_empty_folder_are_exit_2(tmp_path):
    missing = run_cli("replay", str(tmp_path / "nope"), "--workflows", V1)
    assert missing.returncode == 2 and "no such history file or folder" in missing.stderr
    empty = run_cli("replay", str(tmp_path), "--workflows", V1)
    assert empty.returncode == 2 and "no history files" in empty.stderr


def test_pytest_plugin_turns_histories_into_test_cases(v1_corpus, tmp_path):
    def pytest_run(workflows: str, *extra: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                "--replay-histories", str(v1_corpus), "--replay-workflows", workflows, str(tmp_path), *extra]
        return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)

    good = pytest_run(V1)
    assert good.returncode == 0 and "6 passed" in good.stdout, good.stdout + good.stderr
    bad = pytest_run("sample_workflows.versions.v2_unpatched")
    assert bad.returncode == 1 and "6 failed" in bad.stdout, bad.stdout + bad.stderr
    assert "nondeterminism" in bad.stdout and "screen_order" in bad.stdout
    one = pytest_run("sample_workflows.versions.v2_unpatched", "-k", "restart-1")
    assert "1 failed, 5 deselected" in one.stdout, one.stdout + one.stderr
    missing = pytest_run(V1, "--replay-jobs", "0")
    assert missing.returncode == 4 and "--replay-jobs must be at least 1" in missing.stderr


def test_audit_command(tmp_path):
    flawed = run_cli("audit", "sample_workflows.flawed.set_order", "--json", str(tmp_path / "audit.json"))
    assert flawed.returncode == 0, flawed.stdout + flawed.stderr
    assert "set_order.py:" in flawed.stdout and "set-iteration" in flawed.stdout and "WARN" in flawed.stdout
    assert json.loads((tmp_path / "audit.json").read_text())["status"] == "WARN"
    assert run_cli("audit", "sample_workflows.flawed.set_order", "--strict").returncode == 1
    clean = run_cli("audit", V1)
    assert clean.returncode == 0 and "PASS" in clean.stdout
    unknown = run_cli("audit", "sample_workflows.nope")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_replay_stops_every_replay_process_and_writes_nothing(v1_corpus, tmp_path, sig):
    from benchmarks.replay import write_corpus

    write_corpus([json.loads(p.read_text()) for p in sorted(v1_corpus.glob("*.json"))], 400, tmp_path / "big")
    marker = uuid.uuid4().hex
    proc = subprocess.Popen(
        [READINESS, "replay", str(tmp_path / "big"), "--workflows", V1, "--json", str(tmp_path / "r.json")],
        cwd=REPO, env={**os.environ, "E2E_MARKER": marker}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while len(processes_with_marker(marker)) < 2 and time.monotonic() < deadline:  # the CLI and a replay child
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3 and "interrupted" in err, err
    assert processes_with_marker(marker) == [] and not (tmp_path / "r.json").exists()
