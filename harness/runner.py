"""Run a plan: target -> dependencies -> workers -> scenarios -> checks -> scorecard.

Everything started is entered into one AsyncExitStack, so an exception, Ctrl-C or SIGTERM in any
phase still stops workers, dependencies and the server.
"""

from __future__ import annotations

import functools
import time
import traceback
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from harness import lanes, server
from harness.alerts.observe import observe as observe_alerts
from harness.audit import audit
from harness.checks import alert_firing, alert_rules, catalog, idempotency, policies
from harness.checks.static_audit import CHECK_ID as STATIC_CHECK_ID
from harness.checks.static_audit import FAILURE_MODE as STATIC_FAILURE_MODE
from harness.checks.static_audit import static_audit
from harness.config.models import EmbeddedTarget, ExistingTarget
from harness.config.scenarios import ScenarioSpec
from harness.dependencies import running_dependencies
from harness.environment import Environment
from harness.errors import ConfigError, OutputError
from harness.faults.ledger import RequestLedger
from harness.history import record as history_record
from harness.journal import Journal, Step, now_iso
from harness.observe import ledger as ledger_view
from harness.observe.definitions import read_history_files, run_definitions
from harness.observe.model import WorkflowRecord
from harness.observe.recorder import MetricWindow, Scrape
from harness.observe.workflow_types import workflow_type_stats
from harness.plan import RunPlan
from harness.processes import RUN_ID_ENV
from harness.profiles import BUILT_IN, Profile, client_env, credential_env, refuse_if_protected
from harness.run_info import REPORT_FILES, ensure_writable, prepare_out_dir, run_info
from harness.scenarios.base import ScenarioContext
from harness.scenarios.registry import KINDS, Registry
from harness.scorecard.model import CheckResult, ScenarioSummary, Scorecard, Status, TargetInfo
from harness.scorecard.verdict import EXIT_CODES, decide
from harness.scorecard.waivers import apply_waivers, unused_waivers

__all__ = ["REPORT_FILES", "RunOptions", "ensure_writable", "execute", "preflight", "recorded_profile", "without_credentials"]


@dataclass(frozen=True)
class RunOptions:
    out_dir: Path
    address: str | None = None
    namespace: str | None = None
    locust_workers: int = 0
    profile: Profile = BUILT_IN["local"]
    history_db: Path | None = None
    """The run history to read "since the last GO" from (the CLI records the run there); None: neither."""
    kinds: Registry = field(default=KINDS)
    """The scenario kinds the plan was loaded with."""
    lanes: int | None = None
    """Scenario lanes on a local target (None: harness.lanes.MAX_LANES; 1: one after another)."""


def preflight(plan: RunPlan, options: RunOptions) -> None:
    """Everything that can be checked before anything starts or the report folder is touched (ConfigError)."""
    refuse_if_protected(options.profile, [(s.name, options.kinds[s.kind].effect) for s in plan.scenarios])
    credential_env(options.profile)  # an unset variable or a missing file named by the profile fails here
    spec = _target_spec(plan, options)
    if isinstance(spec, EmbeddedTarget):
        server.find_temporal_cli(spec.temporal_cli)
    if options.history_db is not None:
        history_record.check_usable(options.history_db)
    ensure_writable(options.out_dir)


def recorded_profile(options: RunOptions) -> str:
    """The profile as the history keys "since the last GO" on: a run sent elsewhere with --address is not that profile."""
    return f"{options.profile.name}@{options.address}" if options.address else options.profile.name


def without_credentials(env: dict[str, str]) -> dict[str, str]:
    """The app's dependencies do not talk to Temporal: they never get the profile's API key or TLS material."""
    return {k: v for k, v in env.items() if not k.startswith(server.CREDENTIAL_ENV_PREFIXES)}


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


def workflow_specs(plan: RunPlan) -> list[str]:
    return sorted({spec for worker in plan.config.workers if worker.python for spec in worker.python.workflows})


def static_check(plan: RunPlan) -> CheckResult:
    """The static determinism audit of every Python worker's workflow classes (read from source, not imported)."""
    paths = workflow_specs(plan)
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
            for check_id in catalog.ALERT_CHECKS
        ]


def _run_wide(module, what: str, out_dir: Path, judge: Callable[[], CheckResult]) -> CheckResult:
    """A check of the whole run's evidence; a harness failure in it is that check's ERROR, not a lost scorecard."""
    try:
        return judge()
    except Exception as exc:  # noqa: BLE001 - the scenarios' verdicts must still be written
        log = f"logs/{module.CHECK_ID}-error.txt"
        (out_dir / "logs").mkdir(parents=True, exist_ok=True)
        (out_dir / log).write_text(traceback.format_exc())
        return CheckResult(id=module.CHECK_ID, scenario=module.SCENARIO, failure_mode=module.FAILURE_MODE, status=Status.ERROR,
                           summary=f"The harness could not {what}: {type(exc).__name__}: {exc} ({log})")


def policy_check(plan: RunPlan, out_dir: Path) -> CheckResult:
    """retry.policy over every history the run wrote (whichever scenario fetched it) and the workflow code."""
    def judge() -> CheckResult:
        histories = read_history_files(sorted((out_dir / "histories").glob("*.json")))
        return policies.retry_policy(policies.gather(histories, workflow_specs(plan), plan.app_path), plan.config.retry)
    return _run_wide(policies, "audit the retry policies", out_dir, judge)


def idempotency_check(plan: RunPlan, out_dir: Path, ledgers: dict[str, RequestLedger]) -> CheckResult:
    """activities.idempotent over every request the `http:` dependencies received, tied to the run's histories."""
    def judge() -> CheckResult:
        for name, ledger in ledgers.items():
            ledger.write(out_dir / "ledger" / f"{name}.jsonl")
        histories = read_history_files(sorted((out_dir / "histories").glob("*.json")))
        opaque = {name: ledger.opaque_connections for name, ledger in ledgers.items()}
        return idempotency.activities_idempotent(ledger_view.gather(plan.config.dependencies, out_dir / "ledger", histories, opaque))
    return _run_wide(idempotency, "read the side-effect ledger", out_dir, judge)


def _errored_checks(scenario: ScenarioSpec, check_ids: tuple[str, ...], error: str) -> list[CheckResult]:
    return [
        CheckResult(
            id=check_id, scenario=scenario.name, failure_mode="(scenario did not finish)", status=Status.ERROR,
            summary=f"The harness could not finish the scenario: {error}",
            remediation="This is a harness or environment problem, not a verdict on the app: see journal.json and logs/.",
        )
        for check_id in check_ids
    ]


@dataclass
class _Scenarios:
    """What the scenarios left for the scorecard."""

    summaries: list[ScenarioSummary] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    wall_clock: list[WorkflowRecord] = field(default_factory=list)
    time_skipped: list[WorkflowRecord] = field(default_factory=list)
    """Workflows of kinds whose clock is workflow time: their latencies are skipped time."""


@dataclass(frozen=True)
class _ScenarioResult:
    summary: ScenarioSummary
    checks: list[CheckResult]
    workflows: tuple[WorkflowRecord, ...]
    clock: str


async def _run_scenario(ctx: ScenarioContext, scenario: ScenarioSpec, kinds: Registry) -> _ScenarioResult:
    """Run one scenario and its checks; a harness failure becomes ERROR checks, not a crash of the run."""
    kind = kinds[scenario.kind]
    started = time.monotonic()
    ctx.dependencies.enter_scenario(scenario.name)
    workflows: tuple[WorkflowRecord, ...] = ()
    try:
        observations = await kind.run(ctx, scenario)
        workflows = tuple(getattr(observations, "workflows", ()))
        results = [check.judge(observations, scenario, ctx.plan.config) for check in kind.checks]
        status, error = "completed", None
    except (ConfigError, OutputError):  # bad input, or a report folder nothing more can be recorded in: stop the run
        raise
    except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others
        error = f"{type(exc).__name__}: {exc}"
        log = ctx.out_dir / "logs" / f"{scenario.name}-error.txt"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc())
        results, status = _errored_checks(scenario, kind.check_ids, error), "error"
    summary = ScenarioSummary(
        name=scenario.name, kind=scenario.kind, status=status, duration_s=round(time.monotonic() - started, 2), error=error
    )
    return _ScenarioResult(summary, results, workflows, kind.clock)


@dataclass(frozen=True)
class _Run:
    """One run's identity and where it writes."""

    plan: RunPlan
    options: RunOptions
    journal: Journal
    out_dir: Path
    run_id: str
    base_env: dict[str, str]
    """The harness's environment with the profile's secrets: for child processes only, never journaled."""


@dataclass(frozen=True)
class _Driven:
    """What the run's processes left for the run-wide checks."""

    target: server.Target
    windows: list[MetricWindow]
    snapshot: tuple[Scrape, ...]
    """A last scrape of every worker."""
    ledgers: dict[str, RequestLedger]


async def _drive(run: _Run, stack: AsyncExitStack, into: _Scenarios) -> _Driven:
    """Start the target, the dependencies behind their fault proxies and the workers of every lane (each entered
    into `stack`), then run every scenario."""
    plan, options, journal, log_dir = run.plan, run.options, run.journal, run.out_dir / "logs"
    spec = _target_spec(plan, options)
    with journal.step("start target", address=options.address or "embedded") as step:
        environment = await stack.enter_async_context(Environment.open(spec, log_dir / "temporal-server.log", run.base_env))
        target = environment.target
        step.detail.update(address=target.address, namespace=target.namespace, server_version=target.server_version)
    with journal.step("start dependencies behind fault proxies", names=[d.name for d in plan.config.dependencies]) as step:
        dependencies = await stack.enter_async_context(
            running_dependencies(plan.config.dependencies, without_credentials(run.base_env), plan.app_path, log_dir)
        )
        step.detail["env"] = dependencies.env
    setup = lanes.LaneSetup(plan, journal, run.out_dir, run.run_id, run.base_env, options.profile, options.locust_workers)
    openers = [functools.partial(lanes.open_lane, setup, 0, environment, dependencies, stack)] + [
        functools.partial(lanes.extra_lane, setup, number, spec, dependencies, stack)
        for number in range(1, lanes.lane_count(options.lanes, spec, len(plan.scenarios)))
    ]
    contexts = await lanes.open_lanes(openers)
    results = await lanes.run_in_lanes(
        contexts, plan.scenarios, lambda ctx, s: _run_scenario(ctx, s, options.kinds), alone=lambda s: options.kinds[s.kind].runs_alone
    )
    for result in results:
        into.summaries.append(result.summary)
        into.checks.extend(result.checks)
        (into.time_skipped if result.clock == "workflow" else into.wall_clock).extend(result.workflows)
    recorders = [ctx.recorder for ctx in contexts if ctx.recorder is not None]
    snapshot = tuple(scrape for scrapes in [await recorder.snapshot() for recorder in recorders] for scrape in scrapes)
    ledgers = {
        name: RequestLedger.merged([ctx.dependencies.ledgers[name] for ctx in contexts]) for name in dependencies.ledgers
    }
    return _Driven(target, [w for recorder in recorders for w in recorder.windows], snapshot, ledgers)


async def execute(plan: RunPlan, options: RunOptions, on_step: Callable[[Step], None] | None = None) -> Scorecard:
    """Run every scenario of the plan and return the scorecard (reports are written by the caller)."""
    run_id = uuid.uuid4().hex[:8]
    out_dir = options.out_dir.resolve()
    prepare_out_dir(out_dir)
    run = _Run(plan, options, Journal(out_dir / "journal.json", on_step), out_dir, run_id,
               {**client_env(options.profile), RUN_ID_ENV: run_id})
    started_at, started = now_iso(), time.monotonic()
    with run.journal.step("static determinism audit") as step:
        static = static_check(plan)
        step.detail["status"] = static.status.value
    scenarios = _Scenarios()
    stack = AsyncExitStack()
    try:
        driven = await _drive(run, stack, scenarios)
    finally:
        with run.journal.step("stop workers, dependencies and server"):
            await stack.aclose()
    workflow_types = workflow_type_stats(scenarios.wall_clock, scenarios.time_skipped)
    with run.journal.step("retry policies of every history and the code") as step:
        policy = policy_check(plan, out_dir)
        step.detail.update(status=policy.status.value, histories=policy.evidence.get("histories_read"))
    with run.journal.step("side-effect ledger of every http dependency") as step:
        ledger_check = idempotency_check(plan, out_dir, driven.ledgers)
        step.detail.update(status=ledger_check.status.value)
    target = driven.target
    with run.journal.step("alert checks", windows=len(driven.windows)) as step:
        alerts = await alert_checks(plan, driven.windows, driven.snapshot, tuple(t.workflow_type for t in workflow_types), out_dir)
        step.detail.update({r.id: r.status.value for r in alerts})
    today = date.today()
    results = apply_waivers([static, *scenarios.checks, policy, ledger_check, *alerts], plan.waivers, today)
    verdict, reason = decide(results, scenarios.summaries)
    card = Scorecard(
        verdict=verdict,
        exit_code=EXIT_CODES[verdict],
        verdict_reason=reason,
        run=run_info(
            run_id=run_id, command="run", profile=recorded_profile(options), started_at=started_at, started=started,
            config_file=plan.config_path, app_name=plan.config.app.name, app_path=plan.app_path,
            target=TargetInfo(kind=target.kind, address=target.address, namespace=target.namespace, server_version=target.server_version),
        ),
        scenarios=scenarios.summaries,
        checks=results,
        unused_waivers=unused_waivers(results, plan.waivers, today),
        workflow_types=workflow_types,
        artifacts={"journal": "journal.json", "histories": "histories/", "logs": "logs/"},
    )
    return with_history_views(card, plan, options, run.journal, out_dir)


def with_history_views(card: Scorecard, plan: RunPlan, options: RunOptions, journal: Journal, out_dir: Path) -> Scorecard:
    """Add the effective definitions read from the run's histories, then the changes since the last GO run in the
    history store. Neither may cost the run its verdict: a failure is noted in the journal and the field left None."""
    with journal.step("effective definitions from histories") as step:
        try:
            card = card.model_copy(update={"definitions": run_definitions(out_dir / "histories", workflow_specs(plan), plan.app_path)})
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
