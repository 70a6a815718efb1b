"""Gather what the alert checks read: the rules, promtool's verdict on them, what the workers export, and for every
window a scenario recorded, which alerts a `promtool test rules` run over its series made fire."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.alerts import firing, promtool
from harness.alerts.rules import RuleSet
from harness.observe.model import MetricSample
from harness.observe.recorder import MetricWindow, Scrape


@dataclass(frozen=True)
class WindowOutcome:
    scenario: str
    phase: str
    description: str
    expects: tuple[str, ...]
    duration_s: float
    scrapes: int
    workers_down: int
    """Workers that stopped answering during the window."""
    firing: dict[str, list[dict[str, str]]]
    """Alert name -> label sets it fired with (empty when promtool did not run or failed)."""
    test_file: str
    """The promtool test file, relative to the report folder (rerun it with `promtool test rules`)."""
    extension_s: int
    error: str | None = None
    conditions_met: tuple[str, ...] = ()
    """For a rollout: the alerts whose condition held at some point of it (they fire when `for:` is removed)."""


@dataclass(frozen=True)
class AlertObservations:
    rules: RuleSet
    job: str
    promtool: str | None
    """promtool's version line; None when it is not installed."""
    rule_problems: tuple[str, ...]
    """What `promtool check rules` (or, without it, the built-in parser) found wrong in the rule files."""
    exported: tuple[MetricSample, ...]
    """Everything the workers exported in the run's scrapes (names, labels, bucket bounds)."""
    workflow_types: tuple[str, ...]
    windows: tuple[WindowOutcome, ...]


async def observe(
    rules: RuleSet, job: str, windows: list[MetricWindow], snapshot: tuple[Scrape, ...], workflow_types: tuple[str, ...], out_dir: Path
) -> AlertObservations:
    binary = promtool.find()
    # promtool is the reference (it is what Prometheus runs); the built-in parser only stands in for it
    problems = await asyncio.to_thread(promtool.check_rules, binary, list(rules.files)) if binary else list(rules.problems)
    exported = tuple(s for scrape in (*snapshot, *(x for w in windows for x in w.scrapes)) for s in scrape.samples)
    outcomes = []
    if binary and not problems:
        folder = out_dir / "alerts"
        folder.mkdir(parents=True, exist_ok=True)
        for index, window in enumerate(windows, start=1):
            outcomes.append(await _test_window(binary, window, rules, job, folder / f"{index:02d}-{window.scenario}-{window.phase}.test.yml", out_dir))
    return AlertObservations(
        rules=rules, job=job, promtool=promtool.version(binary) if binary else None, rule_problems=tuple(problems),
        exported=exported, workflow_types=workflow_types, windows=tuple(outcomes),
    )


async def _test_window(binary: str, window: MetricWindow, rules: RuleSet, job: str, path: Path, out_dir: Path) -> WindowOutcome:
    plan = firing.test_document(window, rules, job)
    path.write_text(yaml.safe_dump(plan.document, sort_keys=False, width=1_000_000))
    result = await asyncio.to_thread(promtool.test_rules, binary, path)
    conditions_met: tuple[str, ...] = ()
    if window.phase == "rollout":  # how long a `for:` each rule needs to stay silent through it: which conditions held
        bare = path.with_name(path.name.replace(".test.yml", ".without-for.test.yml"))
        copies = firing.without_for(rules, path.parent / bare.name.replace(".test.yml", ""))
        bare.write_text(yaml.safe_dump(firing.test_document(window, rules, job, copies).document, sort_keys=False, width=1_000_000))
        conditions_met = tuple(sorted((await asyncio.to_thread(promtool.test_rules, binary, bare)).firing))
    down = {s.instance for s in window.scrapes if not s.up}
    return WindowOutcome(
        scenario=window.scenario, phase=window.phase, description=window.description, expects=window.expects,
        duration_s=round(window.ended_at - window.started_at, 2), scrapes=len(window.scrapes), workers_down=len(down),
        firing=result.firing, test_file=str(path.relative_to(out_dir)), extension_s=plan.extension_s, error=result.error,
        conditions_met=conditions_met,
    )
