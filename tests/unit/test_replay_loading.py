"""The fast ways a replay process gets a history: the proto JSON parser (same message as json_format or none),
the binary cache a first pass leaves for the second (a bad entry falls back to the file), the SDK shortcuts."""

from __future__ import annotations

import copy
import json

import pytest
from temporalio.client import _helpers

from harness.errors import ConfigError
from harness.replay import child, corpus, protojson, sdk_shortcuts
from harness.replay.cache import HistoryCache
from tests.conftest import REPO, write

HISTORIES = sorted(
    p for folder in ("histories", "outage", "policy_histories", "signals", "versioning")
    for p in (REPO / "tests/fixtures" / folder).glob("*.json")
)


def sdk(data: dict):
    return _helpers._history_from_json(data)


def same(a, b) -> bool:
    return a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.name)
def test_fast_parse_gives_what_json_format_gives(path):
    data = json.loads(path.read_text())
    parsed = protojson.parse(data)
    assert parsed is not None and same(parsed, sdk(data))
    assert data == json.loads(path.read_text())  # the decoded JSON is left as it was


def edited(edit) -> dict:
    data = json.loads((REPO / "tests/fixtures/histories/order-v1.json").read_text())
    edit(data["events"][0])
    return data


def started(event: dict) -> dict:
    return event["workflowExecutionStartedEventAttributes"]


@pytest.mark.parametrize(
    "edit",
    [
        lambda e: e.update(eventType="WorkflowExecutionStarted"),  # the UI's enum names
        lambda e: e.update(eventType=1),
        lambda e: e.update(taskId=None),
        lambda e: e.update(eventId=1.0),
        lambda e: e.update(event_id=e["eventId"]),  # the same field twice
        lambda e: e.update(timerStartedEventAttributes={}),  # a second member of the attributes oneof
        lambda e: started(e).update(workflowId="\ud800"),
        lambda e: started(e).update(workflowRunTimeout=5),
        lambda e: e.update({"[some.extension]": 1}),
    ],
)
def test_what_the_fast_parser_does_not_take_on_goes_to_json_format(edit):
    assert protojson.parse(edited(edit)) is None


def test_fast_parse_matches_json_format_on_tolerated_variations():
    for edit in (
        lambda e: e.update(eventId=1),  # int64 as a number
        lambda e: e.update(somethingNew={"x": 1}),  # unknown fields are ignored
        lambda e: e.update(event_type=e.pop("eventType")),  # proto field names as well as json names
        lambda e: started(e)["input"]["payloads"][0].update(data="eyJh"),  # base64 without padding
    ):
        data = edited(edit)
        parsed = protojson.parse(copy.deepcopy(data))
        assert parsed is not None and same(parsed, sdk(data))


@pytest.mark.parametrize(
    "value",
    ["2026-12-07T11:29:00Z", "2026-12-07T11:29:00.5Z", "2026-12-07T11:29:00.123456789Z", "1970-01-01T00:00:00Z",
     "2026-12-07T12:29:00.25+01:00", "2024-02-29T23:59:59.999999999Z", "0001-01-01T00:00:00Z"],
)
def test_timestamps_as_json_format_reads_them(value):
    data = edited(lambda e: e.update(eventTime=value))
    parsed = protojson.parse(copy.deepcopy(data))
    assert parsed is not None and same(parsed, sdk(data))


@pytest.mark.parametrize("value", ["2026-02-30T00:00:00Z", "2026-12-07T24:00:00Z", "2026-12-07t11:29:00Z", "yesterday"])
def test_impossible_timestamps_are_left_to_json_format(value):
    assert protojson.parse(edited(lambda e: e.update(eventTime=value))) is None


def test_too_deep_for_json_format_is_left_to_it():
    failure: dict = {"message": "x"}
    for _ in range(120):
        failure = {"message": "x", "cause": failure}
    data = edited(lambda e: None)
    data["events"].append({"eventId": "99", "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_FAILED",
                           "workflowExecutionFailedEventAttributes": {"failure": failure}})
    assert protojson.parse(data) is None


def test_cache_round_trip_and_bad_entries_are_misses(tmp_path):
    source = REPO / "tests/fixtures/histories/order-v1.json"
    cache = HistoryCache(tmp_path)
    assert cache.load(source) is None
    history = corpus.load(source)
    cache.save(source, history)
    again = cache.load(source)
    assert again.workflow_id == history.workflow_id and list(again.events) == list(history.events)
    assert not list(tmp_path.glob("*.partial"))
    entry = cache.entry(source)
    for damage in (b"\xff\xff\xff garbage", entry.read_bytes()[: len(entry.read_bytes()) // 2], b""):
        entry.write_bytes(damage)
        assert cache.load(source) is None
    HistoryCache(tmp_path / "gone").save(source, history)  # cannot write: no error, no entry


def test_child_reads_the_cache_then_the_file_and_still_names_bad_files(tmp_path):
    source = REPO / "tests/fixtures/histories/order-v1.json"
    cache = HistoryCache(tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    written = child.load(source, None, cache)
    assert cache.entry(source).exists()
    assert list(child.load(source, cache, None).events) == list(written.events)
    cache.entry(source).write_bytes(b"not a history")
    assert list(child.load(source, cache, None).events) == list(written.events)  # falls back to the file
    broken = write(tmp_path / "broken.json", "{not json")
    with pytest.raises(ConfigError, match="broken.json: invalid JSON"):
        child.load(broken, cache, None)


def test_sdk_shortcuts_apply_once():
    from temporalio.worker import _workflow

    assert sdk_shortcuts.apply() == ["compile", "context"]
    method = _workflow._CommandAwareDataConverter._decode_payload_sequence
    assert sdk_shortcuts.apply() == ["compile", "context"]
    again = _workflow._CommandAwareDataConverter._decode_payload_sequence
    assert again.__wrapped__ is method.__wrapped__
