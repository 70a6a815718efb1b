"""alerts.fire: for every fault the run injected, did the alert meant for it fire, and did the alerts stay silent
in the steady state before it? The fault x alert matrix. Pure: reads what promtool said about each window."""

from __future__ import annotations

from harness.alerts import catalog, promtool
from harness.alerts.firing import STEP_S
from harness.alerts.observe import AlertObservations, WindowOutcome
from harness.scorecard.evidence import FIRES, SILENT, AlertFireEvidence, MatrixRow, WindowResult
from harness.scorecard.model import CheckResult, Status

CHECK_ID = "alerts.fire"
FAILURE_MODE = "Failures nobody is alerted on"
EXPECTED_TEXT = {
    "pollers": "pollers-at-zero", "worker_down": "worker-down", "activity_failures": "activity-failure",
    "workflow_failures": "workflow-failure", "workflow_task_schedule_to_start": "schedule-to-start",
    "activity_schedule_to_start": "schedule-to-start", "task_slots": "task-slots", "non_determinism": "non-determinism",
    "request_failures": "request-failure",
}


def _categories(obs: AlertObservations, name: str) -> frozenset[str]:
    alert = obs.rules.by_name(name)
    return catalog.categories(alert.parsed.metrics) if alert and alert.parsed else frozenset()


def _for_s(obs: AlertObservations, name: str) -> float:
    alert = obs.rules.by_name(name)
    return alert.for_s if alert else 0.0


def _expected(window: WindowOutcome) -> str:
    return " or ".join(dict.fromkeys(EXPECTED_TEXT.get(c, c) for c in window.expects)) + " alert"


def _row(obs: AlertObservations, window: WindowOutcome) -> dict:
    fired = sorted(window.firing)
    row = {"scenario": window.scenario, "window": window.phase, "what happened": window.description,
           "seconds": window.duration_s, "fired": ", ".join(fired) or "none"}
    if window.error:
        return {**row, "result": "ERROR", "detail": window.error}
    if window.phase == "fault":
        caught = [name for name in fired if _categories(obs, name) & set(window.expects)]
        return {**row, "expected": _expected(window), "result": "caught" if caught else "NOT CAUGHT", "test_file": window.test_file}
    if window.phase == "baseline":
        return {**row, "expected": "silence", "result": "NOISY" if fired else "silent", "test_file": window.test_file}
    if window.phase == "rollout":
        needs = [f"{name} (for: {_for_s(obs, name):g} s)" for name in window.conditions_met]
        return {
            **row, "expected": f"silence through a {window.duration_s:g} s rollout", "result": "NOISY" if fired else "silent",
            "test_file": window.test_file,
            "detail": (f"conditions met during the rollout, so these rules need `for:` over {window.duration_s:g} s to stay "
                       f"silent through it: {', '.join(needs)}") if needs else "no rule's condition held at any point of the rollout",
        }
    return {**row, "expected": "(load, no fault: shown for reference)", "result": "-", "test_file": window.test_file}


def alerts_fire(obs: AlertObservations) -> CheckResult:
    base = CheckResult(id=CHECK_ID, scenario="(all faults)", failure_mode=FAILURE_MODE, status=Status.NO_DATA, summary="")
    if obs.promtool is None:
        return base.model_copy(update={
            "status": Status.SKIPPED,
            "summary": f"promtool is not installed, so whether the alerts fire was not tested ({promtool.INSTALL_HINT}).",
        })
    if obs.rule_problems:
        return base.model_copy(update={"summary": "The rule files do not load (see alerts.static): no alert could be tested."})
    faults = [w for w in obs.windows if w.phase == "fault"]
    rows = [_row(obs, w) for w in obs.windows]
    missed = [r for r in rows if r["result"] == "NOT CAUGHT"]
    noisy = [r for r in rows if r["result"] == "NOISY"]
    rollouts = [w for w in obs.windows if w.phase == "rollout"]
    if not faults and not rollouts and not noisy:
        return base.model_copy(update={
            "status": Status.SKIPPED,
            "summary": "No fault scenario ran (worker-restart, retry-outage, non-retryable, longrun-heartbeat, deploy): "
            "no alert was put to the test.",
        })
    errors = [r for r in rows if r["result"] == "ERROR"]
    alert_names = sorted({a.name for a in obs.rules.alerts})
    fired_in_faults = {name for w in faults for name in w.firing}
    caught = sum(r["result"] == "caught" for r in rows)
    if missed or noisy:
        status = Status.FAIL
        parts = [f"{r['scenario']} ({r['what happened']}): no {r['expected']} fired" for r in missed]
        parts += [
            f"{r['fired']} fired " + ("during the rollout of a clean deploy" if r["window"] == "rollout" else f"in the steady state before {r['scenario']}'s fault")
            for r in noisy
        ]
        summary = f"{len(missed)} of {len(faults)} fault(s) caught by no alert, {len(noisy)} noisy baseline(s): " + "; ".join(parts)
    elif errors:
        status, summary = Status.ERROR, f"promtool could not test {len(errors)} window(s): {errors[0]['detail']}"
    else:
        status = Status.PASS
        summary = (f"Every fault ({caught} of {len(faults)}) made its alert fire, and no alert fired in the steady state before a fault"
                   if faults else "No alert fired in the steady state")
        if rollouts:
            longest = max(w.duration_s for w in rollouts)
            met = sorted({n for w in rollouts for n in w.conditions_met})
            summary += f"; {len(rollouts)} clean rollout(s) of up to {longest:g} s paged nobody" + (
                f" ({', '.join(met)} met their condition during it and stayed silent only thanks to `for:`)" if met else "")
        summary += "."
    extension = max((w.extension_s for w in obs.windows), default=0)
    return base.model_copy(update={
        "status": status,
        "summary": summary,
        "evidence": AlertFireEvidence(
            assumption=(
                f"Each window's series are the workers' own metrics, scraped every ~{STEP_S} s while the fault lasted, then "
                f"extended for {extension} s (the rules' longest `for` plus range window) as if the fault went on: counters at "
                "the rate observed in the window, gauges at their last value, killed workers down. An alert that fires here "
                "fires in production if the fault lasts that long."
            ),
            promtool=obs.promtool,
            faults=len(faults), caught=caught,
            alerts_not_exercised=[n for n in alert_names if n not in fired_in_faults],
            matrix=[
                MatrixRow.model_validate({
                    "fault": f"{w.scenario}: {w.description}" + ("" if w.phase == "fault" else f" ({w.phase})"),
                    **{name: (FIRES if name in w.firing else SILENT) for name in alert_names},
                })
                for w in obs.windows
            ],
            windows=[WindowResult.model_validate(r) for r in rows],
        ).dump(),
        "remediation": (
            "For each fault no alert caught: add an alert on the signal it moves (see the row's `expected`), or lower the "
            "threshold / shorten `for` of the existing one so it fires while the failure is still going on; rerun the row's "
            "test file with `promtool test rules` to iterate. For noisy baselines, raise the threshold; for an alert that "
            "fires during a clean rollout, give it a `for:` longer than the rollout (the row says how long it took)."
        ) if status == Status.FAIL else "",
    })
