"""Invariants declared in scenario YAML: small, safe expressions over a workflow's end state.

`approvals <= 1`, `status in ['approved', 'cancelled']`, `processed_signals == sent_signals`: parsed with Python's
`ast`, but only comparisons, boolean logic, arithmetic, constants, collections, names, `a.b` / `a['k']` lookups and a
few pure builtins are allowed, so a scenario file can never run code. What the names mean is up to the scenario
(query results, the workflow result, counts of messages sent). Anything else is a Python callable named by
`module:function`.
"""

from __future__ import annotations

import ast
import importlib
import operator
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator

from harness.errors import ConfigError

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len, "min": min, "max": max, "sum": sum, "abs": abs, "any": any, "all": all, "sorted": sorted, "set": set,
}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
    ast.GtE: operator.ge, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_, ast.IsNot: operator.is_not,
}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv, ast.Mod: operator.mod}
_UNARY = {ast.Not: operator.not_, ast.USub: operator.neg}
_ALLOWED = (
    ast.Expression, ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.BinOp, ast.Name, ast.Load, ast.Constant,
    ast.List, ast.Tuple, ast.Set, ast.Attribute, ast.Subscript, ast.Call, *_COMPARE, *_BINARY, *_UNARY,
)


class InvariantError(ValueError):
    """An invariant could not be evaluated against a workflow's state (unknown name, missing key, type error)."""


def compile_expression(source: str) -> ast.Expression:
    """Parse and vet an invariant; ValueError names what is not allowed."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"invalid expression {source!r}: {exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ValueError(f"{type(node).__name__} is not allowed in an invariant ({source!r})")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS and not node.keywords):
            raise ValueError(f"only {', '.join(FUNCTIONS)} may be called in an invariant ({source!r})")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ValueError(f"private attribute {node.attr!r} in an invariant ({source!r})")
    return tree


def _validated(source: str) -> str:
    compile_expression(source)
    return source


Expression = Annotated[str, AfterValidator(_validated)]


def _lookup(container: Any, key: Any, source: str) -> Any:
    if isinstance(container, Mapping):
        if key in container:
            return container[key]
        raise InvariantError(f"{source}: no key {key!r} (keys: {', '.join(map(str, container)) or 'none'})")
    if isinstance(key, str) and not key.startswith("_") and hasattr(container, key):
        return getattr(container, key)
    if isinstance(key, int) and isinstance(container, (list, tuple)) and -len(container) <= key < len(container):
        return container[key]
    raise InvariantError(f"{source}: {type(container).__name__} value has no {key!r}")


def _eval(node: ast.AST, names: Mapping[str, Any], source: str) -> Any:
    match node:
        case ast.Expression(body=body):
            return _eval(body, names, source)
        case ast.Constant(value=value):
            return value
        case ast.Name(id=name):
            if name in names:
                return names[name]
            if name in FUNCTIONS:
                return FUNCTIONS[name]
            raise InvariantError(f"{source}: unknown name {name!r} (known: {', '.join(sorted(names)) or 'none'})")
        case ast.List(elts=items) | ast.Tuple(elts=items):
            return [_eval(i, names, source) for i in items]
        case ast.Set(elts=items):
            return {_eval(i, names, source) for i in items}
        case ast.Attribute(value=value, attr=attr):
            return _lookup(_eval(value, names, source), attr, source)
        case ast.Subscript(value=value, slice=key):
            return _lookup(_eval(value, names, source), _eval(key, names, source), source)
        case ast.Call(func=ast.Name(id=name), args=args):
            return FUNCTIONS[name](*(_eval(a, names, source) for a in args))
        case ast.UnaryOp(op=op, operand=operand):
            return _UNARY[type(op)](_eval(operand, names, source))
        case ast.BinOp(left=left, op=op, right=right):
            a, b = _eval(left, names, source), _eval(right, names, source)
            if isinstance(op, ast.Mult) and not all(isinstance(v, (int, float)) for v in (a, b)):
                raise InvariantError(f"{source}: `*` multiplies numbers only")  # 'x' * 10**12 would exhaust memory
            return _BINARY[type(op)](a, b)
        case ast.BoolOp(op=op, values=values):
            if isinstance(op, ast.And):
                return all(_eval(v, names, source) for v in values)
            return any(_eval(v, names, source) for v in values)
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            current = _eval(left, names, source)
            for op, right in zip(ops, comparators, strict=True):
                value = _eval(right, names, source)
                if not _COMPARE[type(op)](current, value):
                    return False
                current = value
            return True
    raise InvariantError(f"{source}: cannot evaluate {type(node).__name__}")


def evaluate(source: str, names: Mapping[str, Any]) -> bool:
    """True when the invariant holds for these names; InvariantError when it cannot be evaluated."""
    try:
        return bool(_eval(compile_expression(source), names, source))
    except InvariantError:
        raise
    except (TypeError, ValueError, ArithmeticError, KeyError, IndexError, RecursionError) as exc:
        raise InvariantError(f"{source}: {type(exc).__name__}: {exc}") from None


def load_callable(path: str, app_path: Path) -> Callable[[Mapping[str, Any]], Any]:
    """Import `module:function` from the app (app_path first on sys.path)."""
    module_name, _, attribute = path.partition(":")
    if str(app_path) not in sys.path:
        sys.path.insert(0, str(app_path))
    try:
        func = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's config problem
        raise ConfigError(f"cannot import {path}: {type(exc).__name__}: {exc}", key_path="check") from None
    if not callable(func):
        raise ConfigError(f"{path} is not callable", key_path="check")
    return func


def callable_violations(func: Callable[[Mapping[str, Any]], Any], names: Mapping[str, Any]) -> list[str]:
    """Run a Python invariant: True/None hold; False, a message or a list of messages are violations."""
    try:
        outcome = func(names)
    except Exception as exc:  # noqa: BLE001 - the team's code failing is a finding, not a harness crash
        return [f"raised {type(exc).__name__}: {exc}"]
    if outcome is None or outcome is True:
        return []
    if outcome is False:
        return ["returned False"]
    if isinstance(outcome, str):
        return [outcome]
    if isinstance(outcome, (list, tuple)):
        return [str(item) for item in outcome]
    return [f"returned {outcome!r} (expected True, False, a message or a list of messages)"]
