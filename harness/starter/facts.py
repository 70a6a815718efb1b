"""What a starter config can be written from: the app's workflow classes, read without importing them.

For each `@workflow.defn` class in the modules named: its type name, its signal / update / query handlers with
their parameters, a placeholder for the `@workflow.run` argument built from its type hints (dataclass fields are
followed in the app's own source), the timers it waits on (`workflow.sleep`, `asyncio.sleep`, `wait_condition`
timeouts) and its activity, local-activity and child-workflow call sites with their options (call_sites.py).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.audit.call_sites import CallSite, NotLiteral, _Reader, call_sites
from harness.audit.names import Func, dotted, local_names
from harness.audit.scan import Module, _Auditor, is_workflow
from harness.errors import ConfigError

_WORKFLOW = "temporalio.workflow."
_HANDLERS = {f"{_WORKFLOW}signal": "signal", f"{_WORKFLOW}update": "update", f"{_WORKFLOW}query": "query"}
_TIMERS = {f"{_WORKFLOW}sleep": 0, "asyncio.sleep": 0}
_TIMEOUT_KEYWORD = {f"{_WORKFLOW}wait_condition": "timeout", "asyncio.wait_for": "timeout"}
_SCALARS: dict[str, Any] = {"int": 1, "float": 1.0, "bool": False, "list": [], "dict": {}, "tuple": [], "set": []}
DAY = 86400.0


@dataclass(frozen=True)
class Placeholder:
    value: Any
    """A JSON value shaped like the parameter (strings carry `{i}` so ids differ per workflow)."""
    unknown: tuple[str, ...] = ()
    """Parameters or fields whose type the source does not say: left null."""


@dataclass(frozen=True)
class Handler:
    kind: str
    """signal, update or query."""
    name: str
    args: tuple[Placeholder, ...]


@dataclass(frozen=True)
class Timer:
    seconds: float | None
    """None when the duration is computed (e.g. `timedelta(days=sub.period_days)`)."""
    text: str
    where: str

    @property
    def days_long(self) -> bool:
        return self.seconds >= DAY if self.seconds is not None else any(f"{unit}=" in self.text for unit in ("days", "weeks"))


@dataclass(frozen=True)
class WorkflowFacts:
    import_path: str
    """`package.module:Class`, as a worker config names it."""
    type_name: str
    file: str
    run_input: Placeholder | None
    """None: run() takes no argument."""
    extra_run_args: int
    """run() parameters after the first: a config starts workflows with one argument."""
    handlers: tuple[Handler, ...]
    timers: tuple[Timer, ...]
    call_sites: tuple[CallSite, ...]
    waits_forever: bool = False
    """It calls `workflow.wait_condition` without a timeout: it may wait for a signal that a plain start never sends."""

    def of(self, kind: str) -> tuple[Handler, ...]:
        return tuple(h for h in self.handlers if h.kind == kind)

    @property
    def longest_timer_days(self) -> float | None:
        """The longest day-long timer in days (None when there is none; 0 when every one is computed)."""
        long = [t for t in self.timers if t.days_long]
        return max((t.seconds or 0) / DAY for t in long) if long else None


@dataclass(frozen=True)
class AppFacts:
    workflows: tuple[WorkflowFacts, ...]

    @property
    def activity_definitions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.definition for w in self.workflows for s in w.call_sites if s.definition))

    @property
    def unregistered_activities(self) -> tuple[str, ...]:
        """Activity types called whose definition is not a module-level function of the app (class-based, or elsewhere)."""
        return tuple(dict.fromkeys(
            s.name for w in self.workflows for s in w.call_sites if s.kind != "child_workflow" and not s.definition
        ))


class _Placeholders:
    def __init__(self, auditor: _Auditor) -> None:
        self.auditor = auditor

    def for_annotation(self, module: Module, annotation: ast.expr | None, name: str, depth: int = 0) -> Placeholder:
        if annotation is None:
            return Placeholder(None, (name,))
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):  # X | None: the X
            side = annotation.right if _is_none(annotation.left) else annotation.left
            return self.for_annotation(module, side, name, depth)
        base = annotation.value if isinstance(annotation, ast.Subscript) else annotation
        text = dotted(base, module.imports) or ast.unparse(base)
        short = text.rsplit(".", 1)[-1].lower()
        if short == "str":
            return Placeholder(f"{name}-{{i}}")
        if short in _SCALARS:
            return Placeholder(_SCALARS[short])
        if short == "optional" and isinstance(annotation, ast.Subscript):
            return self.for_annotation(module, annotation.slice, name, depth)
        found = self.auditor.resolve(text) if "." in text else (module, text, None) if text in module.classes else None
        if found and found[2] is None and found[1] in found[0].classes and depth < 3:
            return self.for_class(found[0], found[0].classes[found[1]], depth + 1)
        return Placeholder(None, (name,))

    def for_class(self, module: Module, cls: ast.ClassDef, depth: int) -> Placeholder:
        """A dataclass / pydantic model / TypedDict: one key per annotated field, its literal default when it has one."""
        fields: dict[str, Any] = {}
        unknown: list[str] = []
        for item in cls.body:
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                continue
            name = item.target.id
            if isinstance(item.value, ast.Constant) and not isinstance(item.value.value, bytes):
                fields[name] = item.value.value
                continue
            inner = self.for_annotation(module, item.annotation, name, depth)
            fields[name] = inner.value
            unknown += [f"{name}.{u}" if u != name else u for u in inner.unknown]
        return Placeholder(fields, tuple(unknown))


def _is_none(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is None


def _decorated(fn: Func, module: Module) -> tuple[str, str] | None:
    """(kind, name) for a @workflow.run / signal / update / query method; None otherwise or for dynamic handlers."""
    for dec in fn.decorator_list:
        call = dec if isinstance(dec, ast.Call) else None
        qual = dotted(call.func if call else dec, module.imports)
        if qual == f"{_WORKFLOW}run":
            return "run", fn.name
        if qual in _HANDLERS:
            keywords = {k.arg: k.value for k in call.keywords if k.arg} if call else {}
            if isinstance(keywords.get("dynamic"), ast.Constant) and keywords["dynamic"].value:
                return None
            name = keywords.get("name")
            return _HANDLERS[qual], name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else fn.name
    return None


def _parameters(fn: Func) -> list[ast.arg]:
    return [*fn.args.posonlyargs, *fn.args.args][1:]  # without self


def _type_name(module: Module, cls: ast.ClassDef) -> str:
    for dec in cls.decorator_list:
        if isinstance(dec, ast.Call):
            for k in dec.keywords:
                if k.arg == "name" and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str):
                    return k.value.value
            if dec.args and isinstance(dec.args[0], ast.Constant) and isinstance(dec.args[0].value, str):
                return dec.args[0].value
    return cls.name


def _timers(auditor: _Auditor, reader: _Reader, module: Module, cls: str) -> tuple[tuple[Timer, ...], bool]:
    """The timers the workflow's code waits on, and whether it also waits for a condition without a timeout."""
    found: list[Timer] = []
    unbounded = False
    for target in auditor.reach(module, cls):
        owner, fn = auditor.function(target)
        local = local_names(fn)
        for node in ast.walk(fn):
            if not isinstance(node, ast.Call):
                continue
            qual = dotted(node.func, owner.imports, local) or ""
            keywords = {k.arg: k.value for k in node.keywords if k.arg}
            expr = node.args[0] if qual in _TIMERS and node.args else keywords.get(_TIMEOUT_KEYWORD.get(qual, ""))
            if qual == f"{_WORKFLOW}wait_condition" and len(node.args) < 2 and (expr is None or _is_none(expr)):
                waits_for = dotted(node.args[0], owner.imports, local) if node.args else None
                unbounded = unbounded or waits_for != f"{_WORKFLOW}all_handlers_finished"
            if expr is None or _is_none(expr):
                continue
            seconds: float | None
            if isinstance(expr, ast.Constant) and type(expr.value) in (int, float):
                seconds = float(expr.value)
            else:
                try:
                    seconds = reader.seconds(owner, expr, local)
                except NotLiteral:
                    seconds = None
            found.append(Timer(seconds, " ".join(ast.unparse(expr).split()), f"{owner.rel}:{node.lineno}"))
    return tuple(found), unbounded


def discover(modules: Sequence[str], root: Path) -> AppFacts:
    """Read the workflow classes of `modules` ("pkg.mod" or "pkg.mod:Class") under `root`. ConfigError when a module
    cannot be found or read, or none of them defines a workflow."""
    auditor = _Auditor(Path(root))
    reader = _Reader(auditor)
    placeholders = _Placeholders(auditor)
    workflows: dict[str, WorkflowFacts] = {}
    for spec in modules:
        for module, cls in auditor.workflows(spec):
            node = module.classes[cls]
            if not is_workflow(node, module.imports) or f"{module.name}:{cls}" in workflows:
                continue
            handlers: list[Handler] = []
            run_input, extra = None, 0
            seen: set[tuple[str, str]] = set()
            for owner, klass in auditor.chain(module, cls):
                for fn in (item for item in klass.body if isinstance(item, Func)):
                    decorated = _decorated(fn, owner)
                    if decorated is None or decorated in seen:
                        continue
                    seen.add(decorated)
                    params = _parameters(fn)
                    if decorated[0] == "run":
                        if params:
                            run_input = placeholders.for_annotation(owner, params[0].annotation, params[0].arg)
                        extra = max(0, len(params) - 1)
                        continue
                    args = tuple(placeholders.for_annotation(owner, p.annotation, p.arg) for p in params)
                    handlers.append(Handler(decorated[0], decorated[1], args))
            import_path = f"{module.name}:{cls}"
            timers, waits_forever = _timers(auditor, reader, module, cls)
            workflows[import_path] = WorkflowFacts(
                import_path, _type_name(module, node), module.rel, run_input, extra, tuple(handlers),
                timers, call_sites([import_path], Path(root)), waits_forever,
            )
    if not workflows:
        raise ConfigError(
            f"no @workflow.defn class in {', '.join(modules)} under {root}: name the modules that define your workflows",
            key_path="MODULE",
        )
    return AppFacts(tuple(workflows.values()))
