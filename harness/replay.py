"""Replay histories against the app's workflow code with the SDK Replayer.

Replay runs in a child process (`python -m harness.replay`) with the worker's environment, so the app's
modules import exactly as they do in the worker and never inside the harness process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from harness import processes
from harness.errors import ProcessError
from harness.observe.model import ReplayOutcome
from harness.worker_main import resolve_all

REPLAY_TIMEOUT_S = 600.0


async def replay_histories(histories: list[WorkflowHistory], workflows: list[type]) -> list[ReplayOutcome]:
    """Replay each history; a failure is recorded as an outcome, never raised."""
    outcomes = []

    async def source():
        for history in histories:
            yield history

    async with Replayer(workflows=workflows).workflow_replay_iterator(source()) as results:
        async for result in results:
            failure = result.replay_failure
            outcomes.append(
                ReplayOutcome(
                    workflow_id=result.history.workflow_id,
                    run_id=_run_id(result.history),
                    ok=failure is None,
                    error_class=type(failure).__name__ if failure else None,
                    error_message=str(failure) if failure else None,
                )
            )
    return outcomes


def _run_id(history: WorkflowHistory) -> str:
    if not history.events:
        return ""
    return history.events[0].workflow_execution_started_event_attributes.original_execution_run_id


async def replay_files(
    histories: dict[str, Path], workflow_paths: list[str], *, env: dict[str, str], cwd: Path, log_path: Path
) -> tuple[ReplayOutcome, ...]:
    """Replay `{workflow id: history JSON file}` in a child process with the worker's environment."""
    results_path = log_path.with_suffix(".results.jsonl")
    argv = [sys.executable, "-m", "harness.replay", "--workflows", ",".join(workflow_paths), "--results", str(results_path)]
    manifest = json.dumps({workflow_id: str(path) for workflow_id, path in histories.items()}).encode()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.unlink(missing_ok=True)
    with open(log_path, "ab") as log:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=log, stderr=log,
            env=env, cwd=str(cwd), start_new_session=True,
        )
        try:
            await asyncio.wait_for(proc.communicate(manifest), REPLAY_TIMEOUT_S)
        finally:
            await processes.stop(proc)
    if proc.returncode != 0:
        raise ProcessError(f"replay process exited with code {proc.returncode}:\n{processes.tail(log_path)}")
    lines = results_path.read_text(encoding="utf-8").splitlines()
    return tuple(ReplayOutcome(**json.loads(line)) for line in lines if line.strip())


def main() -> None:
    """Child entry: a JSON manifest {workflow id: history file} on stdin, one outcome per line in --results
    (not stdout: the SDK core logs there)."""
    parser = argparse.ArgumentParser(description="Replay history JSON files against workflow classes.")
    parser.add_argument("--workflows", required=True, help="comma-separated module:Class import paths")
    parser.add_argument("--results", required=True, type=Path, help="file to write one JSON outcome per line to")
    args = parser.parse_args()
    workflows = resolve_all(args.workflows.split(","))
    manifest = json.load(sys.stdin)
    histories = [WorkflowHistory.from_json(wid, Path(path).read_text(encoding="utf-8")) for wid, path in manifest.items()]
    outcomes = asyncio.run(replay_histories(histories, workflows))
    args.results.write_text("".join(json.dumps(asdict(o)) + "\n" for o in outcomes), encoding="utf-8")


if __name__ == "__main__":
    main()
