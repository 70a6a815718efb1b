"""Name resolution without importing: which module-level object a dotted expression refers to.

Every module gets an import table (local name -> absolute dotted name), so `t.time` after `import time as t`,
`time` after `from time import time`, and `dt.datetime.now` after `import datetime as dt` all resolve to
the names the rules match on.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping

Func = ast.FunctionDef | ast.AsyncFunctionDef
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def shallow_walk(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes under `node` that run at its own level: nested function and class bodies are left out."""
    for child in ast.iter_child_nodes(node):
        yield child
        if not isinstance(child, _SCOPES):
            yield from shallow_walk(child)


def absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module name of `from <level dots><name> import ...` written in `module`."""
    if not level:
        return name or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    base = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*base, name] if name else base)


def import_table(nodes: Iterable[ast.AST], module: str, is_package: bool) -> dict[str, str]:
    """Local name -> absolute dotted name, for every import statement among `nodes`."""
    table: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    table[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    table[top] = top
        elif isinstance(node, ast.ImportFrom):
            source = absolute(module, is_package, node.level, node.module)
            for alias in node.names:
                if alias.name != "*":
                    table[alias.asname or alias.name] = f"{source}.{alias.name}" if source else alias.name
    return table


def dotted(expr: ast.AST, imports: Mapping[str, str], local: frozenset[str] = frozenset()) -> str | None:
    """`m.a.b` -> "<what m was imported as>.a.b"; None unless the chain starts at an imported name."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name) or expr.id in local or expr.id not in imports:
        return None
    return ".".join([imports[expr.id], *reversed(parts)])


def global_names(fn: ast.AST) -> frozenset[str]:
    return frozenset(name for node in ast.walk(fn) if isinstance(node, ast.Global) for name in node.names)


def local_names(fn: ast.AST) -> frozenset[str]:
    """Names a function binds itself (parameters, assignment targets, nested defs), minus its `global`s.

    A name only ever augmented (`COUNTER += 1`) is left out: it still refers to the module-level one.
    """
    names: set[str] = set()
    augmented = {id(node.target) for node in ast.walk(fn) if isinstance(node, ast.AugAssign)}
    for node in ast.walk(fn):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) and id(node) not in augmented:
            names.add(node.id)
        elif isinstance(node, (*_SCOPES[:3], ast.ExceptHandler)) and node is not fn and node.name:
            names.add(node.name)
    return frozenset(names) - global_names(fn)


def root_name(expr: ast.AST) -> str | None:
    """`CACHE` for `CACHE`, `CACHE[k]`, `CACHE.items[k].x`: the name a subscript/attribute chain starts at."""
    while isinstance(expr, (ast.Attribute, ast.Subscript)):
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def snippet(node: ast.AST, limit: int = 70) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
