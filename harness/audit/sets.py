"""Which expressions hold a set: literals, comprehensions, set()/frozenset() calls, set algebra, and names or
`self` attributes assigned or annotated as one.

A name takes the type of its last assignment before the use (in source order), so `ids = sorted(set(xs))`
or `ids = list(ids)` stops `ids` being a set. A `self` attribute is a set when some method assigns it one
and no method assigns it a list, dict, tuple or sorted(...).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence

from harness.audit.names import Func, dotted, shallow_walk

SET_TYPES = frozenset({
    "set", "frozenset", "typing.Set", "typing.FrozenSet", "typing.AbstractSet", "typing.MutableSet",
    "collections.abc.Set", "collections.abc.MutableSet",
})
_UNIONS = frozenset({"typing.Optional", "typing.Union", "Optional", "Union"})
_SET_METHODS = frozenset({"union", "intersection", "difference", "symmetric_difference", "copy"})
_SET_OPS = (ast.BitOr, ast.BitAnd, ast.Sub, ast.BitXor)
_OTHER_CONTAINERS = (ast.List, ast.ListComp, ast.Dict, ast.DictComp, ast.Tuple, ast.GeneratorExp)
_OTHER_CONTAINER_CALLS = frozenset({"list", "dict", "tuple", "sorted"})

_Position = tuple[int, int]
_Event = tuple[_Position, ast.expr | None, bool | None]
_END: _Position = (1 << 30, 0)


def is_set_annotation(ann: ast.expr | None, imports: Mapping[str, str]) -> bool:
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        try:
            ann = ast.parse(ann.value, mode="eval").body
        except SyntaxError:
            return False
    if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
        return is_set_annotation(ann.left, imports) or is_set_annotation(ann.right, imports)
    if isinstance(ann, ast.Subscript):
        if _type_name(ann.value, imports) in _UNIONS:
            members = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
            return any(is_set_annotation(member, imports) for member in members)
        ann = ann.value
    return ann is not None and _type_name(ann, imports) in SET_TYPES


def _type_name(expr: ast.expr, imports: Mapping[str, str]) -> str | None:
    return dotted(expr, imports) or (expr.id if isinstance(expr, ast.Name) else None)


def _end(node: ast.AST) -> _Position:
    return (node.end_lineno or 0, node.end_col_offset or 0)


def _store_names(target: ast.AST) -> Iterable[ast.Name]:
    return (n for n in ast.walk(target) if isinstance(n, ast.Name))


class SetTypes:
    """Set-typed expressions of one function body (or, with `shallow`, of a module's top level)."""

    def __init__(
        self, root: ast.AST, imports: Mapping[str, str], shadowed: frozenset[str], *,
        outer: frozenset[str] = frozenset(), self_sets: frozenset[str] = frozenset(), shallow: bool = False,
    ) -> None:
        self._imports, self._shadowed, self._outer, self._self_sets = imports, shadowed, outer, self_sets
        self._events: dict[str, list[_Event]] = {}
        for node in shallow_walk(root) if shallow else ast.walk(root):
            self._record(node)
        for events in self._events.values():
            events.sort(key=lambda event: event[0])

    def _add(self, name: str, position: _Position, value: ast.expr | None, annotated: bool | None) -> None:
        self._events.setdefault(name, []).append((position, value, annotated))

    def _record(self, node: ast.AST) -> None:
        if isinstance(node, ast.arg):
            self._add(node.arg, (node.lineno, node.col_offset), None, is_set_annotation(node.annotation, self._imports))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self._add(target.id, _end(node), node.value, None)
                elif isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
                    for name in _store_names(target):
                        self._add(name.id, _end(node), None, None)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            self._add(node.target.id, _end(node), node.value, is_set_annotation(node.annotation, self._imports))
        elif isinstance(node, ast.NamedExpr):
            self._add(node.target.id, _end(node), node.value, None)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            for name in _store_names(node.target):
                self._add(name.id, _end(node.target), None, None)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            for name in _store_names(node.optional_vars):
                self._add(name.id, _end(node.optional_vars), None, None)

    def _name_is_set(self, name: str, position: _Position, depth: int) -> bool:
        before = [event for event in self._events.get(name, ()) if event[0] < position]
        if not before:
            return name in self._outer
        _, value, annotated = before[-1]
        if annotated is not None:
            return annotated
        return value is not None and self.is_set(value, depth + 1)

    def final_sets(self) -> frozenset[str]:
        """Names whose last assignment is a set (for a module: its module-level sets)."""
        return frozenset(name for name in self._events if self._name_is_set(name, _END, 0))

    def is_set(self, expr: ast.expr, depth: int = 0) -> bool:
        if depth > 25:
            return False
        if isinstance(expr, (ast.Set, ast.SetComp)):
            return True
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Name):
                return func.id in ("set", "frozenset") and func.id not in self._shadowed
            return isinstance(func, ast.Attribute) and func.attr in _SET_METHODS and self.is_set(func.value, depth + 1)
        if isinstance(expr, ast.BinOp):
            return isinstance(expr.op, _SET_OPS) and self.is_set(expr.left, depth + 1)
        if isinstance(expr, ast.NamedExpr):
            return self.is_set(expr.value, depth + 1)
        if isinstance(expr, ast.Name):
            return self._name_is_set(expr.id, (expr.lineno, expr.col_offset), depth)
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
            return expr.attr in self._self_sets
        return False


def _other_container(value: ast.expr) -> bool:
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return value.func.id in _OTHER_CONTAINER_CALLS
    return isinstance(value, _OTHER_CONTAINERS)


def class_set_attrs(classes: Sequence[tuple[ast.ClassDef, Mapping[str, str], frozenset[str]]]) -> frozenset[str]:
    """Attributes of `self` that hold a set, over a class and its bases: (class, its module's imports, shadowed)."""
    found: set[str] = set()
    vetoed: set[str] = set()
    for cls, imports, shadowed in classes:
        body_types = SetTypes(cls, imports, shadowed, shallow=True)
        found |= body_types.final_sets()
    for _ in range(2):
        for cls, imports, shadowed in classes:
            for fn in (node for node in cls.body if isinstance(node, Func)):
                types = SetTypes(fn, imports, shadowed, self_sets=frozenset(found))
                for node in ast.walk(fn):
                    _classify_self_assignment(node, types, imports, found, vetoed)
    return frozenset(found - vetoed)


def _classify_self_assignment(
    node: ast.AST, types: SetTypes, imports: Mapping[str, str], found: set[str], vetoed: set[str]
) -> None:
    if isinstance(node, ast.AnnAssign):
        targets, value = [node.target], node.value
    elif isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    else:
        return
    for target in targets:
        if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"):
            continue
        if isinstance(node, ast.AnnAssign):
            (found if is_set_annotation(node.annotation, imports) else vetoed).add(target.attr)
        elif value is not None and types.is_set(value):
            found.add(target.attr)
        elif value is not None and _other_container(value):
            vetoed.add(target.attr)
