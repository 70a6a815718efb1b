"""Run a plan: target -> dependencies -> workers -> scenarios -> checks -> scorecard.

Everything started is entered into one AsyncExitStack, so an exception, Ctrl-C or SIGTERM in any
phase still stops workers, dependencies and the server.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import harness
from harness import checks, server
from harness.alerts.observe import observe as observe_alerts
from harness.audit import audit
from harness.checks import alert_firing, alert_rules
from harness.checks import watch as watch_checks
from harness.checks.static_audit import CHECK_ID as STATIC_CHECK_ID
from harness.checks.static_audit import FAILURE_MODE as STATIC_FAILURE_MODE
from harness.checks.static_audit import static_audit
from harness.config.loader import RunPlan
from harness.config.models import EmbeddedTarget, ExistingTarget, ReadinessConfig
from harness.dependencies import running_dependencies
from harness.errors import ConfigError
from harness.faults.activity import FAULTS_FILE_ENV, ActivityFaultSwitch
from harness.history import record as history_record
from harness.journal import Journal, Step, now_iso
from harness.observe.definitions import run_definitions
from harness.observe.model import WorkflowRecord
from harness.observe.recorder import MetricRecorder, MetricWindow, Scrape
from harness.observe.workflow_types import workflow_type_stats
from harness.processes import RUN_ID_ENV
from harness.profiles import BUILT_IN, Profile, client_env, credential_env, refuse_if_protected
from harness.scenarios import (
    longrun_heartbeat,
    non_retryable,
    retry_outage,
    schedule_to_start,
    signals_concurrent,
    time_skip,
    worker_restart,
)
from harness.scenarios.base import ScenarioContext
from harness.scorecard.model import (
    CheckResult,
    RunInfo,
    ScenarioSummary,
    Scorecard,
    Status,
    TargetInfo,
)
from harness.scorecard.verdict import EXIT_CODES, decide
from harness.scorecard.waivers import apply_waivers, unused_waivers
from harness.workers import WorkerSupervisor

TIME_SKIPPED_KINDS = {"time_skip"}
"""Scenario kinds whose workflows run on the time-skipping server: their latencies are workflow time."""
REPORT_FILES = ("scorecard.json", "scorecard.md", "junit.xml", "scorecard.html", "journal.json")


@dataclass(frozen=True)
class ScenarioKind:
    run: Callable[[ScenarioContext, Any], Awaitable[Any]]
    checks: tuple[tuple[str, Callable[[Any, Any, ReadinessConfig], CheckResult]], ...]
    """(check id, pure check function of (the scenario's observations, the scenario, the config))."""


SCENARIO_KINDS: dict[str, ScenarioKind] = {
    "worker_restart": ScenarioKind(
        worker_restart.run, ((checks.determinism.CHECK_ID, lambda obs, _s, _c: checks.restart_replay(obs)),)
    ),
    "retry_outage": ScenarioKind(
        retry_outage.run,
        (
            (checks.retry.OUTAGE_ID, lambda obs, scenario, _c: checks.retry_outage(obs, scenario.thresholds)),
            (checks.retry.POLICY_ID, lambda obs, _s, config: checks.retry_policy(obs, config.retry)),
        ),
    ),
    "non_retryable": ScenarioKind(
        non_retryable.run, ((checks.retry.NON_RETRYABLE_ID, lambda obs, _s, _c: checks.non_retryable(obs)),)
    ),
    "schedule_to_start": ScenarioKind(
        schedule_to_start.run,
        ((checks.latency.CHECK_ID, lambda obs, scenario, _c: checks.schedule_to_start(obs, scenario.thresholds)),),
    ),
    "longrun_heartbeat": ScenarioKind(
        longrun_heartbeat.run,
        ((checks.heartbeat.CHECK_ID, lambda obs, scenario, _c: checks.longrun_heartbeat(obs, scenario)),),
    ),
    "signals_concurrent": ScenarioKind(
        signals_concurrent.run, ((checks.signals.CHECK_ID, lambda obs, _s, _c: checks.signals_concurrent(obs)),)
    ),
    "time_skip": ScenarioKind(
        time_skip.run, ((checks.time_skip.CHECK_ID, lambda obs, scenario, _c: checks.longrun_time_skip(obs, scenario.expect)),)
    ),
}


def known_check_ids() -> tuple[str, ...]:
    """Every check id a run can produce, in scorecard order: what a waiver may name."""
    scenario_checks = [check_id for kind in SCENARIO_KINDS.values() for check_id, _ in kind.checks]
    alert_checks = [alert_rules.STATIC_ID, alert_firing.CHECK_ID, alert_rules.RUNBOOKS_ID]
    return tuple(dict.fromkeys([STATIC_CHECK_ID, *scenario_checks, *alert_checks, *watch_checks.CHECK_IDS]))


@dataclass(frozen=True)
class RunOptions:
    out_dir: Path
    address: str | None = None
    namespace: str | None = None
    locust_workers: int = 0
    profile: Profile = BUILT_IN["local"]
    history_db: Path | None = None
    """The run history to read "since the last GO" from (the CLI records the run there); None: neither."""


def preflight(plan: RunPlan, options: RunOptions) -> None:
    """Everything that can be checked before anything starts or the report folder is touched (ConfigError)."""
    refuse_if_protected(options.profile, plan.scenarios)
    credential_env(options.profile)  # an unset variable or a missing file named by the profile fails here
    spec = _target_spec(plan, options)
    if isinstance(spec, EmbeddedTarget):
        server.find_temporal_cli(spec.temporal_cli)
    if options.history_db is not None:
        history_record.check_usable(options.history_db)
    ensure_writable(options.out_dir)


def ensure_writable(out_dir: Path) -> None:
    """Create the report folder and prove a file can be written there, before anything starts (ConfigError on --out)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot write reports there: {exc}", key_path="--out") from None


def prepare_out_dir(out_dir: Path) -> None:
    """Remove the previous run's reports so a crashed run can never be mistaken for an earlier verdict."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in REPORT_FILES:
        (out_dir / name).unlink(missing_ok=True)
    for folder in ("histories", "logs", "load", "faults"):
        shutil.rmtree(out_dir / folder, ignore_errors=True)


def recorded_profile(options: RunOptions) -> str:
    """The profile as the history keys "since the last GO" on: a run sent elsewhere with --address is not that profile."""
    return f"{options.profile.name}@{options.address}" if options.address else options.profile.name


def without_credentials(env: dict[str, str]) -> dict[str, str]:
    """The app's dependencies do not talk to Temporal: they never get the profile's API key or TLS material."""
    return {k: v for k, v in env.items() if not k.startswith(server.CREDENTIAL_ENV_PREFIXES)}


def git_commit(path: Path) -> str | None:
    try:
        head = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain"], capture_output=True, text=True, timeout=5)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _target_spec(plan: RunPlan, options: RunOptions):
    spec = plan.config.target
    address = options.address or options.profile.address
    if address:
        data = {"kind": "existing", "address": address, "namespace": options.namespace or options.profile.namespace or spec.namespace}
        try:
            return ExistingTarget.model_validate(data)
        except ValidationError:
            raise ConfigError(f"expected HOST:PORT (got {address!r})", key_path="--address") from None
    if options.namespace or options.profile.namespace:
        return spec.model_copy(update={"namespace": options.namespace or options.profile.namespace})
    return spec


def static_check(plan: RunPlan) -> CheckResult:
    """The static determinism audit of every Python worker's workflow classes (read from source, not imported)."""
    paths = sorted({p for w in plan.config.workers if w.python for p in w.python.workflows})
    skipped = CheckResult(
        id=STATIC_CHECK_ID, scenario="static", failure_mode=STATIC_FAILURE_MODE,
        status=Status.SKIPPED, summary="",
    )
    if not paths:
        return skipped.model_copy(update={"summary": "No Python workflow classes in the config: nothing to audit."})
    try:
        return static_audit(audit(paths, plan.app_path), blocking=plan.config.audit.blocking)
    except ConfigError as exc:
        return skipped.model_copy(update={"summary": f"The workflow source could not be read under app.path: {exc}"})


async def alert_checks(
    plan: RunPlan, windows: list[MetricWindow], snapshot: tuple[Scrape, ...], workflow_types: tuple[str, ...], out_dir: Path
) -> list[CheckResult]:
    """alerts.static, alerts.fire and alerts.runbooks over the config's rule files and what the run recorded."""
    alerts = plan.config.alerts
    if alerts is None or plan.alert_rules is None:
        return alert_rules.no_rules()
    try:
        obs = await observe_alerts(plan.alert_rules, alerts.scrape_job, windows, snapshot, workflow_types, out_dir)
        return [
            alert_rules.alerts_static(obs),
            alert_firing.alerts_fire(obs),
            alert_rules.alerts_runbooks(alerts, workflow_types, plan.alert_rules.alerts),
        ]
    except Exception as exc:  # noqa: BLE001 - the scenarios' verdicts must still be written
        (out_dir / "logs").mkdir(parents=True, exist_ok=True)
        (out_dir / "logs" / "alerts-error.txt").write_text(traceback.format_exc())
        return [
            CheckResult(id=check_id, scenario="static", failure_mode=alert_rules.FAILURE_MODE, status=Status.ERROR,
                        summary=f"The harness could not check the alerts: {type(exc).__name__}: {exc} (logs/alerts-error.txt)")
            for check_id in (alert_rules.STATIC_ID, alert_firing.CHECK_ID, alert_rules.RUNBOOKS_ID)
        ]


def _errored_checks(scenario: Any, error: str) -> list[CheckResult]:
    return [
        CheckResult(
            id=check_id, scenario=scenario.name, failure_mode="(scenario did not finish)", status=Status.ERROR,
            summary=f"The harness could not finish the scenario: {error}",
            remediation="This is a harness or environment problem, not a verdict on the app: see journal.json and logs/.",
        )
        for check_id, _ in SCENARIO_KINDS[scenario.kind].checks
    ]


async def _run_scenario(ctx: ScenarioContext, scenario: Any) -> tuple[ScenarioSummary, list[CheckResult], tuple[WorkflowRecord, ...]]:
    """Run one scenario and its checks; a harness failure becomes ERROR checks, not a crash of the run.
    Also returns the workflows the scenario observed, for the per-workflow-type view."""
    kind = SCENARIO_KINDS[scenario.kind]
    started = time.monotonic()
    workflows: tuple[WorkflowRecord, ...] = ()
    try:
        observations = await kind.run(ctx, scenario)
        workflows = tuple(getattr(observations, "workflows", ()))
        results = [check(observations, scenario, ctx.plan.config) for _, check in kind.checks]
        status, error = "completed", None
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others
        error = f"{type(exc).__name__}: {exc}"
        log = ctx.out_dir / "logs" / f"{scenario.name}-error.txt"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc())
        results, status = _errored_checks(scenario, error), "error"
    summary = ScenarioSummary(
        name=scenario.name, kind=scenario.kind, status=status, duration_s=round(time.monotonic() - started, 2), error=error
    )
    return summary, results, workflows


async def execute(plan: RunPlan, options: RunOptions, on_step: Callable[[Step], None] | None = None) -> Scorecard:
    """Run every scenario of the plan and return the scorecard (reports are written by the caller)."""
    run_id = uuid.uuid4().hex[:8]
    out_dir = options.out_dir.resolve()
    prepare_out_dir(out_dir)
    journal = Journal(out_dir / "journal.json", on_step)
    started_at, started = now_iso(), time.monotonic()
    base_env = {**client_env(options.profile), RUN_ID_ENV: run_id}  # holds the profile's secrets: never journaled
    log_dir = out_dir / "logs"
    results: list[CheckResult] = []
    summaries: list[ScenarioSummary] = []
    wall_clock: list[WorkflowRecord] = []
    time_skipped: list[WorkflowRecord] = []
    stack = AsyncExitStack()
    try:
        with journal.step("static determinism audit") as step:
            results.append(static_check(plan))
            step.detail["status"] = results[-1].status.value
        with journal.step("start target", address=options.address or "embedded") as step:
            target, client = await stack.enter_async_context(
                server.open_target(_target_spec(plan, options), log_dir / "temporal-server.log", base_env)
            )
            step.detail.update(address=target.address, namespace=target.namespace, server_version=target.server_version)
        with journal.step("start dependencies behind fault proxies", names=[d.name for d in plan.config.dependencies]) as step:
            dependencies = await stack.enter_async_context(
                running_dependencies(plan.config.dependencies, without_credentials(base_env), plan.app_path, log_dir)
            )
            step.detail["env"] = dependencies.env
        fault_switch = ActivityFaultSwitch(out_dir / "faults" / "activity-faults.json")
        supervisor = await stack.enter_async_context(
            WorkerSupervisor(
                plan.config.workers, client=client, task_queue=plan.config.task_queue,
                base_env={**target.worker_env(base_env), **dependencies.env, FAULTS_FILE_ENV: str(fault_switch.path)},
                app_path=plan.app_path, log_dir=log_dir, run_id=run_id, profile=options.profile,
                scrape_job=plan.config.alerts.scrape_job if plan.config.alerts else "temporal-workers",
            )
        )
        with journal.step("start workers") as step:
            step.detail["identities"] = [w.identity for w in await supervisor.start_all()]
        recorder = MetricRecorder(supervisor.metrics_endpoints)
        ctx = ScenarioContext(
            client, supervisor, plan, journal, out_dir, run_id, dependencies=dependencies, faults=fault_switch,
            load_env=target.worker_env(base_env), locust_workers=options.locust_workers, recorder=recorder,
        )
        for scenario in plan.scenarios:
            summary, scenario_checks, workflows = await _run_scenario(ctx, scenario)
            summaries.append(summary)
            results.extend(scenario_checks)
            (time_skipped if scenario.kind in TIME_SKIPPED_KINDS else wall_clock).extend(workflows)
        snapshot = await recorder.snapshot()
    finally:
        with journal.step("stop workers, dependencies and server"):
            await stack.aclose()
    workflow_types = workflow_type_stats(wall_clock, time_skipped)
    with journal.step("alert checks", windows=len(recorder.windows)) as step:
        results.extend(await alert_checks(plan, recorder.windows, snapshot, tuple(t.workflow_type for t in workflow_types), out_dir))
        step.detail.update({r.id: r.status.value for r in results[-3:]})
    today = date.today()
    results = apply_waivers(results, plan.waivers, today)
    verdict, reason = decide(results, summaries)
    card = Scorecard(
        verdict=verdict,
        exit_code=EXIT_CODES[verdict],
        verdict_reason=reason,
        run=RunInfo(
            id=run_id, started_at=started_at, finished_at=now_iso(), duration_s=round(time.monotonic() - started, 2),
            profile=recorded_profile(options), config_file=str(plan.config_path), app_name=plan.config.app.name, app_git_commit=git_commit(plan.app_path),
            harness_version=harness.__version__, sdk_version=version("temporalio"), python_version=platform.python_version(),
            target=TargetInfo(kind=target.kind, address=target.address, namespace=target.namespace, server_version=target.server_version),
        ),
        scenarios=summaries,
        checks=results,
        unused_waivers=unused_waivers(results, plan.waivers, today),
        workflow_types=workflow_types,
        artifacts={"journal": "journal.json", "histories": "histories/", "logs": "logs/"},
    )
    return with_history_views(card, plan, options, journal, out_dir)


def with_history_views(card: Scorecard, plan: RunPlan, options: RunOptions, journal: Journal, out_dir: Path) -> Scorecard:
    """Add the effective definitions read from the run's histories, then the changes since the last GO run in the
    history store. Neither may cost the run its verdict: a failure is noted in the journal and the field left None."""
    with journal.step("effective definitions from histories") as step:
        try:
            specs = [spec for worker in plan.config.workers if worker.python for spec in worker.python.workflows]
            card = card.model_copy(update={"definitions": run_definitions(out_dir / "histories", specs, plan.app_path)})
            step.detail["histories"] = card.definitions.histories
        except Exception as exc:  # noqa: BLE001 - an unreadable history must not cost the verdict
            step.detail["error"] = f"{type(exc).__name__}: {exc}"
    if options.history_db is not None:
        with journal.step("changes since the last GO", history_db=str(options.history_db)) as step:
            try:
                card = card.model_copy(update={"since_last_go": history_record.last_go_changes(options.history_db, card)})
                step.detail["last_go"] = card.since_last_go.run_id if card.since_last_go else None
            except Exception as exc:  # noqa: BLE001 - nor may an unreadable history database
                step.detail["error"] = f"{type(exc).__name__}: {exc}"
    return card
