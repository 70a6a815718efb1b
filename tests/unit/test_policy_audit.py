"""retry.policy on every history and on the code: sightings read from real history events, call sites read from
source (never imported), and the judgement of both, including what only one of them can show."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from harness.audit.call_sites import call_sites
from harness.checks.policies import PolicyEvidence, gather, retry_policy
from harness.config.models import RetryRules
from harness.observe.activities import TEMPORAL_DEFAULT_POLICY, RetryPolicyView, attempt_times, local_activities
from harness.observe.policies import PolicySighting, sightings
from harness.scorecard.model import Status
from tests.conftest import REPO, write

RULES = RetryRules(business_errors=["PaymentDeclined"])
GOOD = RetryPolicyView(2.0, 3.0, 60.0, 8, ("PaymentDeclined",))
DEFAULT = RetryPolicyView(1.0, 2.0, 100.0, 0, ())
RECORDED = REPO / "tests/fixtures/policy_histories/local_activity_and_child.json"
"""Recorded with the Python SDK on the bundled dev server: workflow `Parent` (started with maximum_attempts=2 and a
300 s run timeout) runs local activity `flaky` with no retry policy (it fails twice, succeeds on attempt 3), then
child workflow `Child` with maximum_attempts=3 and a 60 s execution timeout."""


def activity(name: str = "charge_payment", policy: RetryPolicyView = GOOD, bounds=(300.0, 10.0, 0.0), workflow: str = "Order") -> PolicySighting:
    return PolicySighting("activity", name, workflow, policy, bounds, attempt=1)


def started(name: str = "Order", policy: RetryPolicyView | None = None, bounds=(0.0, 0.0, 0.0)) -> PolicySighting:
    return PolicySighting("workflow", name, name, policy, bounds, attempt=1)


def app(tmp_path: Path, workflows: str, activities: str = "") -> Path:
    write(tmp_path / "app/__init__.py", "")
    write(tmp_path / "app/activities.py", textwrap.dedent(activities) or "from temporalio import activity\n")
    write(tmp_path / "app/workflows.py", textwrap.dedent(workflows))
    return tmp_path


ACTIVITIES = """
    from temporalio import activity
    from temporalio.exceptions import ApplicationError

    @activity.defn
    async def charge(amount: int) -> str:
        if amount < 0:
            raise ApplicationError("declined", type="PaymentDeclined", non_retryable=True)
        return "ok"

    @activity.defn(name="send-receipt")
    def send_receipt(amount: int) -> None:
        return None
"""


# --- history -----------------------------------------------------------------------------------------------------


def test_a_recorded_history_shows_the_local_activity_the_child_and_the_workflows_own_policy():
    history = WorkflowHistory.from_json("parent", json.loads(RECORDED.read_text()))
    found = {s.kind: s for s in sightings(history)}
    assert found["workflow"].name == "Parent" and found["workflow"].policy.maximum_attempts == 2 and found["workflow"].bounds == (0.0, 300.0, 0.0)
    assert found["local_activity"].name == "flaky" and found["local_activity"].attempt == 3 and found["local_activity"].policy is None
    assert found["child_workflow"].name == "Child" and found["child_workflow"].policy.maximum_attempts == 3
    assert found["child_workflow"].bounds[0] == 60.0


def test_a_local_activity_marker_becomes_an_activity_record_with_exact_attempts():
    history = WorkflowHistory.from_json("parent", json.loads(RECORDED.read_text()))
    [record] = local_activities(history)
    assert record.local and record.activity_type == "flaky" and record.attempts == 3 and record.outcome == "completed"
    assert record.policy == TEMPORAL_DEFAULT_POLICY and record.scheduled_at <= record.closed_at
    assert len(attempt_times(record)) == 3
    three = RetryPolicyView(2.0, 3.0, 60.0, 3, ())
    assert local_activities(history, {"flaky": three})[0].policy == three


def test_a_local_activity_seen_only_in_history_is_listed_as_not_judged():
    history = WorkflowHistory.from_json("parent", json.loads(RECORDED.read_text()))
    result = retry_policy(PolicyEvidence(tuple(sightings(history)), None, "no code"), RULES)
    [local] = [r for r in result.evidence["policies"] if r["kind"] == "local_activity"]
    assert local["highest_attempt_seen"] == 3 and "not judged" in local["problems"]
    assert result.status == Status.PASS and result.evidence["local_activity_types"] == 1


# --- judging what history shows ---------------------------------------------------------------------------------


def test_bounded_backing_off_policies_pass():
    result = retry_policy(PolicyEvidence((activity(), activity(), started()), None), RULES)
    assert result.status == Status.PASS and result.scenario == "(all histories)"
    row = next(r for r in result.evidence["policies"] if r["kind"] == "activity")
    assert row["name"] == "charge_payment" and row["seen"] == 2 and row["max_attempts"] == 8 and row["source"] == "history"


def test_the_default_policy_without_a_schedule_to_close_fails_naming_the_activity():
    result = retry_policy(PolicyEvidence((activity(policy=DEFAULT, bounds=(0.0, 10.0, 0.0)), started()), None), RULES)
    assert result.status == Status.FAIL and result.subjects == ["activity_type:charge_payment"]
    problems = result.evidence["policies"][0]["problems"]
    assert "unlimited attempts and no schedule-to-close" in problems and "no non-retryable error types" in problems
    assert "activity charge_payment: unlimited attempts" in result.summary and "execute_local_activity" in result.remediation


def test_low_backoff_and_a_long_activity_without_heartbeat_fail():
    flat = RetryPolicyView(1.0, 1.0, 1.0, 5, ("PaymentDeclined",))
    result = retry_policy(PolicyEvidence((activity(policy=flat, bounds=(0.0, 600.0, 0.0)),), None), RULES)
    problems = result.evidence["policies"][0]["problems"]
    assert result.status == Status.FAIL
    assert "backoff coefficient 1 is below 2" in problems and "start-to-close 600s without a heartbeat timeout" in problems


def test_one_type_called_with_two_policies_gets_two_rows():
    result = retry_policy(PolicyEvidence((activity(), activity(policy=DEFAULT, bounds=(0.0, 10.0, 0.0))), None), RULES)
    assert sorted(str(r["max_attempts"]) for r in result.evidence["policies"]) == ["8", "unlimited"]
    assert result.status == Status.FAIL and "1 of 2" in result.summary


def test_a_workflow_or_child_that_retries_forever_fails_and_one_without_a_policy_passes():
    child = PolicySighting("child_workflow", "Fulfil", "Order", DEFAULT, (0.0, 0.0, 0.0))
    result = retry_policy(PolicyEvidence((started(), child), None), RULES)
    assert result.status == Status.FAIL and result.subjects == ["workflow_type:Fulfil"]
    assert "child workflow Fulfil: unlimited attempts and no execution timeout" in result.summary
    own = retry_policy(PolicyEvidence((started("Cron", DEFAULT),), None), RULES)
    assert own.status == Status.FAIL and own.subjects == ["workflow_type:Cron"]
    bounded = retry_policy(PolicyEvidence((started("Cron", DEFAULT, (3600.0, 0.0, 0.0)),), None), RULES)
    assert bounded.status == Status.PASS
    assert retry_policy(PolicyEvidence((started(),), None), RULES).evidence["policies"][0]["problems"].startswith("ok: does not retry")


def test_nothing_seen_or_read_is_no_data():
    assert retry_policy(PolicyEvidence((), ()), RULES).status == Status.NO_DATA


# --- the code ----------------------------------------------------------------------------------------------------


def test_call_sites_resolve_literals_constants_and_definition_names(tmp_path):
    write(tmp_path / "app/policies.py", "from temporalio.common import RetryPolicy\nSHARED = RetryPolicy(maximum_attempts=4, backoff_coefficient=3)\n")
    root = app(tmp_path, """
        from datetime import timedelta
        from temporalio import workflow
        from temporalio.common import RetryPolicy
        from app.policies import SHARED
        with workflow.unsafe.imports_passed_through():
            from app import activities

        @workflow.defn(name="Billing")
        class Child:
            @workflow.run
            async def run(self) -> None:
                return None

        @workflow.defn
        class Invoice:
            @workflow.run
            async def run(self, policy: RetryPolicy) -> None:
                limit = timedelta(minutes=2)
                await workflow.execute_local_activity(activities.charge, 1, start_to_close_timeout=timedelta(seconds=5))
                await workflow.execute_activity(activities.send_receipt, 1, schedule_to_close_timeout=limit, retry_policy=SHARED)
                await workflow.execute_activity("audit", 1, start_to_close_timeout=timedelta(seconds=1, milliseconds=500),
                                                retry_policy=RetryPolicy(maximum_attempts=2, non_retryable_error_types=["B", "A"]))
                await workflow.execute_child_workflow(Child.run, execution_timeout=timedelta(hours=1))
                await workflow.start_local_activity(activities.charge, 2, start_to_close_timeout=limit, retry_policy=policy)
    """, ACTIVITIES)
    sites = call_sites(["app.workflows"], root)
    assert [(s.kind, s.name, s.line) for s in sites] == [
        ("local_activity", "charge", 20), ("activity", "send-receipt", 21), ("activity", "audit", 22),
        ("child_workflow", "Billing", 24), ("local_activity", "charge", 25),
    ]
    local, receipt, audit, child, passed_in = sites
    assert local.policy is None and local.policy_text == "default" and local.bounds == (0.0, 5.0, 0.0) and local.where == "app/workflows.py:20"
    assert "PaymentDeclined" in local.mentions
    assert receipt.policy.maximum_attempts == 4 and receipt.policy.backoff_coefficient == 3 and receipt.bounds[0] == 120.0
    assert audit.policy.non_retryable_error_types == ("A", "B") and audit.bounds[1] == 1.5 and audit.mentions is None
    assert child.policy is None and child.bounds == (3600.0, 0.0, 0.0) and child.workflow == "Invoice"
    assert passed_in.unresolved == ("retry_policy",) and passed_in.bounds[1] == 120.0


def test_a_local_activity_on_the_default_policy_fails_from_the_code_with_file_and_line(tmp_path):
    root = app(tmp_path, """
        from datetime import timedelta
        from temporalio import workflow
        with workflow.unsafe.imports_passed_through():
            from app import activities

        @workflow.defn
        class Invoice:
            @workflow.run
            async def run(self) -> str:
                return await workflow.execute_local_activity(activities.charge, 1, start_to_close_timeout=timedelta(seconds=5))
    """, ACTIVITIES)
    marker = PolicySighting("local_activity", "charge", "Invoice", None, (0.0, 0.0, 0.0), attempt=37)
    result = retry_policy(PolicyEvidence((started("Invoice"), marker), call_sites(["app.workflows"], root)), RULES)
    assert result.status == Status.FAIL and result.subjects == ["activity_type:charge"]
    [row] = [r for r in result.evidence["policies"] if r["kind"] == "local_activity"]
    assert row["source"] == "code" and row["where"] == "app/workflows.py:11" and row["highest_attempt_seen"] == 37
    assert "local activity charge (app/workflows.py:11): unlimited attempts and no schedule-to-close" in result.summary


def test_calls_the_run_never_made_are_judged_from_the_code(tmp_path):
    root = app(tmp_path, """
        from datetime import timedelta
        from temporalio import workflow
        with workflow.unsafe.imports_passed_through():
            from app import activities

        @workflow.defn
        class Invoice:
            @workflow.run
            async def run(self, refund: bool) -> None:
                if refund:
                    await workflow.execute_activity(activities.send_receipt, 1, start_to_close_timeout=timedelta(seconds=5))
    """, ACTIVITIES)
    result = retry_policy(PolicyEvidence((started("Invoice"),), call_sites(["app.workflows"], root)), RULES)
    [row] = [r for r in result.evidence["policies"] if r["kind"] == "activity"]
    assert row["source"] == "code" and row["seen"] == 0 and row["name"] == "send-receipt"
    assert result.status == Status.FAIL and "unlimited attempts" in row["problems"]
    assert "no non-retryable" not in row["problems"]  # its code raises no business error


def test_business_errors_apply_where_the_code_can_raise_them(tmp_path):
    root = app(tmp_path, """
        from datetime import timedelta
        from temporalio import workflow
        from temporalio.common import RetryPolicy
        with workflow.unsafe.imports_passed_through():
            from app import activities

        @workflow.defn
        class Invoice:
            @workflow.run
            async def run(self) -> None:
                policy = RetryPolicy(maximum_attempts=3)
                await workflow.execute_activity(activities.charge, 1, start_to_close_timeout=timedelta(seconds=5), retry_policy=policy)
                await workflow.execute_activity(activities.send_receipt, 1, start_to_close_timeout=timedelta(seconds=5), retry_policy=policy)
    """, ACTIVITIES)
    three = RetryPolicyView(1.0, 2.0, 100.0, 3, ())
    seen = (activity("charge", three, (0.0, 5.0, 0.0)), activity("send-receipt", three, (0.0, 5.0, 0.0)))
    result = retry_policy(PolicyEvidence(seen, call_sites(["app.workflows"], root)), RULES)
    problems = {r["name"]: r["problems"] for r in result.evidence["policies"]}
    assert "no non-retryable error types" in problems["charge"] and problems["send-receipt"] == "ok"
    assert result.evidence["disagreements"] == []


def test_code_and_history_that_disagree_are_named(tmp_path):
    root = app(tmp_path, """
        from datetime import timedelta
        from temporalio import workflow
        from temporalio.common import RetryPolicy
        with workflow.unsafe.imports_passed_through():
            from app import activities

        @workflow.defn
        class Invoice:
            @workflow.run
            async def run(self) -> None:
                await workflow.execute_activity(activities.send_receipt, 1, start_to_close_timeout=timedelta(seconds=5),
                                                retry_policy=RetryPolicy(maximum_attempts=8))
    """, ACTIVITIES)
    seen = (activity("send-receipt", DEFAULT, (300.0, 5.0, 0.0)),)
    result = retry_policy(PolicyEvidence(seen, call_sites(["app.workflows"], root)), RULES)
    [differ] = result.evidence["disagreements"]
    assert differ.startswith("activity send-receipt: app/workflows.py:12 writes max attempts 8") and "history shows max attempts unlimited" in differ
    assert "Code and history disagree" in result.summary


def test_gather_notes_code_it_cannot_read(tmp_path):
    evidence = gather([], ["missing.module"], tmp_path)
    assert evidence.call_sites is None and "could not be read" in evidence.code_note
    assert gather([], [], tmp_path).code_note.startswith("no Python workflow code")


@pytest.mark.parametrize("module", ["sample_workflows.orders", "sample_workflows.exports", "sample_workflows.subscriptions"])
def test_the_sample_apps_explicit_policies_are_read_from_the_code(module):
    assert all(site.policy is not None and not site.unresolved for site in call_sites([module], REPO))
