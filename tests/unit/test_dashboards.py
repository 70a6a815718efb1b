"""Static checks of dashboards/ and docker-compose.yml: the pieces refer to each other correctly (ports, paths,
datasource uid), the alert rules are valid and their two namings agree, every runbook exists, and every metric the
rules and the Grafana dashboard query is one the Python SDK really exports (tests/fixtures/metrics are real scrapes).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import promql_parser
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
PROMETHEUS_CONFIG = REPO / "dashboards/prometheus/prometheus.yml"
DEFAULT_RULES = REPO / "dashboards/prometheus/rules/temporal-worker-alerts.yml"
SECONDS_RULES = REPO / "dashboards/prometheus/rules/temporal-worker-alerts.seconds.yml"
RUNBOOKS = REPO / "dashboards/runbooks"
DASHBOARD = REPO / "dashboards/grafana/dashboards/temporal-workers.json"
DATASOURCES = REPO / "dashboards/grafana/provisioning/datasources/prometheus.yml"
DASHBOARD_PROVIDERS = REPO / "dashboards/grafana/provisioning/dashboards/temporal.yml"
DEFAULT_SCRAPE = REPO / "tests/fixtures/metrics/python-sdk-default.prom"
SECONDS_SCRAPE = REPO / "tests/fixtures/metrics/python-sdk-seconds-total.prom"

# Metrics a healthy worker's scrape does not contain: Prometheus's own `up`, and counters the SDK creates only on
# the first failure of their kind.
NOT_IN_SDK_SCRAPE = {"up"}
FAILURE_ONLY_COUNTERS = {"temporal_workflow_task_execution_failed", "temporal_request_failure", "temporal_long_request_failure"}

# Grafana substitutes these before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$namespace": ".*", "$task_queue": ".*"}

HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")

needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian/Ubuntu: apt install prometheus)")


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def compose_services() -> dict:
    return load_yaml(COMPOSE_FILE)["services"]


def alerts_by_name(path: Path) -> dict[str, dict]:
    rules = [rule for group in load_yaml(path)["groups"] for rule in group["rules"]]
    return {rule["alert"]: rule for rule in rules}


def metric_names(expr: str) -> set[str]:
    names: set[str] = set()

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def base_name(metric: str) -> str:
    for suffix in HISTOGRAM_SUFFIXES:
        if metric.endswith(suffix):
            return metric.removesuffix(suffix)
    return metric


def exported_metric_types(scrape: Path) -> dict[str, str]:
    """`# TYPE name kind` lines of a Prometheus exposition file: base metric name -> counter | gauge | histogram."""
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", scrape.read_text(), flags=re.MULTILINE))


def grafana_to_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr!r}"
    return expr


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def all_panels(panels: list[dict]) -> list[dict]:
    """Panels including those nested in collapsed rows."""
    return [nested for panel in panels for nested in [panel, *all_panels(panel.get("panels", []))]]


def panel_queries() -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in all_panels(dashboard()["panels"]) for target in panel.get("targets", [])]


def rule_metric_names(path: Path) -> set[str]:
    return {name for rule in alerts_by_name(path).values() for name in metric_names(rule["expr"])}


def mounts(service: dict) -> dict[str, str]:
    """Short-syntax volumes `source:target[:mode]` -> {target: source}."""
    return {entry.split(":")[1]: entry.split(":")[0] for entry in service.get("volumes", [])}


def container_ports(service: dict) -> set[int]:
    return {int(str(mapping).split(":")[-1].split("/")[0]) for mapping in service.get("ports", [])}


def host_port(mapping: str) -> str:
    """`[ip:]host:container[/proto]` -> `[ip:]host/proto`, the part that must be unique on the host."""
    parts = str(mapping).split("/")[0].split(":")
    proto = str(mapping).split("/")[1] if "/" in str(mapping) else "tcp"
    return ":".join(parts[:-1]) + "/" + proto


def scrape_targets(job_name: str) -> list[str]:
    job = next(job for job in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"] if job["job_name"] == job_name)
    return [target for config in job["static_configs"] for target in config["targets"]]


def provisioned_datasource() -> dict:
    (datasource,) = load_yaml(DATASOURCES)["datasources"]
    return datasource


# --- docker-compose.yml ---------------------------------------------------------------------------------------------


def test_compose_bind_mount_sources_exist_in_the_repo():
    sources = [source for service in compose_services().values() for source in mounts(service).values() if source.startswith(".")]
    assert sources, "expected bind mounts of ./dashboards"
    missing = [source for source in sources if not (REPO / source).exists()]
    assert not missing, f"bind-mount sources missing from the repo: {missing}"


def test_compose_named_volumes_are_declared():
    declared = set(load_yaml(COMPOSE_FILE).get("volumes") or {})
    named = {source for service in compose_services().values() for source in mounts(service).values() if not source.startswith((".", "/"))}
    assert named <= declared, f"named volumes not declared under top-level `volumes`: {named - declared}"


def test_compose_host_ports_are_unique():
    published = [host_port(mapping) for service in compose_services().values() for mapping in service.get("ports", [])]
    duplicates = {port for port in published if published.count(port) > 1}
    assert not duplicates, f"host ports published twice: {duplicates}"


def test_compose_depends_on_names_defined_services():
    services = compose_services()
    unknown = {(name, dependency) for name, service in services.items() for dependency in service.get("depends_on", []) if dependency not in services}
    assert not unknown, f"depends_on names undefined services: {unknown}"


def test_compose_images_have_pinned_tags():
    for name, service in compose_services().items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: image {image!r} is not pinned"


def test_prometheus_scrapes_the_temporal_service_on_its_metrics_port():
    services = compose_services()
    (target,) = scrape_targets("temporal-server")
    host, port = target.rsplit(":", 1)
    assert host in services, f"temporal-server target {target!r} is not a compose service"
    temporal = services[host]
    listen_port = temporal["environment"]["PROMETHEUS_ENDPOINT"].rsplit(":", 1)[1]
    assert port == listen_port, f"prometheus scrapes {target}, the server listens on {listen_port}"
    assert port in {str(exposed) for exposed in temporal.get("expose", [])}, f"{host} does not expose {port}"


def test_prometheus_container_reads_the_config_from_the_mounted_directory():
    prometheus = compose_services()["prometheus"]
    config_flag = next(arg for arg in prometheus["command"] if arg.startswith("--config.file="))
    config_path = Path(config_flag.split("=", 1)[1])
    source = mounts(prometheus)[str(config_path.parent)]
    assert (REPO / source / config_path.name).resolve() == PROMETHEUS_CONFIG


def test_grafana_datasource_url_is_the_prometheus_service_and_container_port():
    url = urlsplit(provisioned_datasource()["url"])
    services = compose_services()
    assert url.hostname in services, f"datasource host {url.hostname!r} is not a compose service"
    assert url.port in container_ports(services[url.hostname]), f"{url.hostname} does not listen on {url.port}"
    assert url.hostname == "prometheus"


def test_grafana_dashboard_provider_reads_where_compose_mounts_the_dashboards():
    (provider,) = load_yaml(DASHBOARD_PROVIDERS)["providers"]
    grafana_mounts = mounts(compose_services()["grafana"])
    assert grafana_mounts.get(provider["options"]["path"]) == "./dashboards/grafana/dashboards"
    provisioning_target = next(target for target, source in grafana_mounts.items() if source == "./dashboards/grafana/provisioning")
    assert provisioning_target == "/etc/grafana/provisioning"


def test_every_dashboard_query_uses_the_provisioned_datasource():
    uid = provisioned_datasource()["uid"]
    board = dashboard()
    queried = [panel for panel in all_panels(board["panels"]) if panel.get("targets")]
    assert queried, "the dashboard has no queries"
    used = [panel["datasource"]["uid"] for panel in queried]
    used += [target["datasource"]["uid"] for panel in queried for target in panel["targets"]]
    used += [variable["datasource"]["uid"] for variable in board["templating"]["list"] if variable["type"] == "query"]
    assert set(used) == {uid}


# --- promtool ---------------------------------------------------------------------------------------------------------


def run_promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], cwd=REPO, capture_output=True, text=True, timeout=60)


@needs_promtool
def test_promtool_accepts_the_prometheus_config():
    result = run_promtool("check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
@pytest.mark.parametrize("rules", [DEFAULT_RULES, SECONDS_RULES], ids=lambda path: path.name)
def test_promtool_accepts_the_rules(rules: Path):
    result = run_promtool("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr


# --- the two namings of the alert rules --------------------------------------------------------------------------------


def test_both_rule_files_define_the_same_alerts():
    default, seconds = alerts_by_name(DEFAULT_RULES), alerts_by_name(SECONDS_RULES)
    assert list(default) == list(seconds)
    for name in default:
        for key in ("for", "labels", "annotations"):
            assert default[name].get(key) == seconds[name].get(key), f"{name}: {key} differs"


def test_seconds_rules_add_total_to_every_counter_and_keep_other_names():
    counters = {name for name, kind in exported_metric_types(DEFAULT_SCRAPE).items() if kind == "counter"} | FAILURE_ONLY_COUNTERS
    default_names = rule_metric_names(DEFAULT_RULES)
    assert not {name for name in default_names if name.endswith("_total")}, "the default naming has no `_total` counters"
    assert default_names & counters, "expected counters in the default rules"
    expected = {name + "_total" if name in counters else name for name in default_names}
    assert rule_metric_names(SECONDS_RULES) == expected


def latency_thresholds(path: Path) -> dict[str, float]:
    """Alert name -> N of `histogram_quantile(...) > N`."""
    thresholds = {}
    for name, rule in alerts_by_name(path).items():
        expr = promql_parser.parse(rule["expr"])
        if isinstance(expr, promql_parser.BinaryExpr) and str(expr.op) == ">" and isinstance(expr.lhs, promql_parser.Call):
            if expr.lhs.func.name == "histogram_quantile":
                thresholds[name] = expr.rhs.val
    return thresholds


def test_seconds_latency_thresholds_are_the_millisecond_ones_over_1000():
    default, seconds = latency_thresholds(DEFAULT_RULES), latency_thresholds(SECONDS_RULES)
    assert len(default) >= 3, "expected the schedule-to-start and workflow-task latency alerts"
    assert set(seconds) == set(default)
    for name, threshold in default.items():
        assert seconds[name] == pytest.approx(threshold / 1000), name


@pytest.mark.parametrize(
    ("rules", "scrape", "failure_only"),
    [(DEFAULT_RULES, DEFAULT_SCRAPE, FAILURE_ONLY_COUNTERS), (SECONDS_RULES, SECONDS_SCRAPE, {name + "_total" for name in FAILURE_ONLY_COUNTERS})],
    ids=["default", "seconds"],
)
def test_rules_query_metrics_the_sdk_exports(rules: Path, scrape: Path, failure_only: set[str]):
    unknown = {base_name(name) for name in rule_metric_names(rules)} - set(exported_metric_types(scrape)) - NOT_IN_SDK_SCRAPE - failure_only
    assert not unknown, f"{rules.name} queries metrics {scrape.name} does not have: {unknown}"


def test_every_runbook_url_is_a_markdown_file_with_a_title():
    urls = {rule["annotations"]["runbook_url"] for path in (DEFAULT_RULES, SECONDS_RULES) for rule in alerts_by_name(path).values()}
    for url in sorted(urls):
        runbook = REPO / url
        assert runbook.suffix == ".md" and runbook.is_file(), f"runbook {url} does not exist"
        text = runbook.read_text()
        assert text.startswith("# ") and len(text.splitlines()) > 5, f"runbook {url} is not a titled Markdown page"
    orphans = {path.relative_to(REPO).as_posix() for path in RUNBOOKS.glob("*.md")} - urls
    assert not orphans, f"runbooks no alert links to: {orphans}"


# --- the Grafana dashboard ---------------------------------------------------------------------------------------------


def test_dashboard_identity_and_unique_panel_ids():
    board = dashboard()
    assert (board["uid"], board["schemaVersion"]) == ("temporal-workers", 39)
    ids = [panel["id"] for panel in all_panels(board["panels"])]
    assert len(ids) == len(set(ids))


def test_dashboard_queries_are_promql_on_metrics_the_sdk_exports():
    exported = set(exported_metric_types(DEFAULT_SCRAPE)) | NOT_IN_SDK_SCRAPE | FAILURE_ONLY_COUNTERS
    queries = panel_queries()
    assert queries
    for title, expr in queries:
        names = metric_names(grafana_to_promql(expr))
        unknown = {base_name(name) for name in names} - exported
        assert not unknown, f"panel {title!r} queries metrics the SDK does not export: {unknown}"
        assert not any(name.endswith("_total") for name in names), f"panel {title!r} is not in the default naming"


def test_dashboard_variables_query_metrics_the_sdk_exports():
    exported = set(exported_metric_types(DEFAULT_SCRAPE))
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            metric = re.fullmatch(r"label_values\((\w+)(\{[^}]*\})?, *\w+\)", variable["query"]["query"])
            assert metric and metric.group(1) in exported, f"variable {variable['name']}: {variable['query']['query']!r}"


def test_dashboard_shows_every_metric_the_alerts_use():
    shown = {base_name(name) for _, expr in panel_queries() for name in metric_names(grafana_to_promql(expr))}
    alerted = {base_name(name) for name in rule_metric_names(DEFAULT_RULES)}
    assert alerted <= shown, f"alerted on but not on the dashboard: {alerted - shown}"
