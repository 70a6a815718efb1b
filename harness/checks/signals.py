"""Failure mode: signals and updates that arrive within milliseconds of each other are handled in one workflow task,
where handlers interleave at every `await`; the workflow ends in a state no one-signal-at-a-time test produces.

`signals.concurrent` reads the signals-concurrent scenario: per burst and order, how many workflows got the burst in
one workflow task (co-delivered), which invariants broke (with a sample history), and signals the server accepted
that never reached the history.
"""

from __future__ import annotations

from collections import defaultdict

from harness.config.models import ReadinessConfig
from harness.observe.messages import SignalRun, SignalsObservations
from harness.scorecard.model import CheckResult, Status, subjects

CHECK_ID = "signals.concurrent"
FAILURE_MODE = "signals arriving together interleave in their handlers"
REMEDIATION = (
    "Look for handlers that check state, then `await` (an activity, a timer, wait_condition, even one that is already "
    "true), then act on what they checked: another handler delivered in the same workflow task runs in between. Make "
    "such handlers synchronous (check and act with no await in between), or await first and check afterwards, or hold "
    "one asyncio.Lock across the whole handler. Before the run method returns, `await workflow.wait_condition("
    "workflow.all_handlers_finished)` so no handler is cut off half-way."
)

UPDATE_NOTE = " (an update its validator rejects leaves no event, so only the other messages can show it)."


def raced(run: SignalRun, restart_during_burst: bool) -> bool:
    """The burst landed in one workflow task. With a restart in the middle of the burst the first message is usually
    handled before the kill, so the messages sent while no worker ran landing together also count."""
    return run.delivery.co_delivered or (restart_during_burst and run.delivery.co_delivered_after(1))


def _rows(runs: tuple[SignalRun, ...], restart_during_burst: bool) -> list[dict]:
    groups: dict[tuple[str, str], list[SignalRun]] = defaultdict(list)
    for run in runs:
        groups[(run.combination, run.order)].append(run)
    rows = []
    for (combination, order), group in groups.items():
        violated = [r for r in group if r.violations]
        refused = [m for r in group for m in r.messages if not m.accepted]
        statuses: dict[str, int] = defaultdict(int)
        for r in group:
            statuses[r.workflow_status] += 1
        rows.append({
            "combination": combination,
            "order": order,
            "runs": len(group),
            "co_delivered": sum(raced(r, restart_during_burst) for r in group),
            "violations": len(violated),
            "lost_signals": sum(sum(r.lost_signals.values()) for r in group),
            "refused_messages": len(refused),
            "refused_example": f"{refused[0].label}: {refused[0].error}"[:200] if refused else "",
            "end_status": ", ".join(f"{s} {n}" for s, n in sorted(statuses.items())),
            "sample": (violated[0].history_file or violated[0].workflow_id) if violated else "",
        })
    return rows


def _violated_invariants(runs: tuple[SignalRun, ...], restart_during_burst: bool) -> list[dict]:
    """One row per invariant that broke: in how many workflows, and one of them to open."""
    found: dict[str, dict] = {}
    for run in runs:
        for violation in run.violations:
            row = found.setdefault(violation.invariant, {
                "invariant": violation.invariant, "runs": 0, "co_delivered_runs": 0, "sample_workflow_id": run.workflow_id,
                "sample_history": run.history_file or "", "sample_order": run.order, "sample_values": violation.detail[:300],
            })
            row["runs"] += 1
            row["co_delivered_runs"] += raced(run, restart_during_burst)
    return list(found.values())


def failing_workflow_types(obs: SignalsObservations) -> list[str]:
    """Subjects of a FAIL: the workflow types whose invariants broke or whose signals were lost; none when one of
    those workflows has no history (its type is unknown, so only a waiver of the whole check can cover it)."""
    types = {w.workflow_id: w.workflow_type for w in obs.workflows}
    failing = [r.workflow_id for r in obs.runs if r.violations or r.lost_signals]
    if any(not types.get(wid) for wid in failing):
        return []
    return subjects(workflow_types=[types[wid] for wid in failing])


def signals_concurrent(obs: SignalsObservations, spec: object, config: ReadinessConfig) -> CheckResult:
    rows = _rows(obs.runs, obs.restart_during_burst)
    invariants = _violated_invariants(obs.runs, obs.restart_during_burst)
    lost = [(r, name, n) for r in obs.runs for name, n in r.lost_signals.items()]
    co_delivered = sum(raced(r, obs.restart_during_burst) for r in obs.runs)
    evidence: dict = {
        "delivery": obs.delivery_mode,
        "workflows": len(obs.runs),
        "co_delivered": co_delivered,
        "violated_workflows": sum(bool(r.violations) for r in obs.runs),
        "lost_signals": sum(n for _, _, n in lost),
        "not_idle_before_burst": len(obs.not_idle),
        "bursts": rows,
    }
    if invariants:
        evidence["violated_invariants"] = invariants
    if lost:
        evidence["lost"] = [{"workflow_id": r.workflow_id, "signal": name, "missing": n, "history": r.history_file or ""} for r, name, n in lost[:10]]
    if obs.restart_during_burst:
        evidence["kills"] = [{"worker": k.worker, "pid": k.pid, "returncode": k.returncode, "confirmed": k.confirmed} for k in obs.kills]

    def result(status: Status, summary: str, remediation: str = "") -> CheckResult:
        return CheckResult(
            id=CHECK_ID, scenario=obs.scenario, failure_mode=FAILURE_MODE, status=status, summary=summary,
            evidence=evidence, remediation=remediation if status != Status.PASS else "",
            subjects=failing_workflow_types(obs) if status == Status.FAIL else [],
        )

    if not obs.runs:
        return result(Status.NO_DATA, "No workflow received a burst, so nothing was tested.", "See journal.json for why no workflow was started.")
    figures = (
        f"{len(obs.runs)} workflows in {len(rows)} burst{'s' if len(rows) > 1 else ''} ({obs.delivery_mode}), "
        f"{co_delivered} delivered in one workflow task"
    )
    if invariants or lost:
        problems = [
            f"`{row['invariant']}` broke in {row['runs']} workflows ({row['co_delivered_runs']} co-delivered; "
            f"e.g. {row['sample_order']} -> {row['sample_values'] or 'see history'}, {row['sample_history'] or row['sample_workflow_id']})"
            for row in invariants[:3]
        ]
        if lost:
            problems.append(f"{evidence['lost_signals']} accepted signals never reached the history (e.g. {lost[0][0].workflow_id})")
        fix = REMEDIATION
        if lost:
            fix += (" A signal the server accepted but the history lacks was sent to a run that then continued-as-new or was "
                    "reset: send signals to the workflow id without a run id, and carry pending signals over continue-as-new.")
        return result(Status.FAIL, f"{figures}: {'; '.join(problems)}.", fix)
    if obs.restart_during_burst and (not obs.kills or not all(k.confirmed for k in obs.kills)):
        return result(
            Status.NO_DATA, f"{figures}, but the workers were not seen to die in the middle of the bursts, so the restart was not tested.",
            "See the kills in the evidence and the worker logs.",
        )
    if obs.delivery_mode == "concurrent":
        missed = sorted({r["combination"] for r in rows} - {r["combination"] for r in rows if r["co_delivered"]})
        if missed:
            return result(
                Status.NO_DATA,
                f"{figures}: no burst of {', '.join(missed)} landed in one workflow task, so the race was not exercised"
                + (UPDATE_NOTE if any("update:" in m for m in missed) else "."),
                "Raise `runs`, keep the workers' host unloaded during the scenario, or send the burst with `restart_during_burst` "
                "(messages sent while no worker runs always arrive together).",
            )
    return result(Status.PASS, f"{figures}: every invariant held and every signal reached the history.")
