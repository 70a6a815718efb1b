"""Replay building blocks that need no server: classification, history loading, pass merging, patch
lifecycle, JSON and JUnit rendering."""

from __future__ import annotations

import errno
import json
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

from harness.errors import ConfigError
from harness.journal import write_all_or_nothing
from harness.observe.model import ReplayOutcome
from harness.replay import cluster, corpus
from harness.replay.classify import classify, short_message
from harness.replay.report import (
    PatchTally,
    ReplayReport,
    combine,
    patch_lifecycle,
    to_json,
    to_junit,
)
from tests.conftest import REPO, write

HISTORY = REPO / "tests/fixtures/histories/order-v1.json"

# Error texts exactly as the SDK (temporalio 1.35) raised them when replaying real histories.
NDE = (
    'Workflow activation completion failed: Failure { failure: Some(Failure { message: "[TMPRL1100] Nondeterminism '
    "error: Activity type of scheduled event 'reserve_inventory' does not match activity type of activity command "
    "'screen_order'\", source: \"\", stack_trace: \"\", encoded_attributes: None, cause: None, failure_info: "
    'Some(ApplicationFailureInfo(ApplicationFailureInfo { r#type: "", non_retryable: false })) }), force_cause: NonDeterministicError }'
)
NDE_WITH_EVENT = (
    'Workflow activation completion failed: Failure { failure: Some(Failure { message: "[TMPRL1100] Nondeterminism '
    'error: Timer machine does not handle this event: HistoryEvent(id: 5, ActivityTaskScheduled)", source: "" }) }'
)
SANDBOX = (
    '4: Workflow activation completion failed: Failure { failure: Some(Failure { message: "Cannot access '
    'time.time.__call__ from inside a workflow. If this is code from a module not used in a workflow or known to '
    'only be used deterministically from a workflow, mark the import as pass through.", source: "", stack_trace: "", '
    'failure_info: Some(ApplicationFailureInfo(ApplicationFailureInfo { r#type: "RestrictedWorkflowAccessError", '
    "non_retryable: false })) }), force_cause: Unspecified }"
)
UNREGISTERED = (
    '4: Workflow activation completion failed: Failure { failure: Some(Failure { message: "Workflow class '
    'OrderWorkflow is not registered on this worker, available workflows: Other", source: "", failure_info: '
    'Some(ApplicationFailureInfo(ApplicationFailureInfo { r#type: "NotFoundError", non_retryable: false })) }) }'
)
BOOM = (
    '4: Workflow activation completion failed: Failure { failure: Some(Failure { message: "boom", source: "", '
    'failure_info: Some(ApplicationFailureInfo(ApplicationFailureInfo { r#type: "RuntimeError" })) }) }'
)


@pytest.mark.parametrize(
    ("error_class", "raw", "kind", "message_start", "event_id"),
    [
        ("NondeterminismError", NDE, "nondeterminism", "[TMPRL1100] Nondeterminism error: Activity type", None),
        ("NondeterminismError", NDE_WITH_EVENT, "nondeterminism", "[TMPRL1100]", 5),
        ("RuntimeError", SANDBOX, "sandbox", "Cannot access time.time.__call__", None),
        ("RuntimeError", UNREGISTERED, "unregistered", "Workflow class OrderWorkflow is not registered", None),
        ("RuntimeError", BOOM, "error", "boom", None),
        ("ValueError", "plain text", "error", "plain text", None),
    ],
)
def test_classify_real_sdk_errors(error_class, raw, kind, message_start, event_id):
    got_kind, message, got_event = classify(error_class, raw)
    assert (got_kind, got_event) == (kind, event_id)
    assert message.startswith(message_start)
    assert "Failure {" not in message


def test_short_message_unescapes_quotes():
    assert short_message('x { message: "say \\"hi\\"", source: "" }') == 'say "hi"'


def _outcome(path: str, ok: bool, kind: str | None = None, message: str | None = None, event_id: int | None = None):
    return ReplayOutcome("wf", "run", ok, None if ok else "NondeterminismError", message, kind, event_id, "OrderWorkflow", path)


def test_combine_both_passes():
    ok, bad = _outcome("a", True), _outcome("a", False, "nondeterminism", "mismatch", 7)
    assert combine(ok, ok, (0, 1)) is ok
    assert combine(bad, bad, (0, 1)) is bad
    assert combine(bad, None, (0,)) is bad
    one_pass = combine(ok, bad, (0, 1))
    assert (one_pass.ok, one_pass.kind, one_pass.event_id) == (False, "hash_order", 7)
    assert "replays with PYTHONHASHSEED=0 but not with PYTHONHASHSEED=1: mismatch" in one_pass.error_message
    other_way = combine(bad, ok, (0, 1))
    assert "replays with PYTHONHASHSEED=1 but not with PYTHONHASHSEED=0" in other_way.error_message
    both_fail = combine(bad, _outcome("a", False, "error", "other", 9), (0, 1))
    assert both_fail is bad


def test_patch_lifecycle():
    tally = PatchTally()
    tally.add([("fraud-screening", False), ("fraud-screening", False)])  # twice in one history counts once
    tally.add([("fraud-screening", False), ("old-fix", True)])
    tally.add([["legacy", False]])
    report = patch_lifecycle(tally, code_patched=["new-one"], code_deprecated=["fraud-screening"])
    assert report["in_histories"]["fraud-screening"] == {"live": 2, "deprecated": 0}
    assert [r["patch_id"] for r in report["removed_while_in_histories"]] == ["legacy"]
    assert [(r["patch_id"], r["histories"]) for r in report["deprecated_while_live"]] == [("fraud-screening", 2)]
    clean = patch_lifecycle(tally, code_patched=["fraud-screening", "legacy"], code_deprecated=[])
    assert clean["removed_while_in_histories"] == [] and clean["deprecated_while_live"] == []


def _report(outcomes):
    patches = patch_lifecycle(PatchTally(), [], [])
    return ReplayReport(tuple(outcomes), ("m:W",), (0, 1), 2, 1.5, patches)


def test_json_and_junit_one_case_per_history():
    outcomes = [
        _outcome("h/ok.json", True),
        _outcome("h/bad.json", False, "sandbox", "Cannot access \x1b[31mtime\x00 <&>", None),
        _outcome("h/nde.json", False, "nondeterminism", "mismatch", 11),
    ]
    report = _report(outcomes)
    data = json.loads(to_json(report))
    assert data["summary"] == {"histories": 3, "replayed": 1, "failed": 2, "by_kind": {"nondeterminism": 1, "sandbox": 1}}
    assert report.exit_code == 1 and _report(outcomes[:1]).exit_code == 0
    root = ET.fromstring(to_junit(report).encode())
    cases = root.findall(".//testcase")
    assert len(cases) == 3 and root.get("tests") == "3" and root.get("failures") == "2"
    failures = {c.get("file"): c.find("failure") for c in cases}
    assert failures["h/ok.json"] is None
    assert failures["h/nde.json"].get("type") == "nondeterminism"
    assert failures["h/nde.json"].get("message").startswith("nondeterminism at event 11: mismatch")
    assert "\x1b" not in failures["h/bad.json"].get("message")


def test_load_every_history_format(tmp_path):
    proto = json.loads(HISTORY.read_text())
    expected = corpus.load(HISTORY)
    assert expected.workflow_id == proto["events"][0]["workflowExecutionStartedEventAttributes"]["workflowId"]
    assert corpus.workflow_type(expected) == "OrderWorkflow"

    def pascal(value: str) -> str:
        words = re.sub(r"^(EVENT_TYPE|TASK_QUEUE_KIND)_", "", value).split("_")
        return "".join(w.capitalize() for w in words)

    ui = json.loads(HISTORY.read_text())
    for event in ui["events"]:
        event["eventType"] = pascal(event["eventType"])
        for attrs in event.values():
            if isinstance(attrs, dict) and "taskQueue" in attrs and "kind" in attrs["taskQueue"]:
                attrs["taskQueue"]["kind"] = pascal(attrs["taskQueue"]["kind"])
    assert ui["events"][0]["eventType"] == "WorkflowExecutionStarted"
    ui_file = write(tmp_path / "ui.json", json.dumps(ui))
    bare_list = write(tmp_path / "list.json", json.dumps(ui["events"]))
    for path in (ui_file, bare_list):
        loaded = corpus.load(path)
        assert [e.event_type for e in loaded.events] == [e.event_type for e in expected.events]
        assert loaded.workflow_id == expected.workflow_id


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "invalid JSON at line 1"),
        ('{"events": []}', "expected a workflow history"),
        ('{"something": 1}', "expected a workflow history"),
        ('{"events": [{"eventId": "abc"}]}', "not a Temporal history"),
        ('{"events": [{"eventType": "NoSuchEvent"}]}', "first event is not WorkflowExecutionStarted"),
        ('{"events": [{"eventId": "1", "eventType": "EVENT_TYPE_TIMER_STARTED"}]}', "first event is not WorkflowExecutionStarted"),
    ],
)
def test_load_rejects_bad_files_naming_them(tmp_path, content, fragment):
    path = write(tmp_path / "broken.json", content)
    with pytest.raises(ConfigError) as error:
        corpus.load(path)
    assert str(error.value).startswith(str(path)) and fragment in str(error.value)


def test_load_rejects_absurd_nesting(tmp_path):
    path = write(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match="deep.json: JSON nested too deeply"):
        corpus.load(path)


def test_pulled_file_names_are_never_hidden():
    assert cluster.file_name(".hidden/id", "r1") == "_.hidden_id__r1.json"
    assert cluster.file_name("order-1", "r2") == "order-1__r2.json"


def test_write_all_or_nothing(tmp_path):
    write_all_or_nothing({tmp_path / "a.json": "A", tmp_path / "sub/b.xml": "B"})
    assert (tmp_path / "a.json").read_text() == "A" and (tmp_path / "sub/b.xml").read_text() == "B"
    blocker = write(tmp_path / "file", "")
    with pytest.raises(OSError):
        write_all_or_nothing({tmp_path / "c.json": "C", blocker / "d.xml": "D"})
    assert not (tmp_path / "c.json").exists() and not list(tmp_path.glob(".*.tmp"))


def test_load_rejects_binary(tmp_path):
    path = tmp_path / "blob.json"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="blob.json"):
        corpus.load(path)


def test_discover_streams_json_and_skips_hidden(tmp_path):
    for name in ("b.json", "a.json", "sub/c.json", ".run/scorecard.json", ".hidden.json", "notes.txt"):
        write(tmp_path / name, "{}")
    found = [p.relative_to(tmp_path).as_posix() for p in corpus.discover([tmp_path])]
    assert found == ["a.json", "b.json", "sub/c.json"]
    assert list(corpus.discover([tmp_path / "notes.txt"])) == [tmp_path / "notes.txt"]
    with pytest.raises(ConfigError, match="no such history file"):
        corpus.check_paths([tmp_path / "missing"])


def test_patch_markers_read_from_history():
    assert corpus.patch_markers(corpus.load(HISTORY)) == []



@pytest.mark.parametrize("writer", ["write_atomic", "write_all_or_nothing"])
def test_a_write_cut_short_leaves_no_temporary_file(tmp_path, writer):
    """A write that fails half-way (a full disk; here a real short write under a file-size limit, in a child process)
    leaves neither the file nor its temporary file behind."""
    code = textwrap.dedent(f"""
        import resource, signal, sys
        from pathlib import Path
        from harness import journal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        path = Path(sys.argv[1]) / "journal.json"
        try:
            journal.{writer}(path, "x" * 100_000) if "{writer}" == "write_atomic" else journal.{writer}({{path: "x" * 100_000}})
        except OSError as exc:
            print(exc.errno)
    """)
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.stdout.strip() == str(errno.EFBIG), result.stderr
    assert list(tmp_path.iterdir()) == []


def test_load_rejects_event_sequences_the_server_never_writes(tmp_path):
    """The SDK's replayer never answers on these (its history poller dies), so they are bad input, named, up front."""
    data = json.loads(HISTORY.read_text())
    started = next(i for i, e in enumerate(data["events"]) if e["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_STARTED")
    retyped = json.loads(json.dumps(data))
    retyped["events"][started + 1]["eventType"] = "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED"
    renumbered = json.loads(json.dumps(data))
    renumbered["events"][4]["eventId"] = "40"
    for name, history, message in (
        ("retyped", retyped, f"event {started + 2} (WORKFLOW_EXECUTION_UPDATE_COMPLETED) follows the start of a workflow task"),
        ("renumbered", renumbered, "event 5 has id 40"),
    ):
        path = write(tmp_path / f"{name}.json", json.dumps(history))
        with pytest.raises(ConfigError, match=re.escape(message)) as error:
            corpus.load(path)
        assert error.value.file == str(path)
    assert corpus.load(HISTORY).events  # the real one is untouched
