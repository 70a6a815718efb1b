"""The pure diff of two scorecards: checks, key figures, and effective definitions as sentences."""

from __future__ import annotations

import json

from harness.history.definitions_diff import compare_definitions, duration
from harness.history.diff import diff_scorecards, key_figures, since_last_go
from harness.history.render import to_json, to_markdown
from harness.scorecard.definitions import (
    ActivityTypeDefinition,
    ActivityVariant,
    Definitions,
    RetryPolicyDefinition,
    WorkflowTypeDefinition,
)
from harness.scorecard.model import CheckResult, RunInfo, Scorecard, Status, TargetInfo, Verdict
from harness.scorecard.render import to_markdown as scorecard_markdown

GOOD_POLICY = RetryPolicyDefinition(
    initial_interval_s=2, backoff_coefficient=3, maximum_interval_s=60, maximum_attempts=8,
    non_retryable_error_types=("InvalidOrder", "PaymentDeclined"),
)
DEFAULT_POLICY = RetryPolicyDefinition(
    initial_interval_s=1, backoff_coefficient=2, maximum_interval_s=100, maximum_attempts=0, non_retryable_error_types=(),
)


def variant(policy=GOOD_POLICY, workflow_types=("OrderWorkflow",), scheduled=10, **timeouts) -> ActivityVariant:
    values = dict(task_queue="orders", start_to_close_s=10, schedule_to_close_s=300, schedule_to_start_s=300, heartbeat_s=0)
    values.update(timeouts)
    return ActivityVariant(retry_policy=policy, scheduled=scheduled, workflow_types=workflow_types, **values)


def workflow(name="OrderWorkflow", signals=("cancel",), queries=("status",), queries_known=True, **others) -> WorkflowTypeDefinition:
    values = dict(
        runs=10, task_queues=("orders",), activity_types=("charge_payment",), child_workflow_types=(), updates=(),
        execution_timeouts_s=(600,), run_timeouts_s=(600,), sdks=("temporal-python 1.35.0",),
    )
    values.update(others)
    return WorkflowTypeDefinition(workflow_type=name, signals=signals, queries=queries, queries_known=queries_known, **values)


def defs(workflows=None, activities=None, sdks=("temporal-python 1.35.0",)) -> Definitions:
    return Definitions(
        histories=10,
        workflow_types=tuple(workflows if workflows is not None else [workflow()]),
        activity_types=tuple(activities if activities is not None else [ActivityTypeDefinition(activity_type="charge_payment", variants=(variant(),))]),
        sdks=sdks,
    )


def check(check_id: str, status: Status, scenario: str = "retry-outage", **evidence) -> CheckResult:
    return CheckResult(id=check_id, scenario=scenario, failure_mode="x", status=status, summary="s", evidence=evidence)


def card(run_id: str, verdict: Verdict, checks, definitions=None, app="sample-orders") -> Scorecard:
    run = RunInfo(
        id=run_id, started_at=f"2026-01-0{len(run_id)}T00:00:00+00:00", finished_at="2026-01-01T00:01:00+00:00", duration_s=60,
        config_file="readiness.yaml", app_name=app, app_git_commit="abc123", harness_version="0.1.0", sdk_version="1.35.0",
        python_version="3.11", target=TargetInfo(kind="embedded", address="127.0.0.1:7233", namespace="default"),
    )
    return Scorecard(verdict=verdict, exit_code=0 if verdict == Verdict.GO else 1, verdict_reason="r", run=run, scenarios=[],
                     checks=list(checks), definitions=definitions)


def sentences(old: Definitions, new: Definitions) -> list[str]:
    return [c.sentence for c in compare_definitions(old, new)]


def test_status_changes_are_sorted_into_regressed_improved_and_changed():
    before = card("a1", Verdict.NO_GO, [
        check("retry.outage", Status.PASS, storm_factor=3.1, activities_hit=41, confirmed=True, label="x"),
        check("retry.policy", Status.FAIL), check("alerts.fire", Status.FAIL, "(all faults)"), check("gone", Status.PASS),
        check("latency.schedule_to_start", Status.WARN),
    ])
    after = card("b22", Verdict.NO_GO, [
        check("retry.outage", Status.FAIL, storm_factor=7.5, activities_hit=41, confirmed=False, label="y"),
        check("retry.policy", Status.PASS), check("alerts.fire", Status.ERROR, "(all faults)"), check("new.one", Status.PASS),
        check("latency.schedule_to_start", Status.NO_DATA),
    ])
    diff = diff_scorecards(before, after)
    assert [(c.check, c.old, c.new) for c in diff.regressed] == [("retry.outage", "PASS", "FAIL"), ("latency.schedule_to_start", "WARN", "NO_DATA")]
    assert [(c.check, c.old, c.new) for c in diff.improved] == [("retry.policy", "FAIL", "PASS")]
    assert [(c.check, c.old, c.new) for c in diff.changed] == [("alerts.fire", "FAIL", "ERROR")]
    assert diff.only_in_old == ("gone (retry-outage)",) and diff.only_in_new == ("new.one (retry-outage)",)
    assert [(f.check, f.name, f.old, f.new) for f in diff.figures] == [("retry.outage", "storm_factor", 3.1, 7.5)]
    assert not diff.verdict_changed and not diff.definitions_compared and diff.definitions == ()


def test_key_figures_are_the_numeric_scalars_only():
    result = check("x", Status.PASS, rate=1.5, count=3, ok=True, name="n", rows=[{"a": 1}], nested={"b": 2}, inf=float("inf"))
    assert key_figures(result) == {"rate": 1.5, "count": 3.0}


def test_the_default_retry_variant_reads_as_plain_sentences():
    flawed = defs(
        workflows=[workflow(queries=(), signals=("cancel",))],
        activities=[ActivityTypeDefinition(activity_type="charge_payment", variants=(variant(DEFAULT_POLICY, schedule_to_close_s=0, schedule_to_start_s=0),))],
    )
    assert sentences(defs(), flawed) == [
        "OrderWorkflow: queries removed: status",
        "charge_payment: maximum attempts changed from 8 to unlimited",
        "charge_payment: initial retry interval changed from 2s to 1s",
        "charge_payment: backoff coefficient changed from 3 to 2",
        "charge_payment: maximum retry interval changed from 1m to 1m40s",
        "charge_payment: schedule-to-close timeout changed from 5m to none",
        "charge_payment: schedule-to-start timeout changed from 5m to none",
        "charge_payment: non-retryable error types removed: InvalidOrder, PaymentDeclined",
    ]
    assert sentences(flawed, defs())[-1] == "charge_payment: non-retryable error types added: InvalidOrder, PaymentDeclined"
    assert sentences(defs(), defs()) == []


def test_types_signals_updates_timeouts_and_sdks():
    old = defs(workflows=[workflow(), workflow("ExportWorkflow", signals=(), queries=())])
    new = defs(
        workflows=[
            workflow(signals=("approve",), updates=("amend",), child_workflow_types=("AuditWorkflow",), execution_timeouts_s=(0,)),
            workflow("ApprovalWorkflow", signals=(), queries=()),
        ],
        activities=[
            ActivityTypeDefinition(activity_type="charge_payment", variants=(variant(start_to_close_s=300, heartbeat_s=30),)),
            ActivityTypeDefinition(activity_type="refund_payment", variants=(variant(),)),
        ],
        sdks=("temporal-python 1.36.0",),
    )
    assert sentences(old, new) == [
        "workflow type ExportWorkflow removed",
        "workflow type ApprovalWorkflow added",
        "activity type refund_payment added",
        "OrderWorkflow: child workflow types added: AuditWorkflow",
        "OrderWorkflow: signals removed: cancel",
        "OrderWorkflow: signals added: approve",
        "OrderWorkflow: updates added: amend",
        "OrderWorkflow: execution timeout changed from 10m to none",
        "charge_payment: start-to-close timeout changed from 10s to 5m",
        "charge_payment: heartbeat timeout changed from none to 30s",
        "SDK versions changed from temporal-python 1.35.0 to temporal-python 1.36.0",
    ]
    changes = compare_definitions(old, new)
    assert (changes[0].kind, changes[0].subject, changes[-1].kind) == ("workflow_type", "ExportWorkflow", "sdk")


def test_queries_are_compared_only_when_both_sides_read_the_code():
    unknown = defs(workflows=[workflow(queries=(), queries_known=False)])
    assert sentences(defs(), unknown) == [] and sentences(unknown, defs()) == []


def test_a_change_seen_by_only_some_workflow_types_names_each():
    both = ("OrderWorkflow", "RefundWorkflow")
    old = defs(activities=[ActivityTypeDefinition(activity_type="charge_payment", variants=(variant(workflow_types=both),))])
    refund_policy = DEFAULT_POLICY.model_copy(update={"initial_interval_s": 2})
    new = defs(activities=[ActivityTypeDefinition(activity_type="charge_payment", variants=(
        variant(workflow_types=("OrderWorkflow",), scheduled=20), variant(refund_policy, workflow_types=("RefundWorkflow",)),
    ))])
    assert sentences(old, new)[:2] == [
        "charge_payment (scheduled by RefundWorkflow): maximum attempts changed from 8 to unlimited",
        "charge_payment (scheduled by RefundWorkflow): backoff coefficient changed from 3 to 2",
    ]
    first = compare_definitions(old, new)[0]
    assert (first.subject, first.scheduled_by, first.aspect, first.old, first.new) == ("charge_payment", "RefundWorkflow", "maximum attempts", "8", "unlimited")
    same_everywhere = defs(activities=[ActivityTypeDefinition(activity_type="charge_payment", variants=(variant(DEFAULT_POLICY, workflow_types=both),))])
    assert sentences(old, same_everywhere)[0] == "charge_payment: maximum attempts changed from 8 to unlimited"


def test_durations_read_like_people_write_them():
    assert [duration(s) for s in (0, 0.25, 1, 10, 60, 100, 300, 3600, 5400, 86400, 90061, 1.5)] == [
        "none", "250ms", "1s", "10s", "1m", "1m40s", "5m", "1h", "1h30m", "1d", "1d1h1m1s", "1.5s",
    ]


def test_since_last_go_and_both_markdown_views():
    last_go = card("go1", Verdict.GO, [check("retry.outage", Status.PASS), check("retry.policy", Status.PASS)], defs())
    flawed_defs = defs(activities=[ActivityTypeDefinition(activity_type="charge_payment", variants=(variant(DEFAULT_POLICY),))])
    now = card("bad22", Verdict.NO_GO, [check("retry.outage", Status.FAIL), check("retry.policy", Status.FAIL)], flawed_defs)
    since = since_last_go(last_go, now)
    assert (since.run_id, since.git_commit) == ("go1", "abc123")
    assert [c.check for c in since.regressed] == ["retry.outage", "retry.policy"] and since.improved == []
    assert "charge_payment: maximum attempts changed from 8 to unlimited" in since.definition_changes
    md = scorecard_markdown(now.model_copy(update={"since_last_go": since}))
    assert "## Since the last GO" in md and "| `retry.policy` | retry-outage | PASS | FAIL |" in md
    assert "- charge_payment: maximum attempts changed from 8 to unlimited" in md
    assert "Since the last GO" not in scorecard_markdown(now)
    unchanged = scorecard_markdown(last_go.model_copy(update={"since_last_go": since_last_go(last_go, last_go)}))
    assert "No check changed status and the effective definitions are the same." in unchanged

    diff = diff_scorecards(last_go, now)
    text = to_markdown(diff)
    assert "# Readiness diff: go1 -> bad22" in text and "| verdict | GO | NO-GO |" in text
    assert "## Checks that regressed" in text and "- charge_payment: non-retryable error types removed: InvalidOrder, PaymentDeclined" in text
    data = json.loads(to_json(diff))
    assert data["verdict_changed"] is True and data["regressed"][0] == {"check": "retry.outage", "scenario": "retry-outage", "old": "PASS", "new": "FAIL"}
    assert "Not compared" in to_markdown(diff_scorecards(last_go.model_copy(update={"definitions": None}), now))
