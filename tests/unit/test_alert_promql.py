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


@pytest.mark.parametrize("expr, keeps", [
    # `unless`/`and` keep only the left side's labels
    ("sum(rate(c[5m])) < 100 unless on() sum by (workflow_type) (rate(temporal_workflow_failed[5m])) > 1", [False, False]),
    # one-to-one matching ignoring the type drops it from the result
    ("sum by (workflow_type) (rate(temporal_workflow_failed[5m])) / ignoring(workflow_type) sum(rate(c[5m])) > 1", [False, False]),
    ("sum by (workflow_type) (rate(temporal_workflow_failed[5m])) / on(workflow_type) sum by (workflow_type) (rate(c[5m]))", [True, True]),
    # group_left keeps the many side's labels
    ("rate(temporal_workflow_failed[5m]) > ignoring(workflow_type) group_left sum(rate(c[5m]))", [True, False]),
    ("topk by (task_queue) (1, rate(temporal_workflow_failed[5m]))", [True]),
])
def test_labels_through_vector_matching_and_k_selectors(expr, keeps):
    assert [s.keeps("workflow_type") for s in promql.parse(expr).selectors] == keeps


def test_a_regex_python_cannot_compile_is_taken_as_matching():
    assert promql.parse('temporal_workflow_failed{workflow_type=~"\\\\p{Lu}.*"} > 0').selectors[0].matches("workflow_type", "Order")


def test_an_alert_on_a_recorded_series_reads_what_the_recording_rule_reads():
    recorded = {"wt:failed:rate5m": promql.parse("sum by (workflow_type) (rate(temporal_workflow_failed[5m]))")}
    expanded = promql.expand(promql.parse("wt:failed:rate5m > 0.1"), recorded)
    assert expanded.metrics == {"temporal_workflow_failed"} and expanded.longest_range_s == 300
    assert expanded.selectors[0].keeps("workflow_type")
    summed = promql.expand(promql.parse("sum(wt:failed:rate5m) > 0.1"), recorded)
    assert not summed.selectors[0].keeps("workflow_type")
