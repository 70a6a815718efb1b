"""retry.outage and retry.non_retryable on hand-built observations (retry.policy: test_policy_audit.py)."""

from __future__ import annotations

import dataclasses

import pytest

from harness.checks.retry import non_retryable, retry_outage
from harness.config.models import RetryRules
from harness.config.scenarios import OutageThresholds
from harness.observe.model import AttemptScrape, NonRetryableCase, NonRetryableObservations, WorkflowRecord
from harness.scenarios.retry_outage import RetryOutageScenario
from harness.scorecard.model import Status
from tests.unit.load_observations import DEFAULT, FAULT_END, FAULT_START, GOOD, LOAD_END, LOAD_START, outage, simulated

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


def counted(per_second) -> tuple[AttemptScrape, ...]:
    """The worker's charge_payment attempt counter scraped every second through the load, `per_second(t)` a second."""
    scrapes, total = [], 0.0
    for second in range(int(LOAD_START) - 1, int(LOAD_END) + 1):
        scrapes.append(AttemptScrape(float(second), "w-0", ((("charge_payment", False), total),)))
        total += per_second(second)
    return tuple(scrapes)


def test_the_workers_counters_decide_the_storm_when_they_saw_attempts_history_cannot_show():
    # history's reconstruction of the good policy is calm, but the workers executed 20 attempts a second in the
    # outage (the activity's own HTTP client retrying, say): the counters are where the attempts happened
    storm = counted(lambda t: 20 if FAULT_START <= t < FAULT_END else 2)
    result = retry_outage(outage(GOOD, attempt_scrapes=storm), RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None)
    ev = result.evidence
    assert result.status == Status.FAIL and ev["storm_factor"] == pytest.approx(10, rel=0.1)
    assert ev["storm_factor_from_history"] <= 3.5 and "counted every second where they ran" in ev["attempt_times"]
    assert ev["attempts_counted_by_workers"] > ev["attempts_in_history"] and result.subjects == ["activity_type:charge_payment"]
    calm = counted(lambda t: 2)  # and the other way: a reconstruction that storms does not outvote the counts
    result = retry_outage(outage(DEFAULT, attempt_scrapes=calm), RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None)
    assert result.evidence["storm_factor"] == pytest.approx(1, rel=0.1) and result.evidence["storm_factor_from_history"] > 4


def test_without_counters_the_storm_comes_from_history_and_the_evidence_says_so():
    result = retry_outage(outage(DEFAULT), RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None)
    assert "reconstructed from each activity's last attempt" in result.evidence["attempt_times"]
    assert "no worker counted" in result.evidence["attempt_times"] and result.evidence["attempts_counted_by_workers"] is None


def test_a_reset_fault_counts_the_calls_that_reached_the_dependency_per_attempt():
    obs = outage(GOOD, attempt_scrapes=counted(lambda t: 2))  # 40 attempts in the 20 s fault
    reset = dataclasses.replace(obs.fault, kind="network:reset_peer", evidence={"connections_during_fault": 120})
    ev = retry_outage(dataclasses.replace(obs, fault=reset), RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None).evidence
    assert ev["calls_at_the_dependency_during_fault"] == 120 and ev["calls_per_attempt_during_fault"] == pytest.approx(3, rel=0.05)
    result = retry_outage(dataclasses.replace(obs, fault=reset), RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None)
    assert result.status == Status.FAIL and "3.0 calls reached the dependency per attempt (limit 2)" in result.summary
    assert "no retry loop" in result.remediation
    once = dataclasses.replace(reset, evidence={"connections_during_fault": 40})
    assert retry_outage(dataclasses.replace(obs, fault=once), RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None).status == Status.PASS
    down = retry_outage(obs, RetryOutageScenario.model_construct(thresholds=OutageThresholds()), None).evidence
    assert "calls_per_attempt_during_fault" not in down  # refused connections never reach the proxy: nothing to count


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
