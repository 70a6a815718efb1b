"""Activity, local-activity and child-workflow call sites in workflow code, with their options as literally written.

History records the effective retry policy of activities and child workflows, but a local activity's policy is
never recorded (its marker holds only the attempt it reached), and an activity that did not run in the harness's run
leaves no event at all. So the options are also read from the source, without importing it: every
`workflow.execute_activity` / `start_activity` / `execute_local_activity` / `start_local_activity` (and their
`_method` / `_class` forms) and `execute_child_workflow` / `start_child_workflow` call reached from a workflow class,
with its `retry_policy` and timeouts resolved through literals, `timedelta(...)`, `RetryPolicy(...)` and module-level
constants (also imported from the app's own package). What cannot be resolved that way is reported as not literal.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.audit.names import Func, dotted, local_names
from harness.audit.scan import Module, _Auditor, is_workflow

_WORKFLOW = "temporalio.workflow."
KINDS: dict[str, str] = {
    **{f"{verb}_activity{form}": "activity" for verb in ("execute", "start") for form in ("", "_method", "_class")},
    **{f"{verb}_local_activity{form}": "local_activity" for verb in ("execute", "start") for form in ("", "_method", "_class")},
    "execute_child_workflow": "child_workflow", "start_child_workflow": "child_workflow",
}
ACTIVITY_DEFN, WORKFLOW_DEFN, RETRY_POLICY = "temporalio.activity.defn", "temporalio.workflow.defn", "temporalio.common.RetryPolicy"
TIMEDELTA = "datetime.timedelta"
_UNITS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1, "milliseconds": 1e-3, "microseconds": 1e-6}
_POSITIONAL = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks")  # timedelta(...)
_BOUNDS = {
    "activity": ("schedule_to_close_timeout", "start_to_close_timeout", "heartbeat_timeout"),
    "local_activity": ("schedule_to_close_timeout", "start_to_close_timeout", ""),
    "child_workflow": ("execution_timeout", "run_timeout", ""),
}


class NotLiteral(Exception):
    """An option written as an expression the source alone cannot evaluate."""


@dataclass(frozen=True)
class WrittenPolicy:
    """A retry policy as written, with Temporal's defaults for what it leaves out (1 s, x2, 100 x initial, unlimited)."""

    initial_interval_s: float = 1.0
    backoff_coefficient: float = 2.0
    maximum_interval_s: float = 100.0
    maximum_attempts: int = 0
    non_retryable_error_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallSite:
    kind: str
    """activity, local_activity or child_workflow."""
    name: str
    """The activity or workflow type it calls (its defn name when the definition is in the app's source)."""
    file: str
    line: int
    workflow: str
    """The workflow class whose code reaches the call."""
    policy: WrittenPolicy | None
    """None: no retry_policy argument (activities then get Temporal's default, child workflows do not retry)."""
    policy_text: str
    """"default", or the argument as written (`DEPENDENCY_RETRY`, `RetryPolicy(maximum_attempts=3)`)."""
    bounds: tuple[float | None, float | None, float | None]
    """schedule-to-close, start-to-close, heartbeat (child workflows: execution, run, -) in seconds; 0 when not
    written, None when written but not literal."""
    unresolved: tuple[str, ...] = ()
    """Options written as expressions this reader cannot evaluate (judged as unknown, never as default)."""
    mentions: frozenset[str] | None = None
    """Every name and string the activity's code (and what it calls in the app) contains, so the error types it can
    raise are among them; None when its definition is not in the app's source."""
    definition: str | None = None
    """`package.module:function` of an activity defined as a module-level function in the app (what a worker
    registers); None for class-based activities, child workflows and definitions outside the app."""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


class _Reader:
    def __init__(self, auditor: _Auditor) -> None:
        self.auditor = auditor
        self._trees: dict[str, ast.Module] = {}
        self._assigned_once: dict[str, ast.expr] = {}
        self.last_definition: str | None = None
        """Where the type last named by type_name() is defined, as `module:function` (see CallSite.definition)."""
        """Names the function being read assigns exactly once (`timeout = timedelta(seconds=10)`)."""

    def _tree(self, module: Module) -> ast.Module:
        if module.name not in self._trees:
            self._trees[module.name] = ast.parse((self.auditor.root / module.rel).read_text(encoding="utf-8"))
        return self._trees[module.name]

    def constant(self, module: Module, name: str, depth: int = 0) -> tuple[Module, ast.expr] | None:
        """The expression a module-level `NAME = ...` (or a name imported from the package) is bound to."""
        for node in self._tree(module).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            if any(isinstance(t, ast.Name) and t.id == name for t in targets) and node.value is not None:
                return module, node.value
        source, _, attr = module.imports.get(name, "").rpartition(".")
        other = self.auditor.module(source) if source.split(".")[0] == module.top and depth < 5 else None
        return self.constant(other, attr, depth + 1) if other is not None else None

    def value(self, module: Module, expr: ast.expr, local: frozenset[str]) -> tuple[Module, ast.expr]:
        if isinstance(expr, ast.Name) and expr.id in self._assigned_once:
            return module, self._assigned_once[expr.id]
        if isinstance(expr, ast.Name) and expr.id not in local and (found := self.constant(module, expr.id)):
            return found
        return module, expr

    def seconds(self, module: Module, expr: ast.expr, local: frozenset[str]) -> float:
        module, expr = self.value(module, expr, local)
        if isinstance(expr, ast.Constant) and expr.value is None:
            return 0.0
        if isinstance(expr, ast.Call) and dotted(expr.func, module.imports) == TIMEDELTA:
            items = {**dict(zip(_POSITIONAL, expr.args)), **{k.arg: k.value for k in expr.keywords if k.arg}}
            if set(items) <= set(_UNITS) and all(isinstance(v, ast.Constant) and type(v.value) in (int, float) for v in items.values()):
                return float(sum(_UNITS[k] * v.value for k, v in items.items()))
        raise NotLiteral

    def policy(self, module: Module, expr: ast.expr, local: frozenset[str]) -> WrittenPolicy | None:
        module, expr = self.value(module, expr, local)
        if isinstance(expr, ast.Constant) and expr.value is None:
            return None
        if not (isinstance(expr, ast.Call) and dotted(expr.func, module.imports) == RETRY_POLICY and not expr.args):
            raise NotLiteral
        given = {k.arg: k.value for k in expr.keywords if k.arg}
        fields: dict[str, object] = {}
        for key in ("initial_interval", "maximum_interval"):
            if key in given:
                fields[f"{key}_s"] = self.seconds(module, given[key], local)
        for key, kind in (("backoff_coefficient", (int, float)), ("maximum_attempts", int)):
            if key in given:
                node = self.value(module, given[key], local)[1]
                if not (isinstance(node, ast.Constant) and isinstance(node.value, kind)):
                    raise NotLiteral
                fields[key] = node.value
        if "non_retryable_error_types" in given:
            node = self.value(module, given["non_retryable_error_types"], local)[1]
            if not (isinstance(node, (ast.List, ast.Tuple)) and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)):
                raise NotLiteral
            fields["non_retryable_error_types"] = tuple(sorted(e.value for e in node.elts))
        initial = float(fields.get("initial_interval_s", 1.0))
        fields.setdefault("maximum_interval_s", 100 * initial)
        return WrittenPolicy(**fields)  # type: ignore[arg-type]

    def type_name(self, module: Module, expr: ast.expr, kind: str, local: frozenset[str]) -> str:
        """`activities.charge` -> its @activity.defn(name=...) or "charge"; `Child.run` -> Child's workflow type."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return expr.value
        if kind == "child_workflow" and isinstance(expr, ast.Attribute):
            expr = expr.value  # Child.run -> Child
        qual = dotted(expr, module.imports, local) or (f"{module.name}.{expr.id}" if isinstance(expr, ast.Name) else None)
        found = self.auditor.resolve(qual) if qual else None
        fallback = expr.attr if isinstance(expr, ast.Attribute) else expr.id if isinstance(expr, ast.Name) else ast.unparse(expr)
        if found is None or found[2] is not None:
            return fallback
        owner, head, _ = found
        self.last_definition = f"{owner.name}:{head}" if head in owner.functions and kind != "child_workflow" else None
        node = owner.functions.get(head) or owner.classes.get(head)
        wanted = WORKFLOW_DEFN if kind == "child_workflow" else ACTIVITY_DEFN
        for dec in getattr(node, "decorator_list", []):
            if isinstance(dec, ast.Call) and dotted(dec.func, owner.imports) == wanted:
                name = next((k.value.value for k in dec.keywords if k.arg == "name" and isinstance(k.value, ast.Constant)), None)
                if isinstance(name, str):
                    return name
        return head

    def mentions(self, module: Module, expr: ast.expr, local: frozenset[str], limit: int = 50) -> frozenset[str] | None:
        qual = dotted(expr, module.imports, local) or (f"{module.name}.{expr.id}" if isinstance(expr, ast.Name) else None)
        todo = self.auditor._targets(qual) if qual else []
        if not todo:
            return None
        seen, words = set(), set()
        while todo and len(seen) < limit:
            target = todo.pop()
            if target in seen:
                continue
            seen.add(target)
            for node in ast.walk(self.auditor.function(target)[1]):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    words.add(node.value)
                elif isinstance(node, ast.Name):
                    words.add(node.id)
                elif isinstance(node, ast.Attribute):
                    words.add(node.attr)
            todo.extend(self.auditor.scan(target).calls)
        return frozenset(words)

    def sites(self, module: Module, fn: Func, workflow: str, imports: Mapping[str, str]) -> list[CallSite]:
        local = local_names(fn)
        stores = [n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
        self._assigned_once = {
            n.targets[0].id: n.value for n in ast.walk(fn)
            if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) and stores.count(n.targets[0].id) == 1
        }
        found = []
        for node in ast.walk(fn):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            qual = dotted(node.func, imports, local) or ""
            kind = KINDS.get(qual.removeprefix(_WORKFLOW)) if qual.startswith(_WORKFLOW) else None
            if kind is None:
                continue
            given = {k.arg: k.value for k in node.keywords if k.arg}
            unresolved: list[str] = []
            policy, text = None, "default"
            if "retry_policy" in given:
                text = " ".join(ast.unparse(given["retry_policy"]).split())
                try:
                    policy = self.policy(module, given["retry_policy"], local)
                except NotLiteral:
                    unresolved.append("retry_policy")
            bounds: list[float | None] = []
            for key in _BOUNDS[kind]:
                try:
                    bounds.append(self.seconds(module, given[key], local) if key in given else 0.0)
                except NotLiteral:
                    bounds.append(None)
                    unresolved.append(key)
            self.last_definition = None
            name = self.type_name(module, node.args[0], kind, local)
            found.append(CallSite(
                kind, name, module.rel, node.lineno, workflow, policy, text, (bounds[0], bounds[1], bounds[2]), tuple(unresolved),
                self.mentions(module, node.args[0], local) if kind != "child_workflow" else None, self.last_definition,
            ))
        return found


def call_sites(import_paths: Sequence[str], root: Path) -> tuple[CallSite, ...]:
    """Every activity, local-activity and child-workflow call reached from the workflow classes named by
    `import_paths` ("pkg.mod:Class" or "pkg.mod") under `root`, each once, in file and line order. Raises
    ConfigError when the source cannot be read (as the determinism audit does)."""
    auditor = _Auditor(Path(root))
    reader = _Reader(auditor)
    sites: dict[tuple[str, int, str], CallSite] = {}
    for spec in import_paths:
        for module, cls in auditor.workflows(spec):
            if not is_workflow(module.classes[cls], module.imports):
                continue
            auditor.spec = spec
            for target in auditor.reach(module, cls):
                owner, fn = auditor.function(target)
                for site in reader.sites(owner, fn, cls, owner.imports):
                    sites.setdefault((site.file, site.line, site.name), site)
    return tuple(sorted(sites.values(), key=lambda s: (s.file, s.line)))
