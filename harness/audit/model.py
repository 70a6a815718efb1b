"""What the static determinism audit reports: findings in workflow code, and the patch ids it uses.

The audit reads source files only (it never imports the audited code), so every finding is a place to
look at, not a proof: a rule fires on the shape of the code, not on what it does at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

RULES: dict[str, str] = {
    "set-iteration": "workflow code depends on the iteration order of a set (hash order, not insertion order)",
    "module-state": "workflow code mutates module-level state shared by every workflow in the worker process",
    "threads": "workflow code starts threads, processes or executor work outside the workflow event loop",
    "unsafe-escape": "workflow code escapes the sandbox or branches on whether it is replaying",
    "io": "workflow code does file, database, network, environment or subprocess I/O",
    "wall-clock": "workflow code reads the system clock",
    "randomness": "workflow code uses unseeded randomness",
}

FIXES: dict[str, str] = {
    "set-iteration": "iterate over sorted(...) of the set, or keep the items in a list or dict (both keep insertion order)",
    "module-state": "keep the state on the workflow instance (initialise it in __init__); module globals outlive the "
    "workflow, are shared by every workflow in the worker and are not rebuilt on replay",
    "threads": "run concurrent work as asyncio tasks or activities; threads, processes and executors run outside the "
    "deterministic workflow event loop",
    "unsafe-escape": "move the code that needs the escape into an activity; pass modules through with "
    "`workflow.unsafe.imports_passed_through()` around module-level imports only",
    "io": "move the I/O (files, databases, network, environment, subprocesses) into an activity and pass its result "
    "to the workflow",
    "wall-clock": "use workflow.now() (a datetime) or workflow.time() (seconds since the epoch) instead",
    "randomness": "use workflow.random() (a random.Random seeded from the history) or workflow.uuid4() instead",
}


@dataclass(frozen=True)
class Finding:
    """One place in workflow code that can make a replay diverge from its history.

    `workflow` names the workflow class whose code reaches it; a helper shared by several workflows is
    reported once, with their names joined by ", ".
    """

    file: str
    line: int
    rule: str
    message: str
    fix: str
    workflow: str
    function: str

    def as_dict(self) -> dict[str, str | int]:
        return {
            "file": self.file, "line": self.line, "rule": self.rule, "message": self.message,
            "fix": self.fix, "workflow": self.workflow, "function": self.function,
        }


@dataclass(frozen=True)
class PatchCalls:
    """Patch ids passed as string literals to workflow.patched(...) and workflow.deprecate_patch(...)."""

    patched: frozenset[str] = frozenset()
    deprecated: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AuditReport:
    """The audit of a set of workflow classes: `workflows` as "module:Class", `files` relative to the root."""

    workflows: tuple[str, ...]
    files: tuple[str, ...]
    findings: tuple[Finding, ...]
    patches: PatchCalls
