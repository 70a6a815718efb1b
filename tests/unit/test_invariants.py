"""Invariant expressions: what they may say, how they evaluate, and how a Python invariant reports."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from harness.errors import ConfigError
from harness.invariants import Expression, InvariantError, callable_violations, compile_expression, evaluate, load_callable

STATE = {"status": "approved", "approvals": 1, "sent": {"approve": 2, "cancel": 1}, "result": {"items": [1, 2]}, "sent_signals": 3}


@pytest.mark.parametrize(
    "source, expected",
    [
        ("status in ['approved', 'cancelled']", True),
        ("approvals <= 1", True),
        ("approvals >= 2", False),
        ("sent.approve + sent['cancel'] == sent_signals", True),
        ("0 < approvals <= 1 < sent_signals", True),
        ("0 < approvals < 1", False),
        ("len(result.items) == 2 and not status == 'cancelled'", True),
        ("status == 'cancelled' or approvals == 0", False),
        ("max(result.items) - min(result.items) == 1", True),
        ("status not in {'pending'}", True),
        ("result.items[-1] == 2", True),
    ],
)
def test_evaluates_declared_invariants(source, expected):
    assert evaluate(source, STATE) is expected


@pytest.mark.parametrize(
    "source, message",
    [
        ("__import__('os').system('true')", "only len"),
        ("status.__class__", "private attribute"),
        ("[x for x in sent]", "ListComp is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("approvals = 1", "invalid expression"),
        ("len(result, key=1)", "only len"),
        ("(status := 1)", "NamedExpr is not allowed"),
    ],
)
def test_rejects_anything_that_could_run_code(source, message):
    with pytest.raises(ValueError, match=message):
        compile_expression(source)


def test_expression_type_rejects_bad_invariants_at_load():
    class Scenario(BaseModel):
        invariants: list[Expression]

    assert Scenario(invariants=["approvals <= 1"]).invariants == ["approvals <= 1"]
    with pytest.raises(ValidationError, match="Lambda is not allowed"):
        Scenario(invariants=["approvals <= 1", "lambda: 0"])


@pytest.mark.parametrize(
    "source, message",
    [
        ("approved == 1", "unknown name 'approved' (known: approvals, result, sent, sent_signals, status)"),
        ("sent.refund == 0", "no key 'refund' (keys: approve, cancel)"),
        ("status + 1 == 2", "TypeError"),
        ("result.items[5] == 1", "list value has no 5"),
        ("approvals / 0 == 1", "ZeroDivisionError"),
        ("status * 99999999999999999999 == 1", "multiplies numbers only"),
        ("10.0 ** 2 == 1", "Pow is not allowed"),
        ("1e308 * 10 > 2 ** 2000", "Pow is not allowed"),
    ],
)
def test_unevaluable_invariants_say_why(source, message):
    with pytest.raises(InvariantError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(source, STATE)


def test_python_invariants_report_violations(tmp_path):
    (tmp_path / "team_invariants.py").write_text(
        "def ok(state):\n    return True\n"
        "def no(state):\n    return False\n"
        "def many(state):\n    return [f\"approvals={state['approvals']}\", 'second']\n"
        "def boom(state):\n    raise RuntimeError('query shape changed')\n"
        "def odd(state):\n    return 42\n"
        "NOT_CALLABLE = 3\n"
    )
    check = lambda name: callable_violations(load_callable(f"team_invariants:{name}", tmp_path), STATE)  # noqa: E731
    assert check("ok") == []
    assert check("no") == ["returned False"]
    assert check("many") == ["approvals=1", "second"]
    assert check("boom") == ["raised RuntimeError: query shape changed"]
    assert "expected True, False" in check("odd")[0]
    with pytest.raises(ConfigError, match="not callable"):
        load_callable("team_invariants:NOT_CALLABLE", tmp_path)
    with pytest.raises(ConfigError, match="cannot import team_invariants:missing"):
        load_callable("team_invariants:missing", tmp_path)
