"""A replay process: `python -m harness.replay.child --workflows pkg.mod:Class,...` (started by `harness.replay.pool`).

It runs with the app's environment, working folder and the pass's PYTHONHASHSEED, so the app's modules import
as they do in a worker and never inside the harness process. Protocol, JSON lines: stdin carries
`{"path": ...}` requests; the original stdout carries `{"ready": ...}` (or `{"fatal": ...}`) once, then one
`{"outcome": ..., "markers": ...}` or `{"path": ..., "input_error": ...}` per request. The SDK core logs to
stdout, so file descriptor 1 is pointed at stderr and the original stdout is kept for results alone.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from temporalio.worker import Replayer

from harness.errors import ConfigError
from harness.observe.model import ReplayOutcome
from harness.replay import corpus, sdk_shortcuts
from harness.replay.cache import HistoryCache
from harness.replay.classify import classify
from harness.replay.explain import explain
from harness.worker_main import resolve_all

DEFINITION = "__temporal_workflow_definition"

MAX_RAW_MESSAGE = 4000


def _emit(stream, record: dict) -> None:
    stream.write(json.dumps(record) + "\n")
    stream.flush()


def resolve_workflows(import_paths: list[str]) -> list[type]:
    """`module:Class` (or `module:LIST`) names classes; a bare `module` means every workflow class defined in it."""
    found: list[type] = []
    for path in import_paths:
        if ":" in path:
            found.extend(resolve_all([path]))
            continue
        module = importlib.import_module(path)
        found.extend(v for v in vars(module).values() if isinstance(v, type) and DEFINITION in vars(v) and v.__module__ == path)
    for value in found:
        if not (isinstance(value, type) and DEFINITION in vars(value)):
            raise TypeError(f"{value!r} is not a class decorated with @workflow.defn")
    if not found:
        raise LookupError(f"no @workflow.defn class found in {', '.join(import_paths)}")
    return found


def code_patches(workflow_paths: list[str]) -> dict[str, list[str]]:
    """Patch ids the code passes to workflow.patched() / deprecate_patch(), read from its source (AST)."""
    from harness.audit import audit

    roots = set()
    for path in workflow_paths:
        module = sys.modules[path.partition(":")[0]]
        file = Path(module.__file__ or "")
        depth = path.partition(":")[0].count(".") + (1 if file.name == "__init__.py" else 0)
        roots.add(file.parents[depth])
    patched: set[str] = set()
    deprecated: set[str] = set()
    for root in roots:
        report = audit(workflow_paths, root)
        patched |= report.patches.patched
        deprecated |= report.patches.deprecated
    return {"patched": sorted(patched), "deprecated": sorted(deprecated)}


def _explanation(history, kind: str | None, message: str) -> dict | None:
    if kind != "nondeterminism":
        return None
    found = explain(history, message)
    return found.to_dict() if found else None


def load(path: Path, read_cache: HistoryCache | None, write_cache: HistoryCache | None):
    """The history at `path`: from the cache a first pass wrote when it has it, else from the file (ConfigError)."""
    history = read_cache.load(path) if read_cache else None
    if history is None:
        history = corpus.load(path)
        if write_cache:
            write_cache.save(path, history)
    return history


async def serve(
    workflows: list[type], results, read_cache: HistoryCache | None = None, write_cache: HistoryCache | None = None
) -> None:
    loop = asyncio.get_running_loop()
    pending: dict[int, tuple[str, list]] = {}

    async def histories():
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            path = json.loads(line)["path"]
            try:
                history = load(Path(path), read_cache, write_cache)
            except ConfigError as exc:
                _emit(results, {"path": path, "input_error": exc.detail})
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. RecursionError on absurd nesting: still bad input
                _emit(results, {"path": path, "input_error": f"cannot load: {type(exc).__name__}: {str(exc)[:300]}"})
                continue
            if not corpus.has_workflow_task(history):
                # Nothing has run the workflow code yet (a delayed start): it replays trivially, and the SDK's
                # replayer would wait forever for a workflow task.
                outcome = ReplayOutcome(
                    workflow_id=history.workflow_id, run_id=history.run_id, ok=True, workflow_type=corpus.workflow_type(history), path=path
                )
                _emit(results, {"outcome": asdict(outcome), "markers": []})
                continue
            pending[id(history)] = (path, corpus.patch_markers(history))
            yield history

    async with Replayer(workflows=workflows).workflow_replay_iterator(histories()) as replayed:
        async for result in replayed:
            path, markers = pending.pop(id(result.history))
            failure = result.replay_failure
            kind, message, event_id = classify(type(failure).__name__, str(failure)) if failure else (None, None, None)
            outcome = ReplayOutcome(
                workflow_id=result.history.workflow_id,
                run_id=result.history.run_id,
                ok=failure is None,
                error_class=type(failure).__name__ if failure else None,
                error_message=message,
                kind=kind,
                event_id=event_id,
                workflow_type=corpus.workflow_type(result.history),
                path=path,
                explanation=_explanation(result.history, kind, str(failure)),
            )
            _emit(results, {"outcome": asdict(outcome), "markers": markers})


def main() -> None:
    parser = argparse.ArgumentParser(description="Replay history files named on stdin (see module docstring).")
    parser.add_argument("--workflows", required=True, help="comma-separated module:Class or module import paths")
    parser.add_argument("--patches", action="store_true", help="also report the code's patch ids (one process per run does)")
    parser.add_argument("--write-cache", type=Path, metavar="DIR", help="save each parsed history here for a later pass")
    parser.add_argument("--read-cache", type=Path, metavar="DIR", help="read histories an earlier pass saved here first")
    args = parser.parse_args()
    results = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    paths = [p for p in args.workflows.split(",") if p]
    try:
        workflows = resolve_workflows(paths)
        ready = {"ready": sorted(vars(w)[DEFINITION].name for w in workflows)}
    except Exception as exc:  # noqa: BLE001 - reported to the parent as bad --workflows input
        _emit(results, {"fatal": f"{type(exc).__name__}: {exc}"})
        sys.exit(2)
    try:
        if args.patches:
            ready["patches"] = code_patches(paths)
    except Exception as exc:  # noqa: BLE001 - replay still runs; only the patch lifecycle is not judged
        ready["patches"] = {"unavailable": f"the workflow source could not be audited: {type(exc).__name__}: {exc}"}
    sdk_shortcuts.apply()
    _emit(results, ready)
    caches = [HistoryCache(folder) if folder else None for folder in (args.read_cache, args.write_cache)]
    asyncio.run(serve(workflows, results, *caches))


if __name__ == "__main__":
    main()
