"""The time_skip scenario kind: day durations, the timeline steps, and every bad key as one ConfigError (exit 2)."""

from __future__ import annotations

import pytest

from harness.config.scenarios import parse_long_duration
from harness.errors import ConfigError
from harness.planning import load_scenario
from tests.conftest import REPO, write

BASE = "name: s\nkind: time_skip\n"
TIMELINE = "timeline: [{skip: 10d}, {restart_workers: true}]\n"


def load(tmp_path, text: str):
    return load_scenario(write(tmp_path / "s.yaml", BASE + text))


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("10d", 864000.0), ("1.5d", 129600.0), ("36h", 129600.0), ("30m", 1800.0), ("45s", 45.0), (90, 90.0), ("365d", 31536000.0)],
)
def test_durations_accept_days(value, seconds):
    assert parse_long_duration(value) == seconds


@pytest.mark.parametrize("value", ["10 days", "d", "-1d", "366d", "1w", True, None])
def test_bad_durations_say_what_is_expected(value):
    with pytest.raises(ValueError, match="such as '10d', '36h'"):
        parse_long_duration(value)


def test_shipped_scenario_loads():
    scenario = load_scenario(REPO / "scenarios" / "longrun-time-skip.yaml")
    steps = [(s.skip, s.restart_workers, s.signal, s.args) for s in scenario.timeline]
    assert steps == [
        (864000.0, None, None, []), (None, True, None, []), (864000.0, None, None, []), (None, None, "upgrade", ["premium"]),
        (None, True, None, []),
    ]
    assert scenario.workflow == "SubscriptionWorkflow" and scenario.input["periods"] == 5 and scenario.finish_within == 30 * 86400
    assert scenario.expect.status == "COMPLETED" and scenario.expect.queries == ["state"] and len(scenario.expect.invariants) == 5


def test_defaults(tmp_path):
    scenario = load(tmp_path, TIMELINE)
    assert (scenario.workflow, scenario.input, scenario.id_prefix, scenario.workflows) == (None, None, None, 3)
    assert scenario.finish_within == 60 * 86400 and scenario.timeout == 120.0
    assert (scenario.expect.status, scenario.expect.queries, scenario.expect.invariants, scenario.expect.check) == ("COMPLETED", [], [], None)


@pytest.mark.parametrize(
    ("text", "key_path", "fragment"),
    [
        ("timeline: [{skip: 10x}, {restart_workers: true}]\n", "timeline[0].skip", "such as '10d'"),
        ("timeline: [{skip: 0}, {restart_workers: true}]\n", "timeline[0].skip", "greater than 0"),
        ("timeline: [{skip: 1d, signal: upgrade}, {restart_workers: true}]\n", "timeline[0]", "exactly one of"),
        ("timeline: [{}, {skip: 1d}, {restart_workers: true}]\n", "timeline[0]", "exactly one of"),
        ("timeline: [{skip: 1d, args: [1]}, {restart_workers: true}]\n", "timeline[0]", "`args` belongs to a `signal` step"),
        ("timeline: [{skip: 1d}, {restart_workers: false}]\n", "timeline[1].restart_workers", "True"),
        ("timeline: [{skip: 1d}, {restart_workers: true}, {signal: 'bad name'}]\n", "timeline[2].signal", "pattern"),
        ("timeline: [{skip: 1d}, {restart: true}]\n", "timeline[1].restart", "unknown key"),
        ("timeline: [{skip: 1d}]\n", "timeline", "restart_workers: true"),
        ("timeline: [{restart_workers: true}, {signal: go}]\n", "timeline", "skip: DURATION"),
        ("timeline: []\n", "timeline", "at least 1"),
        ("input: {a: 1}\n" + TIMELINE, "input", "`input` needs `workflow`"),
        (TIMELINE + "workflows: 0\n", "workflows", "greater than or equal to 1"),
        (TIMELINE + "finish_within: 2y\n", "finish_within", "such as '10d'"),
        (TIMELINE + "expect: {status: DONE}\n", "expect.status", "COMPLETED"),
        (TIMELINE + "expect: {invariants: ['__import__(\"os\")']}\n", "expect.invariants[0]", "only len"),
        (TIMELINE + "expect: {check: not-a-path}\n", "expect.check", "pattern"),
        (TIMELINE + "expect: {result: 1}\n", "expect.result", "unknown key"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, key_path, fragment):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    assert caught.value.key_path == key_path and fragment in str(caught.value) and caught.value.exit_code == 2
