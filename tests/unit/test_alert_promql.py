"""What the alert lint reads out of PromQL: selectors, surviving labels, ranges and quantile thresholds."""

import pytest

from harness.alerts import catalog, promql
from harness.observe import metrics

FIXTURES = "tests/fixtures/metrics"


def test_grouping_by_type_keeps_it_and_a_total_does_not():
    per_type = promql.parse("sum by (workflow_type) (rate(temporal_workflow_failed[5m])) > 0")
    total = promql.parse("sum(rate(temporal_workflow_failed[5m])) > 0")
    without = promql.parse("sum without (workflow_type) (rate(temporal_workflow_failed[5m])) > 0")
    bare = promql.parse("rate(temporal_workflow_failed[10m]) > 0")
    assert per_type.selectors[0].keeps("workflow_type") and not per_type.selectors[0].keeps("activity_type")
    assert not total.selectors[0].keeps("workflow_type") and not without.selectors[0].keeps("workflow_type")
    assert bare.selectors[0].keeps("workflow_type") and bare.longest_range_s == 600


def test_absent_drops_every_label():
    parsed = promql.parse('absent(temporal_num_pollers{poller_type="workflow_task"})')
    assert parsed.metrics == {"temporal_num_pollers"} and not parsed.selectors[0].keeps("task_queue")


def test_matchers_decide_which_types_a_selector_sees():
    selector = promql.parse('temporal_workflow_failed{workflow_type=~"Order.*|Export", task_queue!="x"} > 0').selectors[0]
    assert selector.matches("workflow_type", "OrderWorkflow") and selector.matches("workflow_type", "Export")
    assert not selector.matches("workflow_type", "ExportWorkflow")  # regexes are anchored, as in Prometheus
    negated = promql.parse('temporal_workflow_failed{workflow_type!="OrderWorkflow"} > 0').selectors[0]
    assert not negated.matches("workflow_type", "OrderWorkflow") and negated.matches("workflow_type", "ApprovalWorkflow")


def test_quantile_thresholds_and_subquery_ranges():
    parsed = promql.parse(
        "histogram_quantile(0.99, sum by (le) (rate(temporal_activity_schedule_to_start_latency_bucket[5m]))) > 0.5"
        " or max_over_time(temporal_num_pollers[30m:1m]) < 1"
    )
    assert parsed.quantile_thresholds == (promql.Threshold("temporal_activity_schedule_to_start_latency_bucket", ">", 0.5),)
    assert parsed.longest_range_s == 1800


def test_invalid_promql_raises_value_error_with_the_parser_message():
    with pytest.raises(ValueError, match="parenthesis"):
        promql.parse("sum(rate(x[5m]) >")


@pytest.mark.parametrize("name, expected", [
    ("temporal_workflow_failed", ("workflow_failed", "")),
    ("temporal_workflow_failed_total", ("workflow_failed", "")),
    ("temporal_local_activity_total", ("local_activity_total", "")),
    ("temporal_activity_schedule_to_start_latency_seconds_bucket", ("activity_schedule_to_start_latency", "_bucket")),
    ("temporal_num_pollers", ("num_pollers", "")),
    ("temporal_made_up_metric", None),
    ("up", None),
])
def test_split_names_whatever_the_naming(name, expected):
    assert catalog.split(name) == expected


def test_naming_is_detected_from_real_scrapes():
    default = metrics.parse(open(f"{FIXTURES}/python-sdk-default.prom").read(), worker="w", phase="p")
    seconds = metrics.parse(open(f"{FIXTURES}/python-sdk-seconds-total.prom").read(), worker="w", phase="p")
    assert catalog.detect(default) == catalog.Naming(total_suffix=False, unit="ms")
    assert catalog.detect(seconds) == catalog.Naming(total_suffix=True, unit="s")
    assert catalog.detect(()) is None
    assert catalog.Naming(True, "s").name("workflow_failed") == "temporal_workflow_failed_total"
    assert catalog.Naming(False, "ms", unit_suffix=True).name("request_latency", "_bucket") == "temporal_request_latency_milliseconds_bucket"
    assert {s.kind for s in default if s.name == "temporal_workflow_failed"} == {"counter"}


def test_categories_come_from_the_metrics_an_alert_reads():
    assert catalog.categories(frozenset({"temporal_workflow_failed_total", "up"})) == {"workflow_failures", "worker_down"}
    assert catalog.categories(frozenset({"temporal_activity_schedule_to_start_latency_bucket"})) == {"activity_schedule_to_start"}
    assert catalog.categories(frozenset({"node_cpu_seconds_total"})) == frozenset()
