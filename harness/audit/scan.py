"""Find the workflow classes and walk the code they reach, without importing any of it.

Module names resolve to files under the root by path alone. From every method of a workflow class (and of
its bases in the same package) the walk follows calls into the workflow's top-level package: `self.method`,
functions and classes of the same module, and names imported from the package. Each function is scanned
once; calls into other packages (stdlib, temporalio, third-party) are matched by the rules, not followed.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.audit.model import AuditReport, Finding, PatchCalls
from harness.audit.names import Func, dotted, import_table, local_names, shallow_walk
from harness.audit.rules import Hit, Scope, check_function, patch_ids, path_names
from harness.audit.sets import SetTypes, class_set_attrs
from harness.errors import ConfigError

DEFN = "temporalio.workflow.defn"
_CONSTRUCTORS = ("__init__", "__post_init__", "__new__")


@dataclass(frozen=True)
class Module:
    name: str
    rel: str
    is_package: bool
    imports: Mapping[str, str]
    functions: Mapping[str, Func]
    classes: Mapping[str, ast.ClassDef]
    assigned: frozenset[str]
    bound: frozenset[str]
    sets: frozenset[str]
    paths: frozenset[str]

    @property
    def top(self) -> str:
        return self.name.split(".")[0]


@dataclass(frozen=True)
class Target:
    """A function to scan: `cls` is empty for a module-level function."""

    module: str
    cls: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.cls}.{self.name}" if self.cls else f"{self.module}.{self.name}"


@dataclass(frozen=True)
class _Scanned:
    hits: tuple[Hit, ...]
    patched: frozenset[str]
    deprecated: frozenset[str]
    calls: tuple[Target, ...]


def is_workflow(cls: ast.ClassDef, imports: Mapping[str, str]) -> bool:
    """Decorated with @workflow.defn, @workflow.defn(...), @defn or @temporalio.workflow.defn."""
    return any(
        dotted(dec.func if isinstance(dec, ast.Call) else dec, imports) == DEFN for dec in cls.decorator_list
    )


class _Auditor:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.spec = ""
        self._modules: dict[str, Module | None] = {}
        self._scanned: dict[Target, _Scanned] = {}
        self._chains: dict[tuple[str, str], list[tuple[Module, ast.ClassDef]]] = {}
        self._self_sets: dict[tuple[str, str], frozenset[str]] = {}
        self._states: dict[str, dict[str, str]] = {}

    def module(self, name: str) -> Module | None:
        if name not in self._modules:
            self._modules[name] = self._load(name)
        return self._modules[name]

    def _load(self, name: str) -> Module | None:
        parts = name.split(".")
        if not all(part.isidentifier() for part in parts):
            return None
        candidates = (  # a package directory wins over a module of the same name, as in Python's import system
            (self.root.joinpath(*parts, "__init__.py"), True), (self.root.joinpath(*parts[:-1], f"{parts[-1]}.py"), False),
        )
        found = next(((path, package) for path, package in candidates if path.is_file()), None)
        if found is None:
            return None
        path, is_package = found
        rel = path.relative_to(self.root).as_posix()
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        except SyntaxError as exc:
            raise ConfigError(
                f"cannot parse {rel} (module {name}): {exc.msg} at line {exc.lineno}", file=rel, key_path=self.spec or None
            ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {rel} (module {name}): {exc}", file=rel, key_path=self.spec or None) from exc
        top_level = list(shallow_walk(tree))
        imports = import_table(top_level, name, is_package)
        functions = {node.name: node for node in tree.body if isinstance(node, Func)}
        classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
        assigned = frozenset(n.id for n in top_level if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
        bound = assigned | functions.keys() | classes.keys() | imports.keys()
        return Module(
            name, rel, is_package, imports, functions, classes, assigned, frozenset(bound),
            SetTypes(tree, imports, frozenset(bound), shallow=True).final_sets(), path_names(tree, imports, top_level),
        )

    def workflows(self, spec: str) -> list[tuple[Module, str]]:
        self.spec = spec
        module_name, colon, cls = (part.strip() for part in spec.partition(":"))
        if not module_name or (colon and not cls) or ":" in cls:
            raise ConfigError(f"expected 'package.module' or 'package.module:Class', got {spec!r}", key_path=spec)
        module = self.module(module_name)
        if module is None:
            path = module_name.replace(".", "/")
            raise ConfigError(
                f"module {module_name} not found under {self.root} (no {path}.py or {path}/__init__.py)", key_path=spec
            )
        if not cls:
            return [(module, name) for name, node in module.classes.items() if is_workflow(node, module.imports)]
        if cls not in module.classes:
            raise ConfigError(f"class {cls} not found in module {module_name} ({module.rel})", file=module.rel, key_path=spec)
        return [(module, cls)]

    def resolve(self, qual: str, depth: int = 0) -> tuple[Module, str, str | None] | None:
        """`pkg.mod.f`, `pkg.mod.C` or `pkg.mod.C.m` -> (module, "f" or "C", None or "m"), following re-exports."""
        parts = qual.split(".")
        for i in range(len(parts) - 1, 0, -1):
            module = self.module(".".join(parts[:i]))
            if module is None:
                continue
            head, rest = parts[i], parts[i + 1 :]
            if (head in module.functions or head in module.classes) and len(rest) <= 1:
                return module, head, rest[0] if rest else None
            target = module.imports.get(head, "")
            if depth < 5 and target.split(".")[0] == parts[0]:
                return self.resolve(".".join([target, *rest]), depth + 1)
            return None
        return None

    def chain(self, module: Module, cls: str) -> list[tuple[Module, ast.ClassDef]]:
        """The class and its bases that live in the package, nearest first."""
        key = (module.name, cls)
        if key not in self._chains:
            found: list[tuple[Module, ast.ClassDef]] = []
            todo = [(module, cls)]
            while todo:
                mod, name = todo.pop(0)
                if name in mod.classes and all(node is not mod.classes[name] for _, node in found):
                    found.append((mod, mod.classes[name]))
                    todo.extend(ref for base in mod.classes[name].bases if (ref := self._class_ref(mod, base)))
            self._chains[key] = found
        return self._chains[key]

    def _class_ref(self, module: Module, expr: ast.expr) -> tuple[Module, str] | None:
        if isinstance(expr, ast.Name) and expr.id in module.classes:
            return module, expr.id
        qual = dotted(expr, module.imports)
        found = self.resolve(qual) if qual and qual.split(".")[0] == module.top else None
        return (found[0], found[1]) if found and found[2] is None and found[1] in found[0].classes else None

    def method(self, module: Module, cls: str, name: str, *, inherited_only: bool = False) -> Target | None:
        for mod, node in self.chain(module, cls)[1 if inherited_only else 0 :]:
            if any(isinstance(item, Func) and item.name == name for item in node.body):
                return Target(mod.name, node.name, name)
        return None

    def _targets(self, qual: str) -> list[Target]:
        found = self.resolve(qual)
        if found is None:
            return []
        module, head, member = found
        if head in module.functions:
            return [Target(module.name, "", head)] if member is None else []
        names = _CONSTRUCTORS if member is None else (member,)
        return [target for name in names if (target := self.method(module, head, name))]

    def function(self, target: Target) -> tuple[Module, Func]:
        module = self.module(target.module)
        assert module is not None
        if not target.cls:
            return module, module.functions[target.name]
        body = module.classes[target.cls].body
        return module, next(item for item in body if isinstance(item, Func) and item.name == target.name)

    def scan(self, target: Target) -> _Scanned:
        if target not in self._scanned:
            module, fn = self.function(target)
            imports = {**module.imports, **import_table(ast.walk(fn), module.name, module.is_package)}
            scope = Scope(
                module=module.name, imports=imports, shadowed=module.bound, module_state=self._state(module),
                module_sets=module.sets, module_paths=module.paths,
                self_sets=self._class_sets(module, target.cls) if target.cls else frozenset(),
            )
            patches = patch_ids(fn, imports)
            self._scanned[target] = _Scanned(
                check_function(fn, scope), frozenset(patches["patched"]), frozenset(patches["deprecated"]),
                self._calls(target, module, fn, imports),
            )
        return self._scanned[target]

    def _state(self, module: Module) -> dict[str, str]:
        """Module-level names a function of `module` could mutate -> the module that defines each."""
        if module.name not in self._states:
            state = {name: module.name for name in module.assigned}
            for alias, target in module.imports.items():
                source, _, attr = target.rpartition(".")
                if alias not in state and source.split(".")[0] == module.top:
                    other = self.module(source)
                    if other is not None and attr in other.assigned:
                        state[alias] = source
            self._states[module.name] = state
        return self._states[module.name]

    def _class_sets(self, module: Module, cls: str) -> frozenset[str]:
        key = (module.name, cls)
        if key not in self._self_sets:
            chain = self.chain(module, cls)
            self._self_sets[key] = class_set_attrs([(node, mod.imports, mod.bound) for mod, node in chain])
        return self._self_sets[key]

    def _calls(self, target: Target, module: Module, fn: Func, imports: Mapping[str, str]) -> tuple[Target, ...]:
        local = local_names(fn)
        found: list[Target] = []
        for node in ast.walk(fn):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                method = self.method(module, target.cls, node.attr) if target.cls else None
                found.extend([method] if method else [])
            if isinstance(node, ast.Call):
                found.extend(self._callee(node.func, module, target, imports, local))
        return tuple(dict.fromkeys(found))

    def _callee(
        self, func: ast.expr, module: Module, target: Target, imports: Mapping[str, str], local: frozenset[str]
    ) -> list[Target]:
        if isinstance(func, ast.Name) and func.id not in local:
            if func.id in module.functions:
                return [Target(module.name, "", func.id)]
            if func.id in module.classes:
                return self._targets(f"{module.name}.{func.id}")
        if isinstance(func, ast.Attribute):
            value, method = func.value, None
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super" and target.cls:
                method = self.method(module, target.cls, func.attr, inherited_only=True)
            elif isinstance(value, ast.Name) and value.id in module.classes and value.id not in local:
                method = self.method(module, value.id, func.attr)
            if method:
                return [method]
        qual = dotted(func, imports, local)
        return self._targets(qual) if qual and qual.split(".")[0] == module.top else []

    def reach(self, module: Module, cls: str) -> list[Target]:
        """Every function the workflow class can run: its methods, then what they call, each once."""
        todo = [
            Target(mod.name, node.name, item.name)
            for mod, node in self.chain(module, cls) for item in node.body if isinstance(item, Func)
        ]
        seen: dict[Target, None] = {}
        while todo:
            target = todo.pop(0)
            if target not in seen:
                seen[target] = None
                todo.extend(self.scan(target).calls)
        return list(seen)


def audit(import_paths: Sequence[str], root: Path) -> AuditReport:
    """Audit the workflow classes named by `import_paths` ("pkg.mod:Class" or "pkg.mod") under `root`."""
    auditor = _Auditor(Path(root))
    classes: dict[str, tuple[Module, str]] = {}
    for spec in import_paths:
        for module, cls in auditor.workflows(spec):
            classes.setdefault(f"{module.name}:{cls}", (module, cls))
    files = {module.rel for module, _ in classes.values()}
    reached: dict[tuple[str, int, str, str, str, str], list[str]] = {}
    patched: set[str] = set()
    deprecated: set[str] = set()
    for spec, (module, cls) in classes.items():
        auditor.spec = spec
        for target in auditor.reach(module, cls):
            scanned = auditor.scan(target)
            rel = auditor.function(target)[0].rel
            files.add(rel)
            patched |= scanned.patched
            deprecated |= scanned.deprecated
            for hit in scanned.hits:
                names = reached.setdefault((rel, hit.line, hit.rule, hit.message, hit.fix, target.label), [])
                if cls not in names:
                    names.append(cls)
    findings = sorted(
        (Finding(file, line, rule, message, fix, ", ".join(names), function)
         for (file, line, rule, message, fix, function), names in reached.items()),
        key=lambda f: (f.file, f.line, f.rule, f.message),
    )
    return AuditReport(
        workflows=tuple(classes), files=tuple(sorted(files)), findings=tuple(findings),
        patches=PatchCalls(frozenset(patched), frozenset(deprecated)),
    )
