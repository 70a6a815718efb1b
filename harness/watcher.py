"""`readiness watch` from start to scorecard: load the config, read the namespace (read-only), judge, build the
scorecard. The CLI prints it and writes the reports."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from temporalio.client import Client, WorkflowHistory

from harness.alerts import promtool
from harness.alerts.observe import AlertObservations
from harness.alerts.rules import RuleSet
from harness.checks import alert_rules, policies
from harness.checks import watch as watch_checks
from harness.config.loader import load_alert_rules, load_config, waivers_file_of
from harness.config.models import ReadinessConfig
from harness.config.waivers import Waiver
from harness.errors import ConfigError
from harness.history import record as history_record
from harness.journal import now_iso
from harness.observe.definitions import definitions
from harness.planning import load_waivers_file
from harness.run_info import run_info
from harness.scorecard.model import CheckResult, Scorecard, Status, TargetInfo
from harness.scorecard.verdict import EXIT_CODES, decide
from harness.scorecard.waivers import apply_waivers, unused_waivers
from harness.server import server_version
from harness.watch.collect import collect
from harness.watch.model import WatchObservations
from harness.watch.stats import scorecard_types, window_counts


@dataclass(frozen=True)
class WatchPlan:
    """A validated config, ready before anything talks to the cluster."""

    config: ReadinessConfig
    config_path: Path
    app_path: Path
    alert_rules: RuleSet | None
    waivers: tuple[Waiver, ...] = ()
    """The config's waivers file: watch.* failures (and the lint's) can be waived like a run's."""


@dataclass(frozen=True)
class WatchOptions:
    since_s: float
    limit: int
    sample: int
    out_dir: Path
    profile: str
    history_db: Path | None = None
    """The run history "since the last GO" is read from (the CLI records the watch there); None: neither."""


def load(config_path: Path) -> WatchPlan:
    """The config and its alert rules (ConfigError: exit 2). Scenarios are not loaded: watch runs none."""
    config = load_config(config_path)
    app_path = (config_path.resolve().parent / config.app.path).resolve()
    if not app_path.is_dir():
        raise ConfigError(f"expected a folder, {app_path} does not exist", file=str(config_path), key_path="app.path")
    waivers_file = waivers_file_of(config, config_path, None)
    return WatchPlan(
        config, config_path.resolve(), app_path, load_alert_rules(config, config_path, app_path),
        load_waivers_file(waivers_file) if waivers_file else (),
    )


async def alert_observations(plan: WatchPlan, workflow_types: tuple[str, ...]) -> AlertObservations | None:
    """The alert rules as the lint reads them. Nothing is scraped by watch, so `exported` is empty and the lint says
    the metric naming was not checked instead of guessing it."""
    if plan.config.alerts is None or plan.alert_rules is None:
        return None
    rules = plan.alert_rules
    binary = promtool.find()
    problems = await asyncio.to_thread(promtool.check_rules, binary, list(rules.files)) if binary else list(rules.problems)
    return AlertObservations(
        rules=rules, job=plan.config.alerts.scrape_job, promtool=promtool.version(binary) if binary else None,
        rule_problems=tuple(problems), exported=(), workflow_types=workflow_types, windows=(),
    )


def policy_audit(obs: WatchObservations, plan: WatchPlan, sampled: Sequence[WorkflowHistory]) -> CheckResult:
    """retry.policy over the sampled histories and the config's workflow code. With no history sampled there is
    nothing the cluster showed to audit: SKIPPED, so `--sample 0` is not INCONCLUSIVE on every watch."""
    if not sampled:
        why = ("--sample 0: no history was fetched, so no retry policy was read" if obs.sample_per_type == 0
               else "no history was sampled: no retry policy to audit")
        return CheckResult(id=policies.CHECK_ID, scenario=obs.scenario, failure_mode=policies.FAILURE_MODE, status=Status.SKIPPED,
                           summary=why[0].upper() + why[1:] + ".")
    specs = sorted({spec for worker in plan.config.workers if worker.python for spec in worker.python.workflows})
    result = policies.retry_policy(policies.gather(sampled, specs, plan.app_path), plan.config.retry)
    return result.model_copy(update={"scenario": obs.scenario})


def judge(
    obs: WatchObservations, plan: WatchPlan, alerts: AlertObservations | None, sampled: Sequence[WorkflowHistory] = ()
) -> list[CheckResult]:
    thresholds = plan.config.watch
    results = [
        watch_checks.failure_rate(obs, thresholds), watch_checks.latency(obs, thresholds), watch_checks.stuck(obs, thresholds),
        policy_audit(obs, plan, sampled),
    ]
    if alerts is not None and plan.config.alerts is not None:
        results += [alert_rules.alerts_static(alerts), alert_rules.alerts_runbooks(plan.config.alerts, alerts.workflow_types, alerts.rules.alerts)]
    return results


async def watch(
    client: Client, address: str, plan: WatchPlan, options: WatchOptions, warn: Callable[[str], None] = lambda _: None
) -> tuple[Scorecard, WatchObservations]:
    started_at, started, window_end = now_iso(), time.monotonic(), time.time()
    obs, sampled = await collect(
        client, address=address, window_start=window_end - options.since_s, window_end=window_end, limit=options.limit,
        sample=options.sample, out_dir=options.out_dir,
    )
    alerts = await alert_observations(plan, tuple(c.workflow_type for c in window_counts(obs)))
    today = date.today()
    checks = apply_waivers(judge(obs, plan, alerts, sampled), plan.waivers, today)
    verdict, reason = decide(checks, [])
    judged = {c.id for c in checks}
    card = Scorecard(
        verdict=verdict, exit_code=EXIT_CODES[verdict], verdict_reason=reason,
        run=run_info(
            run_id=uuid.uuid4().hex[:8], command="watch", profile=options.profile, started_at=started_at, started=started,
            config_file=plan.config_path, app_name=plan.config.app.name, app_path=plan.app_path,
            target=TargetInfo(kind="existing", address=address, namespace=obs.namespace, server_version=await server_version(client)),
        ),
        scenarios=[], checks=checks, workflow_types=scorecard_types(obs),
        unused_waivers=[w for w in unused_waivers(checks, plan.waivers, today) if w.check in judged],
        artifacts={"histories": "histories/"} if (options.out_dir / "histories").is_dir() else {},
    )
    return with_history(card, sampled, options.history_db, warn), obs


def with_history(card: Scorecard, sampled: list[WorkflowHistory], history_db: Path | None, warn: Callable[[str], None]) -> Scorecard:
    """The effective definitions the sampled histories show, and the changes since the last GO watch of this app and
    profile. Neither may cost the watch its verdict: a failure leaves the field empty and is reported through `warn`."""
    try:
        card = card.model_copy(update={"definitions": definitions(sampled)})
    except Exception as exc:  # noqa: BLE001 - an unreadable history must not cost the verdict
        warn(f"the workflow definitions were not read from the sampled histories: {type(exc).__name__}: {exc}")
    if history_db is not None:
        try:
            card = card.model_copy(update={"since_last_go": history_record.last_go_changes(history_db, card)})
        except Exception as exc:  # noqa: BLE001 - nor may an unreadable history database
            warn(f"changes since the last GO were not read from {history_db}: {type(exc).__name__}: {exc}")
    return card
