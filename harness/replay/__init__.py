"""Replay workflow histories against workflow code, in a pool of processes, under two hash seeds.

    corpus    find and load history files (every format the CLI, the UI and the SDKs write)
    child     the replay process: imports the app's workflows, replays what it is sent
    pool      hands history paths to the processes, collects outcomes as they finish
    classify  names why a history did not replay
    report    merges the passes, judges patch lifecycle, renders JSON and JUnit

Pass 1 runs with PYTHONHASHSEED=0 (the harness starts its workers with it too), pass 2 in fresh processes with
another seed: set iteration order over strings changes between them, which the sandbox cannot see. Pass 1
saves each history it parsed in binary (`cache`) for pass 2 to read.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from harness.errors import ConfigError, ProcessError
from harness.observe.model import ReplayOutcome
from harness.replay import corpus
from harness.replay.pool import ReplayPool
from harness.replay.report import PatchTally, ReplayReport, combine, patch_lifecycle

__all__ = ["HASH_SEEDS", "ReplayReport", "replay_corpus", "replay_files"]

HASH_SEEDS = (0, 1)


async def _one_pass(paths: Sequence[Path], pool: ReplayPool, tally: PatchTally | None) -> dict[str, ReplayOutcome]:
    outcomes: dict[str, ReplayOutcome] = {}
    async for record in pool.replay(corpus.discover(paths)):
        if "input_error" in record:
            raise ConfigError(record["input_error"], file=record["path"])
        outcome = ReplayOutcome(**record["outcome"])
        outcomes[outcome.path] = outcome
        if tally is not None:
            tally.add(record["markers"])
    return outcomes


async def replay_corpus(
    paths: Sequence[Path],
    workflow_paths: Sequence[str],
    *,
    jobs: int,
    env: dict[str, str],
    cwd: Path,
    log_dir: Path | None = None,
    seeds: tuple[int, ...] = HASH_SEEDS,
) -> ReplayReport:
    """Replay every history under `paths`; bad input (a corrupt file, unloadable workflow code) is a ConfigError."""
    corpus.check_paths(paths)
    if next(corpus.discover(paths), None) is None:
        raise ConfigError("no history files (*.json) found", file=", ".join(map(str, paths)))
    started = time.monotonic()
    tally = PatchTally()
    passes: list[dict[str, ReplayOutcome]] = []
    with tempfile.TemporaryDirectory(prefix="readiness-replay-") as scratch:
        logs = log_dir or Path(scratch)
        cache = Path(scratch) / "histories"
        cache.mkdir()
        for number, seed in enumerate(seeds):
            first_pass = number == 0
            pool = ReplayPool(
                list(workflow_paths), jobs=jobs, env=env, cwd=cwd, log_dir=logs, hash_seed=seed, audit_patches=first_pass,
                read_cache=None if first_pass else cache, write_cache=cache if first_pass and len(seeds) > 1 else None,
            )
            async with pool:
                passes.append(await _one_pass(paths, pool, tally if first_pass else None))
                if first_pass:
                    code = pool.ready.get("patches", {})
    first = passes[0]
    outcomes = tuple(
        combine(first[path], passes[1].get(path) if len(passes) > 1 else None, seeds) for path in sorted(first)
    )
    return ReplayReport(
        outcomes=outcomes,
        workflows=tuple(workflow_paths),
        seeds=seeds,
        jobs=jobs,
        duration_s=time.monotonic() - started,
        patches=patch_lifecycle(tally, code.get("patched", []), code.get("deprecated", []), code.get("unavailable")),
    )


async def replay_files(
    histories: list[Path], workflow_paths: list[str], *, env: dict[str, str], cwd: Path, log_dir: Path, jobs: int = 1
) -> tuple[ReplayOutcome, ...]:
    """Replay history files (the harness's own; several runs of one workflow id are several files) and return one
    outcome per file."""
    if not histories:
        return ()
    try:
        report = await replay_corpus(list(histories), workflow_paths, jobs=jobs, env=env, cwd=cwd, log_dir=log_dir)
    except ConfigError as exc:  # the run's own workers loaded this code, so this is not the user's input
        raise ProcessError(f"replaying the run's histories failed (workers[].python.workflows): {exc.detail}") from None
    return report.outcomes
