"""Waivers: the file's validation, matching FAILs by check id and subjects, the verdict with waived and expired
failures, the subjects each check names, and how every report format shows them."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from harness.alerts import rules
from harness.checks import alert_rules
from harness.checks.determinism import restart_replay
from harness.checks.heartbeat import longrun_heartbeat
from harness.checks.retry import non_retryable, retry_outage
from harness.checks.signals import signals_concurrent
from harness.cli import main
from harness.cli.common import console
from harness.cli.run import print_waivers
from harness.config.models import AlertsConfig
from harness.config.scenarios import OutageThresholds
from harness.config.waivers import Waiver, load_waivers
from harness.errors import ConfigError
from harness.observe.messages import Violation
from harness.observe.model import NonRetryableCase, NonRetryableObservations, WorkflowRecord
from harness.planning import load_plan, validate_file
from harness.scenarios.registry import KINDS
from harness.scenarios.retry_outage import RetryOutageScenario
from harness.scorecard import EXIT_CODES, Status, Verdict, decide
from harness.scorecard.model import CheckResult, subjects
from harness.scorecard.render import to_junit, to_markdown
from harness.scorecard.waivers import apply_waivers, unused_waivers, waiver_note, why_unused
from tests.conftest import REPO, write
from tests.unit import test_alert_checks as alerts_fixtures
from tests.unit import test_heartbeat_check as heartbeat_fixtures
from tests.unit import test_signals_check as signals_fixtures
from tests.unit.load_observations import DEFAULT, outage
from tests.unit.observations import nondeterministic, observations
from tests.unit.test_scorecard import DONE
from tests.unit.test_scorecard import card as scorecard_of

TODAY = date(2026, 6, 1)
KNOWN = KINDS.known_check_ids()
VALID = """\
version: 1
waivers:
  - check: retry.policy
    scope: activity_type:charge_payment
    reason: the payments SDK retries internally
    owner: payments-team
    ticket: PAY-123
    expires: 2026-12-31
  - check: alerts.static
    reason: per-type alert ships next sprint
    owner: sre
    ticket: OPS-7
    expires: "2026-07-01"
"""


def waiver(check: str = "retry.policy", scope: str | None = None, ticket: str = "PAY-123", expires: date = date(2026, 12, 31)) -> Waiver:
    return Waiver(check=check, scope=scope, reason="accepted for the launch", owner="payments-team", ticket=ticket, expires=expires)


def failed(check_id: str = "retry.policy", subject_list: tuple[str, ...] = (), status: Status = Status.FAIL) -> CheckResult:
    return CheckResult(id=check_id, scenario="s", failure_mode="m", status=status, summary=f"{check_id} broke", subjects=list(subject_list))


def passed(check_id: str) -> CheckResult:
    return failed(check_id, status=Status.PASS)


# --- the file ---------------------------------------------------------------------------------------------------------


def test_a_valid_file_loads_with_dates_quoted_or_not(tmp_path):
    loaded = load_waivers(write(tmp_path / "waivers.yaml", VALID), KNOWN)
    assert [(w.check, w.scope, w.ticket, w.expires) for w in loaded] == [
        ("retry.policy", "activity_type:charge_payment", "PAY-123", date(2026, 12, 31)),
        ("alerts.static", None, "OPS-7", date(2026, 7, 1)),
    ]
    assert load_waivers(write(tmp_path / "empty.yaml", "version: 1\nwaivers: []\n"), KNOWN) == ()


def test_known_check_ids_are_every_check_a_run_or_a_watch_produces():
    assert KNOWN == (
        "determinism.static", "determinism.restart_replay", "retry.outage", "retry.non_retryable",
        "latency.schedule_to_start", "longrun.heartbeat", "signals.concurrent", "longrun.time_skip", "determinism.deploy", "deploy.versioning",
        "resilience.server_connection", "resilience.server_restart",
        "retry.policy", "activities.idempotent",
        "alerts.static", "alerts.fire", "alerts.runbooks", "watch.failure_rate", "watch.latency", "watch.stuck",
    )


FIRST = VALID.split("  - check: alerts.static")[0]


@pytest.mark.parametrize(
    ("text", "key_path", "fragment"),
    [
        (FIRST.replace("version: 1\n", "version: 1\nowner: me\n"), "owner", "unknown key (expected one of: version, waivers)"),
        (FIRST.replace("    owner: payments-team\n", "    owner: payments-team\n    approved_by: cto\n"), "waivers[0].approved_by", "unknown key"),
        (FIRST.replace("check: retry.policy", "check: retry.polcy"), "waivers[0].check", "unknown check id 'retry.polcy' (known: determinism.static,"),
        (FIRST.replace("activity_type:charge_payment", "activity:charge_payment"), "waivers[0].scope", "expected workflow_type:NAME or activity_type:NAME"),
        (FIRST.replace("activity_type:charge_payment", '"activity_type: x"'), "waivers[0].scope", "expected workflow_type:NAME"),
        (FIRST.replace("    reason: the payments SDK retries internally\n", ""), "waivers[0].reason", "required key is missing"),
        (FIRST.replace("    owner: payments-team\n", ""), "waivers[0].owner", "required key is missing"),
        (FIRST.replace("    ticket: PAY-123\n", ""), "waivers[0].ticket", "required key is missing"),
        (FIRST.replace("    expires: 2026-12-31\n", ""), "waivers[0].expires", "required key is missing"),
        (FIRST.replace("reason: the payments SDK retries internally", 'reason: "  "'), "waivers[0].reason", "expected a non-empty text"),
        (FIRST.replace("ticket: PAY-123", "ticket: 123"), "waivers[0].ticket", "valid string"),
        (FIRST.replace("2026-12-31", "2026-02-30"), "waivers[0].expires", "day is out of range for month"),
        (FIRST.replace("2026-12-31", "next year"), "waivers[0].expires", "expected an ISO date YYYY-MM-DD"),
        (FIRST.replace("2026-12-31", "20261231"), "waivers[0].expires", "expected an ISO date YYYY-MM-DD"),
        (FIRST.replace("2026-12-31", "2026-12-31 10:00"), "waivers[0].expires", "expected an ISO date YYYY-MM-DD"),
        (FIRST.replace("version: 1", "version: 2"), "version", "Input should be 1"),
        (FIRST + FIRST.split("waivers:\n")[1], "waivers[1]", "waives retry.policy activity_type:charge_payment again: waivers[0] already does"),
    ],
)
def test_every_problem_is_one_error_with_file_and_key_path(tmp_path, text, key_path, fragment):
    path = write(tmp_path / "waivers.yaml", text)
    with pytest.raises(ConfigError) as raised:
        load_waivers(path, KNOWN)
    assert raised.value.file == str(path) and raised.value.key_path == key_path
    assert fragment in str(raised.value) and "\n" not in str(raised.value)


def test_the_same_check_may_be_waived_whole_and_per_type(tmp_path):
    text = FIRST + FIRST.split("waivers:\n")[1].replace("    scope: activity_type:charge_payment\n", "")
    assert [w.scope for w in load_waivers(write(tmp_path / "w.yaml", text), KNOWN)] == ["activity_type:charge_payment", None]


@pytest.mark.parametrize(("text", "fragment"), [("waivers: [1\n", "invalid YAML"), ("- a\n", "expected a mapping"), ("waivers:\n", "valid list")])
def test_broken_yaml_or_shape(tmp_path, text, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_waivers(write(tmp_path / "w.yaml", text), KNOWN)


CONFIG = """\
app: {name: shop, path: %s}
task_queue: q
workers: [{name: w, python: {workflows: ["m:W"]}}]
workload: {workflow: W}
scenarios_dir: %s
%s"""


def config(tmp_path, extra: str = ""):
    return write(tmp_path / "cfg" / "readiness.yaml", CONFIG % (REPO, REPO / "scenarios", extra))


def test_the_config_names_the_file_relative_to_itself_and_the_option_overrides_it(tmp_path):
    write(tmp_path / "cfg" / "team" / "waivers.yaml", VALID)
    plan = load_plan(config(tmp_path, "waivers: team/waivers.yaml\n"))
    assert [w.ticket for w in plan.waivers] == ["PAY-123", "OPS-7"] and plan.waivers_file == tmp_path / "cfg" / "team" / "waivers.yaml"
    other = write(tmp_path / "other.yaml", "version: 1\nwaivers: []\n")
    assert load_plan(config(tmp_path, "waivers: team/waivers.yaml\n"), waivers_path=other).waivers == ()
    assert load_plan(config(tmp_path)).waivers == ()


def test_a_missing_file_names_where_it_was_asked_for(tmp_path):
    with pytest.raises(ConfigError) as from_config:
        load_plan(config(tmp_path, "waivers: nope.yaml\n"))
    assert from_config.value.key_path == "waivers" and "nope.yaml does not exist" in str(from_config.value)
    with pytest.raises(ConfigError) as from_option:
        load_plan(config(tmp_path), waivers_path=tmp_path / "gone.yaml")
    assert from_option.value.key_path == "--waivers" and "gone.yaml does not exist" in str(from_option.value)


def test_a_config_with_an_impossible_date_is_a_config_error_not_a_crash(tmp_path):
    path = write(tmp_path / "readiness.yaml", (CONFIG % (REPO, REPO / "scenarios", "")).replace("{workflow: W}", "{workflow: W, inputs: [2026-02-30]}"))
    with pytest.raises(ConfigError, match="invalid YAML value: day is out of range"):
        load_plan(path)


def test_validate_recognises_a_waivers_file_and_the_shipped_sample(tmp_path):
    assert validate_file(write(tmp_path / "w.yaml", VALID)) == "waivers"
    assert validate_file(REPO / "sample_workflows/waivers/alerts-missing-type.yaml") == "waivers"
    result = CliRunner().invoke(main, ["validate", str(write(tmp_path / "bad.yaml", FIRST.replace("2026-12-31", "soon")))])
    assert result.exit_code == 2 and "waivers[0].expires" in result.stderr and "Traceback" not in result.output


def test_the_schema_command_prints_the_strict_waivers_schema():
    result = CliRunner().invoke(main, ["schema", "--kind", "waivers"])
    assert result.exit_code == 0, result.output
    waiver_schema = json.loads(result.stdout)["$defs"]["Waiver"]
    assert waiver_schema["additionalProperties"] is False and set(waiver_schema["required"]) == {"check", "reason", "owner", "ticket", "expires"}
    assert waiver_schema["properties"]["expires"]["format"] == "date"


def test_run_with_a_broken_waivers_file_starts_nothing_and_writes_nothing(tmp_path):
    bad = write(tmp_path / "w.yaml", FIRST.replace("retry.policy", "retry.everything"))
    out = tmp_path / "out"
    # a temporal CLI that does not exist: should the waivers pass, the run stops at preflight instead of starting a server
    cfg = config(tmp_path, "target: {kind: embedded, temporal_cli: /nonexistent/temporal}\nscenarios: [non-retryable]\n")
    args = ["run", "--config", str(cfg), "--waivers", str(bad), "--out", str(out), "--history-db", str(tmp_path / "h.db")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        f"error: {bad}: waivers[0].check: unknown check id 'retry.everything' (known: {', '.join(KNOWN)})"
    ]
    assert not out.exists() and not (tmp_path / "h.db").exists()


# --- matching ---------------------------------------------------------------------------------------------------------


def test_a_whole_check_waiver_matches_a_fail_of_that_check_only():
    checks = apply_waivers([failed(), failed("retry.outage"), passed("alerts.static")], [waiver(), waiver("alerts.static")], TODAY)
    assert [[w.ticket for w in c.waivers] for c in checks] == [["PAY-123"], [], []]
    assert checks[0].status == Status.FAIL and checks[0].waivers[0].expired is False
    assert [w.check for w in unused_waivers(checks, [waiver(), waiver("alerts.static")], TODAY)] == ["alerts.static"]


def test_scoped_waivers_match_only_when_together_they_cover_every_subject():
    check = failed(subject_list=("activity_type:charge_payment", "activity_type:ship_order"))
    one = [waiver(scope="activity_type:charge_payment")]
    both = one + [waiver(scope="activity_type:ship_order", ticket="SHIP-9")]
    assert apply_waivers([check], one, TODAY)[0].waivers == []
    assert [w.ticket for w in apply_waivers([check], both, TODAY)[0].waivers] == ["PAY-123", "SHIP-9"]
    unused = unused_waivers(apply_waivers([check], one, TODAY), one, TODAY)
    assert why_unused(unused[0], [check]) == "covers only part of the failure: retry.policy also fails for activity_type:ship_order"


def test_a_scoped_waiver_never_matches_a_check_that_names_no_subjects():
    checks = apply_waivers([failed()], [waiver(scope="activity_type:charge_payment")], TODAY)
    assert checks[0].waivers == []
    assert "names no workflow or activity type" in why_unused(unused_waivers(checks, [waiver(scope="activity_type:charge_payment")], TODAY)[0], checks)


@pytest.mark.parametrize("status", [Status.ERROR, Status.NO_DATA, Status.WARN, Status.SKIPPED, Status.PASS])
def test_only_a_fail_can_be_waived(status):
    checks = apply_waivers([failed(status=status)], [waiver()], TODAY)
    assert checks[0].waivers == []
    why = why_unused(unused_waivers(checks, [waiver()], TODAY)[0], checks)
    if status in (Status.ERROR, Status.NO_DATA):
        assert why == f"retry.policy ended {status.value}: only a FAIL can be waived, a check without a verdict never is"
    else:
        assert why == f"retry.policy did not fail ({status.value}): remove the waiver"


def test_expired_from_the_expiry_day_on():
    for today, expired in ((date(2026, 12, 30), False), (date(2026, 12, 31), True), (date(2027, 1, 1), True)):
        assert apply_waivers([failed()], [waiver()], today)[0].waivers[0].expired is expired


# --- the verdict ------------------------------------------------------------------------------------------------------


def verdict_of(checks, waivers, today=TODAY, scenarios=(DONE,)):
    return decide(apply_waivers(checks, waivers, today), list(scenarios))


def test_all_failures_waived_is_go_with_waivers_exit_0_naming_the_tickets():
    verdict, reason = verdict_of([failed(), passed("alerts.static")], [waiver()])
    assert verdict == Verdict.GO_WITH_WAIVERS and EXIT_CODES[verdict] == 0
    assert reason == "1 of 2 checks passed; waived: retry.policy (PAY-123, expires 2026-12-31)"


def test_an_expired_waiver_counts_as_the_failure_it_covered():
    verdict, reason = verdict_of([failed(), passed("alerts.static")], [waiver(expires=date(2026, 5, 1))])
    assert verdict == Verdict.NO_GO and reason == "retry.policy: waiver PAY-123 expired on 2026-05-01"
    verdict, reason = verdict_of([failed(), failed("retry.outage")], [waiver(expires=date(2026, 5, 1))])
    assert reason == "failed: retry.outage; retry.policy: waiver PAY-123 expired on 2026-05-01"


def test_one_expired_scope_uncovers_the_whole_check():
    check = failed(subject_list=("activity_type:a", "activity_type:b"))
    waivers = [waiver(scope="activity_type:a"), waiver(scope="activity_type:b", ticket="B-1", expires=date(2026, 1, 1))]
    assert verdict_of([check], waivers) == (Verdict.NO_GO, "retry.policy: waiver B-1 expired on 2026-01-01")


def test_an_unwaived_failure_next_to_a_waived_one_is_no_go():
    assert verdict_of([failed(), failed("retry.outage")], [waiver()]) == (Verdict.NO_GO, "failed: retry.outage")


def test_error_no_data_and_unfinished_scenarios_stay_inconclusive_with_waivers():
    verdict, reason = verdict_of([failed(), failed("retry.outage", status=Status.ERROR)], [waiver(), waiver("retry.outage")])
    assert verdict == Verdict.INCONCLUSIVE and reason == "no verdict from: retry.outage (ERROR); waived: retry.policy (PAY-123, expires 2026-12-31)"
    broken = DONE.model_copy(update={"status": "error", "error": "boom"})
    assert verdict_of([failed()], [waiver()], scenarios=(broken,))[0] == Verdict.INCONCLUSIVE


def test_without_waivers_nothing_changes():
    assert verdict_of([passed("retry.policy")], []) == (Verdict.GO, "1 of 1 checks passed")
    assert verdict_of([failed()], []) == (Verdict.NO_GO, "failed: retry.policy")


# --- subjects of the checks -------------------------------------------------------------------------------------------


def test_subjects_helper_sorts_prefixes_and_dedupes():
    assert subjects(workflow_types=["B", "A", "A", ""], activity_types=["x"]) == ["activity_type:x", "workflow_type:A", "workflow_type:B"]


def test_retry_outage_names_the_faulted_activity_types():
    result = retry_outage(outage(DEFAULT), RetryOutageScenario.model_construct(thresholds=OutageThresholds(max_storm_factor=1.0)), None)
    assert result.status == Status.FAIL and result.subjects == ["activity_type:charge_payment"]


def test_non_retryable_names_its_activity_only_on_fail():
    case = lambda attempts: NonRetryableCase("PaymentDeclined", f"wf-{attempts}", attempts, "failed", "x", None)  # noqa: E731
    failing = non_retryable(NonRetryableObservations("nr", "charge_payment", (case(1), case(3)), injections=4), None, None)
    passing = non_retryable(NonRetryableObservations("nr", "charge_payment", (case(1),), injections=1), None, None)
    assert failing.subjects == ["activity_type:charge_payment"] and passing.subjects == []


def test_heartbeat_names_the_activity_types_noticed_late_or_timing_out():
    late = heartbeat_fixtures.attempt("wf-0", **heartbeat_fixtures.SILENT)
    ok = heartbeat_fixtures.attempt("wf-1", activity_type="sync_ledger")
    result = longrun_heartbeat(heartbeat_fixtures.observations(late, ok), heartbeat_fixtures.SCENARIO, None)
    assert result.status == Status.FAIL and result.subjects == ["activity_type:export_orders"]
    assert longrun_heartbeat(heartbeat_fixtures.observations(ok), heartbeat_fixtures.SCENARIO, None).subjects == []


def test_signals_names_the_workflow_types_whose_invariants_broke_or_signals_were_lost():
    bad = signals_fixtures.run(index=1, violations=(Violation("decisions == 1", "decisions=2"),))
    good = signals_fixtures.run(index=0)
    records = tuple(WorkflowRecord(r.workflow_id, "run", t, "COMPLETED", 9, ("w",)) for r, t in ((bad, "ApprovalWorkflow"), (good, "OtherWorkflow")))
    result = signals_concurrent(signals_fixtures.observe(good, bad, workflows=records), None, None)
    assert result.status == Status.FAIL and result.subjects == ["workflow_type:ApprovalWorkflow"]
    assert signals_concurrent(signals_fixtures.observe(good, bad), None, None).subjects == []  # no history: the type is unknown


def test_restart_replay_names_the_types_of_workflows_that_did_not_survive():
    assert restart_replay(nondeterministic(2), None, None).subjects == ["workflow_type:OrderWorkflow"]
    assert restart_replay(observations(2), None, None).subjects == []
    lost = nondeterministic(2)
    assert restart_replay(dataclasses.replace(lost, workflows=lost.workflows[:1]), None, None).subjects == []  # one history missing


def test_alerts_static_names_uncovered_types_only_when_that_is_the_whole_failure():
    uncovered = alert_rules.alerts_static(alerts_fixtures.observations(alerts_fixtures.MISSING_TYPE))
    assert uncovered.status == Status.FAIL and uncovered.subjects == ["workflow_type:ApprovalWorkflow", "workflow_type:OrderWorkflow"]
    wrong_names = alert_rules.alerts_static(alerts_fixtures.observations(alerts_fixtures.SECONDS, alerts_fixtures.DEFAULT_SCRAPE))
    assert wrong_names.status == Status.FAIL and wrong_names.subjects == []


def test_alerts_runbooks_names_unowned_types_unless_a_runbook_link_is_broken(tmp_path):
    config = AlertsConfig(rules=["x.yml"], workflow_types={"OrderWorkflow": {"owner": "orders", "runbook": "docs/o.md"}})
    unowned = alert_rules.alerts_runbooks(config, ("OrderWorkflow", "ApprovalWorkflow"), alerts_fixtures.SHIPPED.alerts)
    assert unowned.status == Status.FAIL and unowned.subjects == ["workflow_type:ApprovalWorkflow"]
    path = write(tmp_path / "r.yml", "groups:\n  - name: g\n    rules:\n      - {alert: A, expr: up == 0, annotations: {runbook_url: gone.md}}\n")
    dangling = alert_rules.alerts_runbooks(config, ("OrderWorkflow", "ApprovalWorkflow"), rules.load([path]).alerts)
    assert dangling.status == Status.FAIL and dangling.subjects == []


# --- how the reports show it ------------------------------------------------------------------------------------------


REPLAY_WAIVER = waiver("determinism.restart_replay", scope="workflow_type:OrderWorkflow")
STATIC_WAIVER = waiver("alerts.static", ticket="OPS-7")
STALE_WAIVER = waiver("retry.outage", ticket="OLD-1")


def waived_card(today: date = TODAY):
    """A nondeterministic restart waived for its workflow type, alerts.static waived whole, and a waiver for a check that passed."""
    waivers = [REPLAY_WAIVER, STATIC_WAIVER, STALE_WAIVER]
    checks = apply_waivers([restart_replay(nondeterministic(1), None, None), failed("alerts.static"), passed("retry.outage")], waivers, today)
    return scorecard_of(checks).model_copy(update={"unused_waivers": unused_waivers(checks, waivers, today)})


def test_markdown_lists_waived_failures_and_unused_waivers_under_the_verdict():
    text = to_markdown(waived_card())
    assert "## Verdict: **GO-WITH-WAIVERS**" in text
    top = text.split("## Run")[0]
    assert "## Waived failures" in top and "## Unused waivers" in top
    assert "| `determinism.restart_replay` | workflow_type:OrderWorkflow | PAY-123 | payments-team | 2026-12-31 | accepted for the launch |" in top
    assert "| `alerts.static` | whole check | OPS-7 |" in top
    assert "| `retry.outage` | whole check | OLD-1 | payments-team | 2026-12-31 | retry.outage did not fail (PASS): remove the waiver |" in top
    assert "| `alerts.static` | s | ❌ FAIL, WAIVED (OPS-7, expires 2026-12-31) |" in top
    assert "*Concerns:* `workflow_type:OrderWorkflow`" in text and "**WAIVED (PAY-123, expires 2026-12-31):** accepted for the launch" in text


def test_markdown_and_junit_mark_an_expired_waiver():
    card = waived_card(today=date(2027, 1, 1))
    assert card.verdict == Verdict.NO_GO
    text = to_markdown(card)
    assert "| **EXPIRED** 2026-12-31 |" in text and "❌ FAIL, WAIVER EXPIRED (OPS-7 expired on 2026-12-31)" in text
    failures = {case.get("name"): case.find("failure") for case in ET.fromstring(to_junit(card)).iter("testcase")}
    assert failures["alerts.static"].get("message") == "WAIVER EXPIRED (OPS-7 expired on 2026-12-31): alerts.static broke"
    assert "Waiver OPS-7 (payments-team, expires 2026-12-31): accepted for the launch" in failures["alerts.static"].text


def test_junit_reports_a_waived_fail_as_skipped_with_the_waiver_first():
    root = ET.fromstring(to_junit(waived_card()))
    skipped = {case.get("name"): case.find("skipped") for case in root.iter("testcase")}
    assert skipped["alerts.static"].get("message") == "WAIVED (OPS-7, expires 2026-12-31): alerts.static broke"
    assert skipped["determinism.restart_replay"].get("message").startswith("WAIVED (PAY-123, expires 2026-12-31): 1 of 1 workflows")
    assert not any(case.find("failure") is not None for case in root.iter("testcase"))
    assert (root.get("failures"), root.find("testsuite").get("skipped")) == ("0", "2")
    out = next(case for case in root.iter("testcase") if case.get("name") == "alerts.static").find("system-out").text
    assert out.startswith("FAIL, waived: alerts.static broke") and "Waiver OPS-7 (payments-team" in out


def test_the_terminal_lists_waived_failures_and_unused_waivers():
    card = waived_card(today=date(2027, 1, 1))
    with console.capture() as captured:
        print_waivers(card)
    text = captured.get()
    assert "Waived failures:" in text and "alerts.static · whole check · OPS-7 (payments-team), EXPIRED on 2026-12-31: accepted" in text
    assert "Unused waivers" in text and "retry.outage · whole check · OLD-1: retry.outage did not fail (PASS)" in text
    assert waiver_note(card.checks[1]) == "WAIVER EXPIRED (OPS-7 expired on 2026-12-31)"


def test_dates_relative_to_today_expire_as_documented():
    today = date.today()
    fresh, stale = waiver(expires=today + timedelta(days=365)), waiver(expires=today - timedelta(days=1))
    assert decide(apply_waivers([failed()], [fresh], today), [DONE])[0] == Verdict.GO_WITH_WAIVERS
    assert decide(apply_waivers([failed()], [stale], today), [DONE])[0] == Verdict.NO_GO
