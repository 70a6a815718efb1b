"""A started workflow's family, as the checks read it: its earlier runs (continue-as-new) and the child workflows it
started, whose histories the scenarios collect and replay with it (steps.collect_families). A failure anywhere in the
family is the started workflow's, and its message says whose history it was."""

from __future__ import annotations

from dataclasses import replace

from harness.observe.model import ReplayOutcome, WorkflowRecord


def latest_runs(workflows: tuple[WorkflowRecord, ...]) -> dict[str, WorkflowRecord]:
    """Workflow id -> its record; of several runs of one id, the first listed: the latest (histories.fetch_family)."""
    found: dict[str, WorkflowRecord] = {}
    for record in workflows:
        found.setdefault(record.workflow_id, record)
    return found


def unreplayable(replays: tuple[ReplayOutcome, ...], family_of: dict[str, str]) -> tuple[ReplayOutcome, ...]:
    """Children whose workflow type the Python workers do not register (a child served by a worker in another
    language, or by an external command): replay cannot judge them, so they count neither as passing nor failing."""
    return tuple(o for o in replays if o.kind == "unregistered" and o.workflow_id in family_of)


def replays_by_started(
    replays: tuple[ReplayOutcome, ...], family_of: dict[str, str], records: dict[str, WorkflowRecord]
) -> dict[str, ReplayOutcome]:
    """Started workflow id -> the replay that speaks for it: the family's first failure (its message prefixed with
    the child or run it came from; its `path` the history that failed), else its own latest run's."""
    found: dict[str, ReplayOutcome] = {}
    skipped = {id(o) for o in unreplayable(replays, family_of)}
    for outcome in (o for o in replays if id(o) not in skipped):
        started = family_of.get(outcome.workflow_id, outcome.workflow_id)
        if not outcome.ok:
            if started not in found or found[started].ok:
                found[started] = replace(outcome, workflow_id=started, error_message=_whose(outcome, family_of, records) + (outcome.error_message or ""))
        elif _latest_of(outcome, started, records) and (started not in found or found[started].ok):
            found[started] = outcome
        else:
            found.setdefault(started, outcome)  # until its own latest run's or a failure comes
    return found


def history_file(outcome: ReplayOutcome, workflows: tuple[WorkflowRecord, ...]) -> str | None:
    """The report-relative history file a replay outcome is about (its `path` is absolute)."""
    return next((r.history_file for r in workflows if r.history_file and outcome.path.endswith(r.history_file)), None)


def _latest_of(outcome: ReplayOutcome, started: str, records: dict[str, WorkflowRecord]) -> bool:
    return outcome.workflow_id == started and (started not in records or records[started].run_id == outcome.run_id)


def family_note(started: tuple[str, ...], workflows: tuple[WorkflowRecord, ...], unreplayed: tuple[ReplayOutcome, ...] = ()) -> str:
    """` (N of them child workflows or earlier runs)` for a summary that counts replayed histories, and the children
    replay could not judge; or nothing."""
    extra = len(workflows) - len(set(started) & set(latest_runs(workflows)))
    notes = [f"{extra} of them child workflows or earlier runs"] if extra > 0 else []
    if unreplayed:
        types = ", ".join(sorted({o.workflow_type or "type unknown" for o in unreplayed}))
        notes.append(f"{len(unreplayed)} child histories not judged: their types ({types}) are not in the Python workers")
    return f" ({'; '.join(notes)})" if notes else ""


def _whose(outcome: ReplayOutcome, family_of: dict[str, str], records: dict[str, WorkflowRecord]) -> str:
    wid, run = outcome.workflow_id, outcome.run_id
    child = f"child workflow {wid} ({outcome.workflow_type or 'type unknown'})" if wid in family_of else ""
    if run and wid in records and records[wid].run_id != run:
        return f"earlier run {run} of {child or wid}: "
    return f"{child}: " if child else ""
