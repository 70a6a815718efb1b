"""The static determinism audit: small workflow packages written into tmp_path, read (never imported)."""

from __future__ import annotations

import re
from pathlib import Path
from textwrap import dedent

import pytest

from harness.audit import FIXES, RULES, AuditReport, Finding, PatchCalls, audit
from harness.checks.static_audit import CHECK_ID, static_audit
from harness.errors import ConfigError
from harness.scorecard.model import Status

REPO = Path(__file__).resolve().parents[2]
_BAD = re.compile(r"#\s*BAD:\s*([\w\-, ]+)")

BASE = {
    "app/__init__.py": "",
    "app/state.py": "REGISTRY: dict[str, str] = {}\n",
    "other/__init__.py": "",
    "other/lib.py": """
        import time


        def leaky(x):
            return x + time.time()
    """,
}


def write(root: Path, files: dict[str, str]) -> None:
    for rel, source in {**BASE, **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(source).lstrip("\n"))


def marked(root: Path, *rels: str) -> set[tuple[str, int, str]]:
    """(file, line, rule) of every `# BAD: rule[, rule]` marker in the given files."""
    found = set()
    for rel in rels:
        for number, line in enumerate((root / rel).read_text().splitlines(), start=1):
            if match := _BAD.search(line):
                found.update((rel, number, rule.strip()) for rule in match.group(1).split(","))
    return found


def located(report: AuditReport) -> set[tuple[str, int, str]]:
    return {(f.file, f.line, f.rule) for f in report.findings}


def run_rule_module(root: Path, rel: str, source: str) -> AuditReport:
    write(root, {rel: source})
    module = rel.removesuffix(".py").replace("/", ".")
    report = audit([module], root)
    assert located(report) == marked(root, rel)
    return report


def test_set_iteration_fires_on_sets_and_not_on_sorted_dicts_or_lists(tmp_path):
    report = run_rule_module(tmp_path, "app/sets_wf.py", """
        from __future__ import annotations

        from typing import Set

        from temporalio import workflow

        ORDER = {"b", "a"}


        @workflow.defn
        class SetWorkflow:
            def __init__(self) -> None:
                self._pending = set()
                self._done: set[str] = set()
                self._items: list[str] = []
                self._by_id: dict[str, int] = {}

            @workflow.signal
            def add(self, item: str) -> None:
                self._pending.add(item)
                self._items.append(item)

            @workflow.run
            async def run(self, ids: set[str], tags: Set[str], names: list[str]) -> list[str]:
                out = []
                for item in self._pending:  # BAD: set-iteration
                    out.append(item)
                out += [n.upper() for n in {"x", "y"}]  # BAD: set-iteration
                out += list(ids)  # BAD: set-iteration
                out.append(",".join(self._done))  # BAD: set-iteration
                out.append(self._pending.pop())  # BAD: set-iteration
                for tag in ORDER:  # BAD: set-iteration
                    out.append(tag)
                unique = {n for n in names}
                for n in unique:  # BAD: set-iteration
                    out.append(n)
                both = frozenset(ids) | unique
                out.extend(both)  # BAD: set-iteration
                out.append(max(*both, *[0]))
                out.append(str({*both, *ids}))
                out.append(tuple([*both]))  # BAD: set-iteration
                for i, tag in enumerate(tags):  # BAD: set-iteration
                    out.append(tag)
                await workflow.wait_condition(lambda: all(x in self._done for x in ids))
                out += sorted(self._pending)
                out += [x for x in sorted(ids)]
                out.append(",".join(sorted(self._done)))
                for key in self._by_id:
                    out.append(key)
                for item in self._items:
                    out.append(item)
                items = names
                for item in items:
                    out.append(item)
                ids = sorted(set(names))
                for i in ids:
                    out.append(i)
                if any(x.startswith("a") for x in unique) and len(unique) > 1 and "a" in unique:
                    out.append(str(max(x for x in unique)))
                return out
    """)
    first = report.findings[0]
    assert first.message.startswith("iterates over a set (`for item in self._pending`)")
    assert "PYTHONHASHSEED" in first.message and "sandbox does not catch" in first.message
    assert first.fix == FIXES["set-iteration"] and "sorted(" in first.fix
    assert (first.workflow, first.function) == ("SetWorkflow", "SetWorkflow.run")


def test_module_state_fires_on_mutation_not_on_instance_state_or_shadowing_locals(tmp_path):
    report = run_rule_module(tmp_path, "app/state_wf.py", """
        from temporalio import workflow

        from app.state import REGISTRY

        CACHE: dict[str, int] = {}
        SEEN = set()
        COUNTER = 0
        LIMIT = 10
        HISTORY = []


        def remember(key: str) -> None:
            CACHE[key] = 1  # BAD: module-state


        def shadowing(key: str) -> dict:
            CACHE = {}
            CACHE[key] = LIMIT
            HISTORY = [key]
            HISTORY.append(key)
            return CACHE


        @workflow.defn
        class StateWorkflow:
            def __init__(self) -> None:
                self._cache: dict[str, int] = {}
                self._seen: list[str] = []

            @workflow.run
            async def run(self, key: str) -> int:
                global LIMIT
                LIMIT = 20  # BAD: module-state
                SEEN.add(key)  # BAD: module-state
                COUNTER += 1  # BAD: module-state
                HISTORY.append(key)  # BAD: module-state
                REGISTRY[key] = "x"  # BAD: module-state
                remember(key)
                shadowing(key)
                self._cache[key] = LIMIT
                self._seen.append(key)
                return len(CACHE) + len(SEEN)
    """)
    messages = {f.line: f.message for f in report.findings}
    assert any("`REGISTRY` of app.state" in m for m in messages.values())
    assert any(m.startswith("mutates module-level `SEEN`") for m in messages.values())
    assert {f.function for f in report.findings} == {"StateWorkflow.run", "app.state_wf.remember"}


def test_threads(tmp_path):
    run_rule_module(tmp_path, "app/threads_wf.py", """
        import asyncio
        import threading
        from concurrent.futures import ThreadPoolExecutor

        from temporalio import workflow


        def work() -> int:
            return 1


        @workflow.defn
        class ThreadWorkflow:
            @workflow.run
            async def run(self) -> None:
                threading.Thread(target=work).start()  # BAD: threads
                with ThreadPoolExecutor() as pool:  # BAD: threads
                    pool.submit(work)
                await asyncio.to_thread(work)  # BAD: threads
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, work)  # BAD: threads
                asyncio.get_event_loop().create_task(self.tick())  # BAD: threads
                await asyncio.gather(self.tick(), self.tick())
                await asyncio.create_task(self.tick())
                await asyncio.sleep(1)

            async def tick(self) -> None:
                await workflow.sleep(1)
    """)


def test_unsafe_escape_in_functions_but_not_module_level_pass_through(tmp_path):
    report = run_rule_module(tmp_path, "app/escape_wf.py", """
        from temporalio import workflow

        with workflow.unsafe.imports_passed_through():
            import json


        @workflow.defn
        class EscapeWorkflow:
            @workflow.run
            async def run(self) -> str:
                with workflow.unsafe.sandbox_unrestricted():  # BAD: unsafe-escape
                    pass
                with workflow.unsafe.imports_passed_through():  # BAD: unsafe-escape
                    import csv
                if workflow.unsafe.is_replaying():  # BAD: unsafe-escape
                    return "replay"
                replaying = workflow.unsafe.is_replaying()
                result = "a" if replaying else "b"  # BAD: unsafe-escape
                workflow.logger.info("replaying=%s", workflow.unsafe.is_replaying())
                return json.dumps(result) + csv.__name__
    """)
    assert "module level" in report.findings[1].fix


def test_io_but_not_print(tmp_path):
    run_rule_module(tmp_path, "app/io_wf.py", """
        import os
        import sqlite3
        import subprocess
        from os import environ
        from pathlib import Path

        import httpx
        from temporalio import workflow

        DATA = Path("/tmp") / "data.json"


        @workflow.defn
        class IoWorkflow:
            @workflow.run
            async def run(self) -> str:
                with open("/tmp/x") as f:  # BAD: io
                    text = f.read()
                text += Path("/tmp/y").read_text()  # BAD: io
                text += DATA.open().read()  # BAD: io
                sqlite3.connect("db.sqlite")  # BAD: io
                subprocess.run(["ls"])  # BAD: io
                os.system("ls")  # BAD: io
                text += os.environ.get("HOME", "")  # BAD: io
                text += os.getenv("USER") or ""  # BAD: io
                text += environ["PATH"]  # BAD: io
                httpx.get("http://x")  # BAD: io
                print(text)
                return text
    """)


def test_wall_clock_through_every_import_alias_but_not_workflow_now(tmp_path):
    report = run_rule_module(tmp_path, "app/clock_wf.py", """
        import datetime as dt
        import time as t
        from datetime import date, datetime
        from time import monotonic, time

        from temporalio import workflow


        @workflow.defn
        class ClockWorkflow:
            @workflow.run
            async def run(self) -> float:
                a = t.time()  # BAD: wall-clock
                b = monotonic()  # BAD: wall-clock
                c = datetime.now()  # BAD: wall-clock
                d = dt.datetime.utcnow()  # BAD: wall-clock
                e = date.today()  # BAD: wall-clock
                f = time()  # BAD: wall-clock
                g = workflow.now()
                h = workflow.time()
                i = datetime.fromisoformat("2024-01-01") - dt.timedelta(seconds=1)
                return a + b + f + h + (c - d).seconds + (e - g.date()).days + i.second
    """)
    fixes = {f.line: f.fix for f in report.findings}
    assert "workflow.time()" in fixes[min(fixes)] and "workflow.now()" in fixes[min(fixes) + 2]


def test_randomness_but_not_workflow_random_or_seeded_random(tmp_path):
    run_rule_module(tmp_path, "app/random_wf.py", """
        import os
        import random
        import secrets
        import uuid
        from random import choice
        from uuid import uuid4 as make_id

        from temporalio import workflow


        @workflow.defn
        class RandomWorkflow:
            @workflow.run
            async def run(self, options: list[str]) -> str:
                a = random.randint(1, 6)  # BAD: randomness
                b = choice(options)  # BAD: randomness
                c = uuid.uuid4()  # BAD: randomness
                d = make_id()  # BAD: randomness
                e = os.urandom(8)  # BAD: randomness
                f = secrets.token_hex(8)  # BAD: randomness
                g = workflow.random().randint(1, 6)
                h = workflow.uuid4()
                i = random.Random(42).choice(options)
                return f"{a}{b}{c}{d}{e}{f}{g}{h}{i}"
    """)


FLOW = {
    "app/base.py": """
        import time


        class Base:
            def stamp(self) -> float:
                return time.perf_counter()  # BAD: wall-clock
    """,
    "app/helpers.py": """
        import time

        from app import deeper
        from other.lib import leaky


        def compute(x: float) -> float:
            return x + time.time()  # BAD: wall-clock


        def chain(x: float) -> float:
            return deeper.go(x) + leaky(x)


        def unused() -> float:
            return time.time()
    """,
    "app/deeper.py": """
        import random

        from .more import final


        def go(x: float) -> float:
            return final(x) + random.random()  # BAD: randomness
    """,
    "app/more.py": """
        import os


        def final(x: float) -> float:
            return x + len(os.environ)  # BAD: io
    """,
    "app/tools.py": """
        import uuid


        class Helper:
            def __init__(self) -> None:
                self.id = uuid.uuid4()  # BAD: randomness


        def make() -> Helper:
            return Helper()
    """,
    "app/flow.py": """
        import app.tools as tools
        from app.base import Base
        from app.helpers import chain
        from temporalio import workflow

        from .helpers import compute


        def local_helper(x: float) -> float:
            return compute(x)


        @workflow.defn
        class FlowWorkflow(Base):
            @workflow.run
            async def run(self, x: float) -> float:
                return self._step(x) + chain(x) + str(tools.make().id)

            def _step(self, x: float) -> float:
                return local_helper(x)
    """,
}


def test_helpers_are_followed_transitively_within_the_package_only(tmp_path):
    write(tmp_path, FLOW)
    report = audit(["app.flow:FlowWorkflow"], tmp_path)
    assert located(report) == marked(tmp_path, *FLOW)
    assert report.workflows == ("app.flow:FlowWorkflow",)
    assert report.files == ("app/base.py", "app/deeper.py", "app/flow.py", "app/helpers.py", "app/more.py", "app/tools.py")
    assert {f.function for f in report.findings} == {
        "Base.stamp", "app.helpers.compute", "app.deeper.go", "app.more.final", "Helper.__init__",
    }
    assert {f.workflow for f in report.findings} == {"FlowWorkflow"}
    assert not any(f.file.startswith("other/") for f in report.findings)


def test_a_helper_shared_by_two_workflows_is_reported_once_naming_both(tmp_path):
    write(tmp_path, {**FLOW, "app/two.py": """
        from temporalio import workflow

        from app.helpers import compute


        @workflow.defn
        class First:
            @workflow.run
            async def run(self) -> float:
                return compute(1)


        @workflow.defn(name="second")
        class Second:
            @workflow.run
            async def run(self) -> float:
                return compute(2)
    """})
    report = audit(["app.two"], tmp_path)
    assert report.workflows == ("app.two:First", "app.two:Second")
    [finding] = report.findings
    assert (finding.file, finding.rule, finding.workflow) == ("app/helpers.py", "wall-clock", "First, Second")


def test_every_decorator_form_marks_a_workflow_class(tmp_path):
    write(tmp_path, {"app/kinds.py": """
        from dataclasses import dataclass

        import temporalio.workflow
        from temporalio import workflow
        from temporalio.workflow import defn


        @workflow.defn
        class A:
            pass


        @workflow.defn(name="b", sandboxed=False)
        class B:
            pass


        @defn
        class C:
            pass


        @temporalio.workflow.defn
        class D:
            pass


        class NotAWorkflow:
            pass


        @dataclass
        class AlsoNot:
            x: int
    """})
    report = audit(["app.kinds", "app.kinds:A"], tmp_path)
    assert report.workflows == ("app.kinds:A", "app.kinds:B", "app.kinds:C", "app.kinds:D")
    assert report.findings == () and report.files == ("app/kinds.py",)


def test_patch_ids_are_collected_from_literals_in_workflow_and_helpers(tmp_path):
    write(tmp_path, {"app/patches.py": """
        from temporalio import workflow
        from temporalio.workflow import deprecate_patch
        from temporalio.workflow import patched as is_patched


        @workflow.defn
        class PatchWorkflow:
            @workflow.run
            async def run(self) -> None:
                if workflow.patched("v2-charge"):
                    pass
                if is_patched(id="v3"):
                    pass
                deprecate_patch("v1")
                workflow.deprecate_patch("old")
                self.helper()

            def helper(self) -> None:
                name = "dynamic"
                workflow.patched("from-helper")
                workflow.patched(name)
    """})
    report = audit(["app.patches:PatchWorkflow"], tmp_path)
    assert report.patches == PatchCalls(frozenset({"v2-charge", "v3", "from-helper"}), frozenset({"v1", "old"}))
    assert report.findings == ()


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("app.nope", ["app.nope", "not found"]),
        ("app.flow:Nope", ["Nope", "app.flow", "app/flow.py"]),
        ("app.flow:", ["package.module:Class"]),
        ("app.broken:Broken", ["app/broken.py", "line 2"]),
        ("app.uses_broken:Uses", ["app/broken_helper.py"]),
    ],
)
def test_config_errors_name_the_module_or_file(tmp_path, spec, words):
    write(tmp_path, {
        **FLOW,
        "app/broken.py": "class Broken:\n    def run(self) -> None\n        pass\n",
        "app/broken_helper.py": "def helper(:\n    pass\n",
        "app/uses_broken.py": """
            from temporalio import workflow

            from app.broken_helper import helper


            @workflow.defn
            class Uses:
                @workflow.run
                async def run(self) -> None:
                    helper()
        """,
    })
    with pytest.raises(ConfigError) as raised:
        audit([spec], tmp_path)
    message = str(raised.value)
    assert "\n" not in message and all(word in message for word in words), message
    assert raised.value.key_path == spec


def test_the_audit_never_imports_the_audited_code(tmp_path):
    marker = tmp_path / "imported"
    write(tmp_path, {"app/loud.py": f"""
        from pathlib import Path

        from temporalio import workflow

        Path({str(marker)!r}).write_text("imported")


        @workflow.defn
        class Loud:
            @workflow.run
            async def run(self) -> None:
                pass
    """})
    assert audit(["app.loud:Loud"], tmp_path).workflows == ("app.loud:Loud",)
    assert not marker.exists()


def finding(rule: str, line: int = 3, file: str = "app/wf.py") -> Finding:
    return Finding(file, line, rule, f"{rule} thing", FIXES[rule], "Wf", "Wf.run")


def report_of(*findings: Finding, workflows: tuple[str, ...] = ("app.wf:Wf",)) -> AuditReport:
    return AuditReport(workflows, ("app/wf.py", "app/helpers.py"), findings, PatchCalls())


def test_check_passes_without_findings():
    result = static_audit(report_of())
    assert (result.id, result.scenario, result.status) == (CHECK_ID, "static", Status.PASS)
    assert "1 workflow class and 2 files" in result.summary and result.remediation == ""
    assert result.evidence == {"workflows": ["app.wf:Wf"], "files_scanned": 2, "findings": [], "by_rule": {}}


def test_check_warns_with_findings_and_fails_when_blocking():
    findings = (finding("set-iteration", 3), finding("io", 5), finding("set-iteration", 9))
    result = static_audit(report_of(*findings))
    assert result.status == Status.WARN
    assert result.evidence["by_rule"] == {"set-iteration": 2, "io": 1}
    assert result.evidence["findings"][1] == {
        "file": "app/wf.py", "line": 5, "rule": "io", "message": "io thing", "fix": FIXES["io"],
        "workflow": "Wf", "function": "Wf.run",
    }
    assert "3 possible sources" in result.summary and "set-iteration 2, io 1" in result.summary
    assert "app/wf.py:3" in result.summary
    assert FIXES["set-iteration"] in result.remediation and FIXES["io"] in result.remediation
    assert result.remediation.count(FIXES["set-iteration"]) == 1
    assert static_audit(report_of(*findings), blocking=True).status == Status.FAIL


def test_check_has_no_data_without_workflows():
    result = static_audit(report_of(workflows=()))
    assert result.status == Status.NO_DATA and "workers[].python.workflows" in result.remediation


def test_every_rule_has_a_description_and_a_fix():
    assert set(RULES) == set(FIXES) == {
        "set-iteration", "module-state", "threads", "unsafe-escape", "io", "wall-clock", "randomness",
    }


def test_sample_order_workflow_is_clean():
    report = audit(["sample_workflows.orders:OrderWorkflow"], REPO)
    assert report.workflows == ("sample_workflows.orders:OrderWorkflow",)
    assert report.findings == (), [f.as_dict() for f in report.findings]


def test_sample_local_state_flaw_is_found_in_the_passed_through_helper():
    report = audit(["sample_workflows.flawed.local_state"], REPO)
    assert report.workflows == ("sample_workflows.flawed.local_state:LocalStateOrderWorkflow",)
    assert [(f.file, f.rule, f.function) for f in report.findings] == [
        ("sample_workflows/flawed/dedupe_store.py", "io", "sample_workflows.flawed.dedupe_store.first_time"),
    ]
    assert "sqlite3.connect" in report.findings[0].message
