"""retry.outage and retry.non_retryable on hand-built observations (retry.policy: test_policy_audit.py)."""

from __future__ import annotations

import dataclasses

from harness.checks.retry import non_retryable, retry_outage
from harness.config.models import RetryRules
from harness.config.scenarios import OutageThresholds
from harness.observe.model import NonRetryableCase, NonRetryableObservations, WorkflowRecord
from harness.scenarios.retry_outage import RetryOutageScenario
from harness.scorecard.model import Status
from tests.unit.load_observations import DEFAULT, FAULT_END, GOOD, outage, simulated

RULES = RetryRules(business_errors=["PaymentDeclined"])


def test_outage_good_policy_passes_with_measured_figures():
    result = retry_outage(outage(GOOD), RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None)
    ev = result.evidence
    assert result.status == Status.PASS, result.summary
    assert ev["attempts_per_s_before"] == 2.0 and ev["storm_factor"] <= 3.5
    assert ev["retry_amplification"] > 1 and ev["workflows_failed"] == 0 and ev["drain_after_restore_s"] < 30
    assert sum(row["attempts"] for row in ev["attempts_per_second"]) > ev["activities_hit"]


def test_outage_default_policy_storms():
    result = retry_outage(outage(DEFAULT), RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None)
    assert result.status == Status.FAIL
    assert result.evidence["storm_factor"] > 4 and "normal rate (limit 4x)" in result.summary
    assert "backoff_coefficient" in result.remediation


def test_outage_unconfirmed_fault_is_no_data_never_pass():
    result = retry_outage(outage(GOOD, confirmed=False), RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None)
    assert result.status == Status.NO_DATA and "not seen to take effect" in result.summary


def test_outage_that_reached_no_activity_is_no_data():
    untouched = tuple(dataclasses.replace(a, attempts=1, last_started_at=a.scheduled_at) for a in outage(GOOD).activities)
    assert retry_outage(outage(GOOD, activities=untouched), RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None).status == Status.NO_DATA


def test_outage_fails_on_failed_workflows_and_activities_never_completed():
    obs = outage(GOOD)
    stuck = dataclasses.replace(obs.activities[25], closed_at=None, outcome="open")
    failed = WorkflowRecord("wf-25", "run", "OrderWorkflow", "FAILED", 30, ("w",), failure_message="activity failed")
    obs = dataclasses.replace(obs, activities=obs.activities[:25] + (stuck,) + obs.activities[26:], workflows=obs.workflows + (failed,))
    result = retry_outage(obs, RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None)
    assert result.status == Status.FAIL
    assert "1 workflows failed" in result.summary and "never completed" in result.summary
    assert result.evidence["failed_workflows"][0]["workflow_id"] == "wf-25"


def test_outage_drain_threshold():
    result = retry_outage(outage(GOOD), RetryOutageScenario.model_construct(thresholds=OutageThresholds(max_drain=1.0)), None)
    assert result.status == Status.FAIL and "recovery took" in result.summary
    assert result.evidence["drain_after_restore_s"] > 1.0


def test_outage_without_baseline_attempts_is_no_data():
    obs = outage(GOOD)
    late = tuple(a for a in obs.activities if a.scheduled_at >= obs.fault.started_at)
    obs = dataclasses.replace(obs, activities=late)
    assert retry_outage(obs, RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None).status == Status.NO_DATA


def case(attempts: int, outcome: str = "failed") -> NonRetryableCase:
    return NonRetryableCase("PaymentDeclined", f"wf-{attempts}-{outcome}", attempts, outcome, "NON_RETRYABLE_FAILURE", "histories/x.json")


def test_non_retryable_pass_fail_and_no_data():
    passing = non_retryable(NonRetryableObservations("nr", "charge_payment", (case(1), case(1)), injections=2), None, None)
    assert passing.status == Status.PASS and "attempt 1" in passing.summary
    failing = non_retryable(NonRetryableObservations("nr", "charge_payment", (case(1), case(3, "retrying")), injections=4), None, None)
    assert failing.status == Status.FAIL and "PaymentDeclined" in failing.summary and "up to 3 attempts" in failing.summary
    assert "non_retryable_error_types" in failing.remediation
    silent = non_retryable(NonRetryableObservations("nr", "charge_payment", (case(0, "not scheduled"),), injections=0), None, None)
    assert silent.status == Status.NO_DATA


def test_last_attempt_ends_after_the_fault_in_the_simulation():
    # Guards the simulation the tests above rely on.
    record = simulated(0, FAULT_END - 1, DEFAULT)
    assert record.attempts == 2 and record.last_started_at >= FAULT_END
