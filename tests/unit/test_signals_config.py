"""The signals_concurrent scenario kind: what loads, and every bad key as one ConfigError naming the key path."""

from __future__ import annotations

import pytest

from harness.config.scenarios import MessageSpec
from harness.errors import ConfigError
from harness.planning import load_scenario
from harness.scenarios.signals_concurrent import bursts
from tests.conftest import REPO, write

BASE = "name: s\nkind: signals_concurrent\n"


def load(tmp_path, text: str):
    invariants = "" if "invariants:" in text else "invariants: ['approvals <= 1']\n"
    return load_scenario(write(tmp_path / "s.yaml", BASE + invariants + text))


def test_shipped_scenario_and_fixtures_load():
    shipped = load_scenario(REPO / "scenarios" / "signals-concurrent.yaml")
    assert shipped.workflow == "ApprovalWorkflow" and shipped.orders == "all" and shipped.delivery == "concurrent"
    assert [m.label for m in shipped.combinations[2]] == ["cancel", "approve", "update:amend"]
    assert shipped.combinations[2][2].args == [2500]
    assert load_scenario(REPO / "tests/fixtures/signals/signals-sequential.yaml").delivery == "sequential"
    restart = load_scenario(REPO / "tests/fixtures/signals/signals-restart.yaml")
    assert restart.restart_during_burst and restart.check == "tests.fixtures.signals.invariants:one_decision"


def test_plain_names_objects_and_defaults(tmp_path):
    scenario = load(tmp_path, "combinations: [[approve, 'update:amend', {signal: note, args: [1, x]}]]\n")
    first, second, third = scenario.combinations[0]
    assert (first.signal, first.update, second.signal, second.update) == ("approve", None, None, "amend")
    assert third.label == "note" and third.args == [1, "x"]
    assert (scenario.runs, scenario.orders, scenario.settle, scenario.timeout, scenario.workflow, scenario.id_prefix) == (
        5, "as_declared", 10.0, 30.0, None, None
    )


def test_orders_all_gives_every_distinct_permutation(tmp_path):
    scenario = load(tmp_path, "orders: all\ncombinations: [[approve, approve], [a, b, c]]\n")
    found = [(b.combination, b.order_label) for b in bursts(scenario)]
    assert found[0] == ("approve + approve", "approve, approve")
    assert len(found) == 1 + 6 and len(set(found)) == 7
    declared = load(tmp_path, "combinations: [[b, a]]\n")
    assert [b.order_label for b in bursts(declared)] == ["b, a"]
    # Same name, different arguments: two orders, not one.
    assert len(bursts(load(tmp_path, "orders: all\ncombinations: [[{update: x, args: [1]}, {update: x, args: [2]}]]\n"))) == 2


@pytest.mark.parametrize(
    ("text", "key_path", "fragment"),
    [
        ("combinations: [[approve]]\n", "combinations[0]", "at least 2 items"),
        ("combinations: []\n", "combinations", "at least 1 item"),
        ("combinations: [[approve, 'update:']]\n", "combinations[0][1].update", "pattern"),
        ("combinations: [[approve, 'bad name']]\n", "combinations[0][1].signal", "pattern"),
        ("combinations: [[approve, {signal: a, update: b}]]\n", "combinations[0][1]", "exactly one of `signal` or `update`"),
        ("combinations: [[approve, {signal: a, arg: 1}]]\n", "combinations[0][1].arg", "unknown key"),
        ("combinations: [[a, b]]\norders: random\n", "orders", "'as_declared' or 'all'"),
        ("combinations: [[a, b]]\nruns: 0\n", "runs", "greater than or equal to 1"),
        ("combinations: [[a, b]]\ninput: {x: 1}\n", "input", "`input` needs `workflow`"),
        ("combinations: [[a, b]]\ndelivery: sequential\nrestart_during_burst: true\n", "restart_during_burst", "delivery: concurrent"),
        ("combinations: [[a, b]]\nrestart_during_burst: true\n", "restart_during_burst", "3 or more messages"),
        ("combinations: [[a, b]]\nqueries: [result]\n", "queries", "clash"),
        ("combinations: [[a, b]]\ninvariants: ['approvals <= 1', 'approvals <= ']\n", "invariants[1]", "invalid expression"),
        ("combinations: [[a, b]]\ninvariants: ['__import__(\"os\").system(\"x\")']\n", "invariants[0]", "may be called"),
        ("combinations: [[a, b]]\ncheck: not-a-path\n", "check", "pattern"),
        ("combinations: [[a, b]]\nsettle: soon\n", "settle", "duration"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, key_path, fragment):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    assert caught.value.exit_code == 2 and caught.value.file.endswith("s.yaml")
    assert caught.value.key_path == key_path and fragment in caught.value.detail


def test_something_must_be_checkable(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_scenario(write(tmp_path / "s.yaml", "name: s\nkind: signals_concurrent\ncombinations: [[a, b]]\n"))
    assert caught.value.key_path == "check" and "give `invariants` or a `check` callable" in caught.value.detail
    ok = load_scenario(write(tmp_path / "s.yaml", "name: s\nkind: signals_concurrent\ncombinations: [[a, b]]\ncheck: m.n:f\n"))
    assert ok.check == "m.n:f" and ok.invariants == []


def test_message_label():
    assert MessageSpec.model_validate("update:amend").label == "update:amend"
    assert MessageSpec.model_validate({"signal": "approve"}).label == "approve"
