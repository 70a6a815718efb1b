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


def replays_by_started(
    replays: tuple[ReplayOutcome, ...], family_of: dict[str, str], records: dict[str, WorkflowRecord]
) -> dict[str, ReplayOutcome]:
    """Started workflow id -> the replay that speaks for it: the family's first failure (its message prefixed with
    the child or run it came from), else its own latest run's."""
    found: dict[str, ReplayOutcome] = {}
    for outcome in replays:
        started = family_of.get(outcome.workflow_id, outcome.workflow_id)
        if outcome.ok:
            if started == outcome.workflow_id and started not in found:
                found[started] = outcome
        elif started not in found or found[started].ok:
            found[started] = replace(outcome, workflow_id=started, error_message=_whose(outcome, family_of, records) + (outcome.error_message or ""))
    return found


def family_note(started: tuple[str, ...], workflows: tuple[WorkflowRecord, ...]) -> str:
    """` (N of them child workflows or earlier runs)` for a summary that counts replayed histories, or nothing."""
    extra = len(workflows) - len(set(started) & set(latest_runs(workflows)))
    return f" ({extra} of them child workflows or earlier runs)" if extra > 0 else ""


def _whose(outcome: ReplayOutcome, family_of: dict[str, str], records: dict[str, WorkflowRecord]) -> str:
    wid, run = outcome.workflow_id, outcome.run_id
    child = f"child workflow {wid} ({outcome.workflow_type or 'type unknown'})" if wid in family_of else ""
    if run and wid in records and records[wid].run_id != run:
        return f"earlier run {run} of {child or wid}: "
    return f"{child}: " if child else ""
