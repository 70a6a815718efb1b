"""The load and fault scenario kinds: validation, relative rates, and references checked against the config."""

from __future__ import annotations

import pytest

from harness.config.scenarios import ActivityFaultSpec, NetworkFaultSpec, resolve_rate
from harness.errors import ConfigError
from harness.faults.control import activity_fault_of, toxic_of
from harness.planning import load_plan, load_scenario
from harness.scenarios.schedule_to_start import stages_of
from tests.conftest import write

CONFIG = """
app: {name: shop, path: .}
task_queue: q
dependencies:
  - {name: payments, upstream: "127.0.0.1:9", env_var: PAY_URL}
workers:
  - name: w
    python: {workflows: ["shop.wf:Flow"]}
workload: {workflow: Flow}
%s
scenarios: [s]
scenarios_dir: scenarios
"""


def plan_with(tmp_path, scenario: str, extra: str = "load: {expected_rate: 2, peak_rate: 4}"):
    write(tmp_path / "scenarios" / "s.yaml", "name: s\n" + scenario)
    return load_plan(write(tmp_path / "readiness.yaml", CONFIG % extra))


def test_relative_rates_resolve_against_the_config():
    assert resolve_rate("2x peak", 2, 4) == 8 and resolve_rate("expected", 2, 4) == 2 and resolve_rate(3, None, None) == 3
    with pytest.raises(ValueError, match="load.peak_rate"):
        resolve_rate("peak", None, None)


def test_outage_scenario_with_network_or_activity_fault(tmp_path):
    network = plan_with(tmp_path, "kind: retry_outage\nfault: {dependency: payments, kind: latency, latency: 300ms, toxicity: 0.5}\n")
    fault = network.scenarios[0].fault
    assert isinstance(fault, NetworkFaultSpec) and toxic_of(fault).latency_ms == 300 and toxic_of(fault).toxicity == 0.5
    activity = plan_with(tmp_path, "kind: retry_outage\nfault: {activity: charge, first_attempts: 2}\n").scenarios[0].fault
    assert isinstance(activity, ActivityFaultSpec) and activity_fault_of(activity).first_attempts == 2


@pytest.mark.parametrize(
    ("scenario", "extra", "key_path", "fragment"),
    [
        ("kind: retry_outage\nfault: {dependency: ledger, kind: down}\n", "load: {expected_rate: 1, peak_rate: 2}",
         "fault.dependency", "no dependency named 'ledger'"),
        ("kind: retry_outage\nfault: {dependency: payments, kind: down}\n", "", "rate", "load.expected_rate"),
        ("kind: schedule_to_start\n", "", "load_factor", "load.peak_rate"),
        ("kind: schedule_to_start\nstages: [{duration: 5s, rate: 2x peak}]\n", "", "stages[0].rate", "load.peak_rate"),
        ("kind: non_retryable\nactivity: charge\n", "", "error_types", "no business error types"),
    ],
)
def test_references_the_config_cannot_satisfy_are_config_errors(tmp_path, scenario, extra, key_path, fragment):
    with pytest.raises(ConfigError) as caught:
        plan_with(tmp_path, scenario, extra)
    assert caught.value.key_path == key_path and fragment in caught.value.detail and caught.value.file.endswith("s.yaml")


@pytest.mark.parametrize(
    ("text", "key_path"),
    [
        ("kind: retry_outage\nfault: {dependency: payments, kind: flood}\n", "fault.kind"),
        ("kind: retry_outage\nfault: {dependency: payments, kind: down, toxicity: 2}\n", "fault.toxicity"),
        ("kind: retry_outage\nfault: {activity: charge, bogus: 1}\n", "fault.bogus"),
        ("kind: schedule_to_start\nstages: [{duration: 5s, rate: 2, users: 3}]\n", "stages[0]"),
        ("kind: schedule_to_start\nstages: [{duration: 5s, rate: twice peak}]\n", "stages[0].rate"),
        ("kind: schedule_to_start\nthresholds: {activity_task_p99: soon}\n", "thresholds.activity_task_p99"),
    ],
)
def test_bad_scenario_values_name_the_key(tmp_path, text, key_path):
    with pytest.raises(ConfigError) as caught:
        load_scenario(write(tmp_path / "s.yaml", "name: s\n" + text))
    assert caught.value.key_path.startswith(key_path)


def test_dependency_needs_exactly_one_source(tmp_path):
    text = (CONFIG % "").replace('upstream: "127.0.0.1:9"', 'upstream: "127.0.0.1:9", command: [x]')
    with pytest.raises(ConfigError, match="exactly one of `command` or `upstream`"):
        load_plan(write(tmp_path / "readiness.yaml", text))


def test_peak_below_expected_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="peak_rate must be at least expected_rate"):
        plan_with(tmp_path, "kind: non_retryable\nactivity: c\nerror_types: [E]\n", "load: {expected_rate: 5, peak_rate: 1}")


def test_schedule_to_start_stages_default_to_peak_then_factor_times_peak(tmp_path):
    scenario = plan_with(tmp_path, "kind: schedule_to_start\nramp: 4s\nhold: 10s\nload_factor: 2.5\n").scenarios[0]
    assert [(s.duration_s, s.rate) for s in stages_of(scenario, 2, 4)] == [(4, 4), (10, 10)]
    explicit = plan_with(tmp_path, "kind: schedule_to_start\nstages: [{duration: 3s, users: 5}, {duration: 2s, rate: expected}]\n")
    assert [(s.duration_s, s.rate, s.users) for s in stages_of(explicit.scenarios[0], 2, 4)] == [(3, None, 5), (2, 2, None)]
