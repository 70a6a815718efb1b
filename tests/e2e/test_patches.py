"""`readiness patches` on a corpus built from real order histories: a patch id patched, deprecated or removed in the
code, carried live or deprecated by open and closed workflows started before and after it."""

from __future__ import annotations

import base64
import copy
import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import REPO
from tests.e2e.test_cli_run import run_cli

pytestmark = pytest.mark.e2e
CODE = "tests.fixtures.patch_lifecycle:OrderWorkflowV5"
V1 = json.loads((REPO / "tests/fixtures/histories/order-v1.json").read_text())  # no marker
V2 = json.loads((REPO / "tests/fixtures/histories/order-v2-patched.json").read_text())  # fraud-screening's live marker, event 5
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text[:26].rstrip("Z") + "+00:00")


def _history(base: dict, *, day: int, patch: str | None = None, deprecated: bool = False, open_: bool = False) -> dict:
    """A real history, started on day `day`, its marker renamed (or dropped with the v1 base), open when cut before its end."""
    history = copy.deepcopy(base)
    shift = T0 + timedelta(days=day) - _time(history["events"][0]["eventTime"])
    for event in history["events"]:  # the whole history moves: its markers are recorded on that day too
        event["eventTime"] = (_time(event["eventTime"]) + shift).isoformat().replace("+00:00", "Z")
    if patch:
        payload = history["events"][4]["markerRecordedEventAttributes"]["details"]["patch-data"]["payloads"][0]
        payload["data"] = base64.b64encode(json.dumps({"id": patch, "deprecated": deprecated}).encode()).decode()
    if open_:
        history["events"] = history["events"][:-1]
    return history


def _reached_patch_later(history: dict, days: int) -> dict:
    """The same workflow reaching its patched() call `days` after it started (on the new code, so it records the marker)."""
    for event in history["events"][4:]:
        event["eventTime"] = (_time(event["eventTime"]) + timedelta(days=days)).isoformat().replace("+00:00", "Z")
    return history


CORPUS = {
    "v1-open-day5": _history(V1, day=5, open_=True),                       # before fraud-screening, still running
    "fraud-day6": _history(V2, day=6, patch="fraud-screening"),            # fraud-screening went out on day 6
    "fraud-started-day4": _reached_patch_later(_history(V2, day=4, patch="fraud-screening"), 2),  # marker on day 6 too
    "express-day1": _history(V2, day=1, patch="express-shipping"),         # express-shipping went out on day 1
    "gift-open": _history(V2, day=7, patch="gift-wrap", deprecated=True, open_=True),
    "loyalty-open": _history(V2, day=7, patch="loyalty-points", open_=True),
    "discount-closed": _history(V2, day=2, patch="old-discount"),
    "tax-open": _history(V2, day=8, patch="tax-rounding", open_=True),
}


def _write_corpus(folder) -> None:
    folder.mkdir()
    for name, history in CORPUS.items():
        (folder / f"{name}.json").write_text(json.dumps(history))


def test_each_patch_gets_what_is_safe_now(tmp_path):
    _write_corpus(tmp_path / "corpus")
    result = run_cli("patches", str(tmp_path / "corpus"), "--workflows", CODE, "--json", str(tmp_path / "patches.json"))
    assert result.returncode == 1, result.stdout + result.stderr  # tax-rounding: removed while an open workflow needs it
    rows = {r["patch_id"]: r for r in json.loads((tmp_path / "patches.json").read_text())["patches"]}
    assert {p: (r["in_code"], r["action"]) for p, r in rows.items()} == {
        "fraud-screening": ("patched", "wait"),
        "express-shipping": ("patched", "deprecate"),
        "gift-wrap": ("deprecated", "remove"),
        "loyalty-points": ("deprecated", "wait"),
        "old-discount": ("none", "retired"),
        "tax-rounding": ("none", "broken"),
    }
    # dated by its first marker (day 6), not by the start of the earliest workflow carrying it (day 4)
    assert rows["fraud-screening"]["open_started_before"] == 1 and rows["fraud-screening"]["first_marker_at"].startswith("2026-11-07")
    assert "not yet: 1 open workflows started before the patch" in rows["fraud-screening"]["advice"]
    assert rows["express-shipping"]["open_started_before"] == 0
    assert "workflow.deprecate_patch('express-shipping')" in rows["express-shipping"]["advice"]
    assert rows["loyalty-points"]["open_with_live_marker"] == 1 and "keep deprecate_patch('loyalty-points')" in rows["loyalty-points"]["advice"]
    assert rows["old-discount"]["closed_with_live_marker"] == 1 and "no longer replay" in rows["old-discount"]["advice"]
    assert "Put workflow.deprecate_patch('tax-rounding') back" in rows["tax-rounding"]["advice"]
    assert "BROKEN tax-rounding" in result.stdout and "WAIT fraud-screening" in result.stdout


def test_a_corpus_without_broken_patches_exits_0_and_bad_input_exits_2(tmp_path):
    _write_corpus(tmp_path / "corpus")
    (tmp_path / "corpus" / "tax-open.json").unlink()
    assert run_cli("patches", str(tmp_path / "corpus"), "--workflows", CODE).returncode == 0
    (tmp_path / "corpus" / "broken.json").write_text('{"events": [')
    bad = run_cli("patches", str(tmp_path / "corpus"), "--workflows", CODE)
    assert bad.returncode == 2 and "broken.json" in bad.stderr and "Traceback" not in bad.stderr
    usage = run_cli("patches", "--workflows", CODE)
    assert usage.returncode == 2 and "--from-cluster" in usage.stderr
