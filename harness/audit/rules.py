"""The rules, applied to one function body at a time (nested functions and lambdas included).

Calls are matched on the absolute name the module's imports give them (see names.py), so aliases such as
`import time as t` or `from datetime import datetime` cannot hide a call, and a local variable that
happens to share a module's name is not mistaken for it.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.audit.model import FIXES
from harness.audit.names import (
    Func,
    dotted,
    global_names,
    local_names,
    root_name,
    snippet,
)
from harness.audit.sets import SetTypes

_WALL_CLOCK = frozenset({
    "time.time", "time.time_ns", "time.monotonic", "time.monotonic_ns", "time.perf_counter",
    "time.perf_counter_ns", "time.process_time", "datetime.datetime.now", "datetime.datetime.utcnow",
    "datetime.datetime.today", "datetime.date.today",
})
_WALL_CLOCK_WITHOUT_ARGS = frozenset({"time.localtime", "time.gmtime", "time.ctime"})
_RANDOM = frozenset({"uuid.uuid1", "uuid.uuid4", "os.urandom", "os.getrandom"})
_RANDOM_PREFIXES = ("random.", "secrets.", "numpy.random.")
_THREADS = frozenset({"asyncio.to_thread", "asyncio.run_coroutine_threadsafe"})
_THREAD_PREFIXES = ("threading.", "_thread.", "concurrent.futures.", "multiprocessing.")
_LOOPS = frozenset({"asyncio.get_event_loop", "asyncio.get_running_loop", "asyncio.new_event_loop"})
_LOOP_METHODS = frozenset({"create_task", "call_soon_threadsafe", "run_in_executor"})
_IO = frozenset({
    "os.system", "os.popen", "os.getenv", "os.putenv", "os.listdir", "os.scandir", "os.walk", "os.remove",
    "os.unlink", "os.rename", "os.replace", "os.makedirs", "os.mkdir", "os.rmdir", "os.stat", "os.open",
    "os.fdopen", "os.getcwd", "os.path.exists", "os.path.isfile", "os.path.isdir", "os.path.getsize",
    "os.path.getmtime", "io.open", "pathlib.Path.cwd", "pathlib.Path.home",
})
_IO_PREFIXES = (
    "sqlite3.", "socket.", "subprocess.", "shutil.", "tempfile.", "glob.", "requests.", "httpx.", "urllib.",
    "urllib3.", "aiohttp.", "http.client.",
)
_PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})
_PATH_IO = frozenset({"read_text", "write_text", "read_bytes", "write_bytes"})
_PATH_IO_ON_PATHS = frozenset({
    "open", "exists", "is_file", "is_dir", "iterdir", "glob", "rglob", "mkdir", "unlink", "touch", "stat", "rmdir",
    "rename", "replace",
})
_SANDBOX_ESCAPE = "temporalio.workflow.unsafe.sandbox_unrestricted"
_PASS_THROUGH = "temporalio.workflow.unsafe.imports_passed_through"
_REPLAYING = frozenset({"temporalio.workflow.unsafe.is_replaying", "temporalio.workflow.unsafe.is_replaying_history_events"})
_PATCH_CALLS = {"temporalio.workflow.patched": "patched", "temporalio.workflow.deprecate_patch": "deprecated"}
_MUTATORS = frozenset({
    "append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "add", "discard", "setdefault",
    "sort", "reverse", "difference_update", "intersection_update", "symmetric_difference_update", "appendleft",
    "extendleft", "popleft", "rotate", "put", "put_nowait", "__setitem__", "__delitem__",
})
_ORDERING_BUILTINS = frozenset({"list", "tuple", "enumerate", "iter", "zip", "map", "filter"})
_ORDERING_METHODS = frozenset({"join", "extend", "fromkeys"})
_ORDER_FREE_BUILTINS = frozenset({"sorted", "set", "frozenset", "len", "any", "all", "sum", "min", "max"})
_HASH_ORDER = "the order depends on PYTHONHASHSEED for str elements and the sandbox does not catch it"


@dataclass(frozen=True)
class Hit:
    line: int
    rule: str
    message: str
    fix: str


@dataclass(frozen=True)
class Scope:
    """What a function can see besides its own body.

    `module_state` maps each module-level name it could mutate to the module defining it; `shadowed` holds
    every name bound at module level (so `set` or `open` redefined there is not taken for the builtin).
    """

    module: str
    imports: Mapping[str, str]
    shadowed: frozenset[str] = frozenset()
    module_state: Mapping[str, str] = field(default_factory=dict)
    module_sets: frozenset[str] = frozenset()
    module_paths: frozenset[str] = frozenset()
    self_sets: frozenset[str] = frozenset()


def path_names(root: ast.AST, imports: Mapping[str, str], nodes: list[ast.AST] | None = None) -> frozenset[str]:
    """Names assigned a pathlib.Path (`Path(...)` or `Path(...) / "x"`) among `nodes` (default: all under root)."""
    found: set[str] = set()
    for node in nodes if nodes is not None else ast.walk(root):
        if isinstance(node, ast.Assign) and _is_path(node.value, imports, frozenset(found)):
            found.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return frozenset(found)


def _is_path(expr: ast.expr, imports: Mapping[str, str], names: frozenset[str]) -> bool:
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
        return _is_path(expr.left, imports, names)
    if isinstance(expr, ast.Call):
        return dotted(expr.func, imports) in _PATH_CLASSES
    return isinstance(expr, ast.Name) and expr.id in names


def patch_ids(fn: Func, imports: Mapping[str, str]) -> dict[str, set[str]]:
    """{"patched": ids, "deprecated": ids}: string literals passed to workflow.patched / deprecate_patch."""
    found: dict[str, set[str]] = {"patched": set(), "deprecated": set()}
    local = local_names(fn)
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and (kind := _PATCH_CALLS.get(dotted(node.func, imports, local) or "")):
            args = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "id")]
            found[kind].update(a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return found


def _flatten(targets: list[ast.expr]) -> list[ast.expr]:
    """`a, (b[k], *c) = ...` -> [a, b[k], c]."""
    flat: list[ast.expr] = []
    for target in targets:
        if isinstance(target, (ast.Tuple, ast.List)):
            flat.extend(_flatten(target.elts))
        elif isinstance(target, ast.Starred):
            flat.extend(_flatten([target.value]))
        else:
            flat.append(target)
    return flat


def check_function(fn: Func, scope: Scope) -> tuple[Hit, ...]:
    checker = _Checker(fn, scope)
    for statement in fn.body:
        checker.visit(statement)
    return tuple(checker.hits)


class _Checker(ast.NodeVisitor):
    def __init__(self, fn: Func, scope: Scope) -> None:
        self.scope = scope
        self.globals = global_names(fn)
        self.locals = local_names(fn)
        self.sets = SetTypes(
            fn, scope.imports, scope.shadowed | self.locals, outer=scope.module_sets - self.locals,
            self_sets=scope.self_sets,
        )
        self.paths = path_names(fn, scope.imports) | (scope.module_paths - self.locals)
        self.replaying = frozenset(
            name.id for node in ast.walk(fn) if isinstance(node, ast.Assign) and self._replay_test(node.value)
            for target in node.targets for name in ast.walk(target) if isinstance(name, ast.Name)
        )
        self.order_free: set[int] = set()
        self.hits: list[Hit] = []

    def hit(self, node: ast.AST, rule: str, message: str, fix: str | None = None) -> None:
        self.hits.append(Hit(getattr(node, "lineno", 0), rule, message, fix or FIXES[rule]))

    def name(self, expr: ast.AST) -> str:
        return dotted(expr, self.scope.imports, self.locals) or ""

    def builtin(self, expr: ast.AST) -> str:
        if not isinstance(expr, ast.Name):
            return ""
        bound = expr.id in self.scope.imports or expr.id in self.locals or expr.id in self.scope.shadowed
        return "" if bound else expr.id

    def visit_Call(self, node: ast.Call) -> None:
        name, builtin, func = self.name(node.func), self.builtin(node.func), node.func
        attr = func.attr if isinstance(func, ast.Attribute) else ""
        text = snippet(node)
        if name in _WALL_CLOCK or (name in _WALL_CLOCK_WITHOUT_ARGS and not node.args):
            fix = "use workflow.now() instead" if name.startswith("datetime.") else "use workflow.time() instead"
            self.hit(node, "wall-clock", f"reads the wall clock (`{text}`)", fix)
        elif name in _RANDOM or name.startswith(_RANDOM_PREFIXES):
            if not (name in ("random.Random", "random.seed") and node.args):
                fix = "use workflow.uuid4() instead" if name.startswith("uuid.") else FIXES["randomness"]
                self.hit(node, "randomness", f"uses unseeded randomness (`{text}`)", fix)
        elif name in _THREADS or name.startswith(_THREAD_PREFIXES):
            message = f"uses threads, processes or executors, which run outside the workflow event loop (`{text}`)"
            self.hit(node, "threads", message)
        elif attr in _LOOP_METHODS and (attr == "run_in_executor" or self._is_loop(func.value)):
            self.hit(node, "threads", f"schedules work on the raw event loop or an executor (`{text}`)")
        elif builtin == "open" or name in _IO or name.startswith(_IO_PREFIXES):
            self.hit(node, "io", f"does I/O from workflow code (`{text}`)")
        elif attr in _PATH_IO or (attr in _PATH_IO_ON_PATHS and _is_path(func.value, self.scope.imports, self.paths)):
            self.hit(node, "io", f"does file I/O from workflow code (`{text}`)")
        elif name == _SANDBOX_ESCAPE:
            self.hit(node, "unsafe-escape", f"turns the workflow sandbox off inside workflow code (`{text}`)")
        elif name == _PASS_THROUGH:
            self.hit(
                node, "unsafe-escape", f"passes imports through the sandbox inside a function (`{text}`)",
                "move the import to module level, inside `with workflow.unsafe.imports_passed_through():`",
            )
        if attr in _MUTATORS:
            self._module_state(node, func.value, f"`{text}`")
        self._set_order(node, builtin, attr)
        self.generic_visit(node)

    def _is_loop(self, expr: ast.expr) -> bool:
        return isinstance(expr, ast.Call) and self.name(expr.func) in _LOOPS

    def _replay_test(self, expr: ast.AST) -> bool:
        return any(
            isinstance(n, ast.Call) and (dotted(n.func, self.scope.imports) or "") in _REPLAYING for n in ast.walk(expr)
        )

    def _set_order(self, node: ast.Call, builtin: str, attr: str) -> None:
        if builtin in _ORDER_FREE_BUILTINS:
            self.order_free.update(id(arg) for arg in node.args)
        args = node.args[1:] if builtin in ("map", "filter") else node.args
        if builtin in _ORDERING_BUILTINS or attr in _ORDERING_METHODS:
            if any(self.sets.is_set(arg) for arg in args):
                self.hit(node, "set-iteration", f"turns a set into a sequence (`{snippet(node)}`): {_HASH_ORDER}")
        elif attr == "pop" and not node.args and self.sets.is_set(node.func.value):
            self.hit(node, "set-iteration", f"pops an arbitrary element of a set (`{snippet(node)}`): {_HASH_ORDER}")

    def visit_Set(self, node: ast.Set) -> None:
        self.order_free.update(id(element) for element in node.elts)
        self.generic_visit(node)

    def visit_Starred(self, node: ast.Starred) -> None:
        if id(node) not in self.order_free and self.sets.is_set(node.value):
            self.hit(node, "set-iteration", f"unpacks a set (`{snippet(node)}`): {_HASH_ORDER}")
        self.generic_visit(node)

    def _loop(self, node: ast.For | ast.AsyncFor) -> None:
        if self.sets.is_set(node.iter):
            text = f"for {snippet(node.target)} in {snippet(node.iter)}"
            self.hit(node, "set-iteration", f"iterates over a set (`{text}`): {_HASH_ORDER}")
        self.generic_visit(node)

    visit_For = visit_AsyncFor = _loop

    def _comprehension(self, node: ast.ListComp | ast.GeneratorExp | ast.DictComp) -> None:
        if id(node) not in self.order_free:
            for generator in node.generators:
                if self.sets.is_set(generator.iter):
                    text = f"for {snippet(generator.target)} in {snippet(generator.iter)}"
                    self.hit(generator.iter, "set-iteration", f"iterates over a set (`{text}`): {_HASH_ORDER}")
        self.generic_visit(node)

    visit_ListComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def _branch(self, node: ast.If | ast.While | ast.IfExp | ast.Assert) -> None:
        names = {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
        if self._replay_test(node.test) or names & self.replaying:
            self.hit(
                node, "unsafe-escape", f"branches on whether the workflow is replaying (`{snippet(node.test)}`)",
                "do not let replay state decide what the workflow does; for logging use workflow.logger, "
                "which already skips replayed events",
            )
        self.generic_visit(node)

    visit_If = visit_While = visit_IfExp = visit_Assert = _branch

    def _assignment(self, node: ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete) -> None:
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        for target in _flatten(targets):
            if isinstance(target, ast.Name):
                module_level = target.id in self.globals or (
                    isinstance(node, ast.AugAssign) and target.id in self.scope.module_state
                )
                if module_level and target.id not in self.locals:
                    self._module_state(node, target, f"`{snippet(node)}`")
            elif isinstance(target, (ast.Subscript, ast.Attribute)):
                self._module_state(node, target, f"`{snippet(node)}`")
        self.generic_visit(node)

    visit_Assign = visit_AugAssign = visit_AnnAssign = visit_Delete = _assignment

    def _module_state(self, node: ast.AST, target: ast.expr, text: str) -> None:
        name = root_name(target)
        if name is None or name in self.locals or (name not in self.scope.module_state and name not in self.globals):
            return
        origin = self.scope.module_state.get(name, self.scope.module)
        where = "" if origin == self.scope.module else f" of {origin}"
        self.hit(node, "module-state", f"mutates module-level `{name}`{where} ({text})")

    def visit_Name(self, node: ast.Name) -> None:
        if self.name(node) == "os.environ":
            self.hit(node, "io", "reads the process environment (`os.environ`)")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if self.name(node) == "os.environ":
            self.hit(node, "io", "reads the process environment (`os.environ`)")
        else:
            self.generic_visit(node)
