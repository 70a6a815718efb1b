"""resilience.server_connection and resilience.server_restart on hand-built observations, and the timeouts read from a
history."""

from __future__ import annotations

from temporalio.client import WorkflowHistory

from harness.checks.server_connection import CHECK_ID, server_connection, timeouts_of
from harness.checks.server_restart import server_restart
from harness.observe.model import (
    BacklogSample,
    FailureCount,
    FaultRecord,
    ReplayOutcome,
    ServerConnectionObservations,
    ServerRestartObservations,
)
from harness.scenarios.server_connection import ServerConnectionScenario, through_proxy
from harness.scorecard.model import Status
from tests.conftest import REPO
from tests.unit.observations import record

SPEC = ServerConnectionScenario.model_validate({"name": "server-connection", "kind": "server_connection"})


def observations(workflows=None, *, confirmed=True, drained_at=125.0, **overrides) -> ServerConnectionObservations:
    ids = [f"wf-{i}" for i in range(4)]
    values = dict(
        scenario="server-connection",
        fault=FaultRecord("network:down", "temporal-frontend", 100.0, 110.0, confirmed, {"probe_refused": confirmed}),
        started_before=tuple(ids[:2]), started_during=tuple(ids[2:]),
        workflows=workflows or tuple(record(w) for w in ids),
        failures=(FailureCount(99.5, 0, 0), FailureCount(100.5, 0, 0), FailureCount(101.5, 0, 6), FailureCount(109.5, 0, 60)),
        backlog=(BacklogSample(99.0, 0, 0), BacklogSample(105.0, 2, 1), BacklogSample(112.0, 0, 0)),
        restored_at=110.0, drained_at=drained_at,
    )
    values.update(overrides)
    return ServerConnectionObservations(**values)


def test_a_partition_every_workflow_survived_passes_with_detection_backlog_and_drain():
    result = server_connection(observations(), SPEC, None)
    assert result.id == CHECK_ID and result.status == Status.PASS, result.summary
    e = result.evidence
    assert e["detected_after_s"] == 1.5 and e["long_poll_failures_during_fault"] == 60
    assert e["peak_backlog_during_fault"] == {"workflow": 2, "activity": 1} and e["drain_s"] == 15.0
    assert "noticed by the workers after 1.5 s" in result.summary


def test_failed_or_unfinished_workflows_fail_naming_them():
    workflows = (record("wf-0", "TIMED_OUT"), record("wf-1", "RUNNING"), record("wf-2"), record("wf-3"))
    result = server_connection(observations(workflows, drained_at=None), SPEC, None)
    assert result.status == Status.FAIL and "wf-0 (TIMED_OUT)" in result.summary and "wf-1 (RUNNING)" in result.summary
    assert result.subjects == ["workflow_type:OrderWorkflow"]


def test_a_slow_drain_fails_and_an_unseen_fault_is_no_data():
    assert server_connection(observations(drained_at=200.0), SPEC, None).status == Status.FAIL
    assert server_connection(observations(confirmed=False), SPEC, None).status == Status.NO_DATA


def test_the_workers_never_noticing_is_said():
    quiet = observations(failures=(FailureCount(99.5, 0, 0), FailureCount(105.0, 0, 0)))
    assert "never showed in the workers' request-failure counters" in server_connection(quiet, SPEC, None).summary


def test_timeouts_are_read_from_history():
    history = WorkflowHistory.from_json("v1", (REPO / "tests/fixtures/histories/order-v1.json").read_text())
    assert timeouts_of([history]) == ()


def restart(**overrides) -> ServerRestartObservations:
    ids = ("wf-0", "wf-1")
    values = dict(scenario="server-restart", started=ids, running_at_kill=ids, lost=(), workflows=tuple(record(w) for w in ids),
                  replays=tuple(ReplayOutcome(w, f"run-{w}", True) for w in ids))
    values.update(overrides)
    return ServerRestartObservations(**values)


def test_a_server_restart_passes_only_when_nothing_was_lost_and_everything_replays():
    assert server_restart(restart(), None, None).status == Status.PASS
    lost = server_restart(restart(lost=("wf-1",), workflows=(record("wf-0"),)), None, None)
    assert lost.status == Status.FAIL and "wf-1 (lost)" in lost.summary
    failed = server_restart(restart(workflows=(record("wf-0"), record("wf-1", "TIMED_OUT"))), None, None)
    assert failed.status == Status.FAIL and failed.subjects == ["workflow_type:OrderWorkflow"]
    broken = server_restart(restart(replays=(ReplayOutcome("wf-0", "r", True), ReplayOutcome("wf-1", "r", False, "NondeterminismError", "x"))), None, None)
    assert broken.status == Status.FAIL and broken.evidence["problems"][0]["problem"] == "does not replay"
    assert server_restart(restart(running_at_kill=()), None, None).status == Status.NO_DATA


def test_a_partition_of_part_of_the_fleet_passes_only_when_the_connected_workers_carried_on():
    healthy = ("orders-worker-0-direct",)
    carried = observations(healthy_workers=healthy, healthy_tasks=(("wf-0", 104.0), ("wf-2", 106.0), ("wf-3", 115.0)))
    result = server_connection(carried, SPEC, None)
    assert result.status == Status.PASS, result.summary
    assert result.evidence["healthy_tasks_during_fault"] == 2 and result.evidence["taken_over"] == 1
    assert "1 workers that stayed connected completed 2 workflow tasks" in result.summary
    idle = server_connection(observations(healthy_workers=healthy, healthy_tasks=(("wf-0", 115.0),)), SPEC, None)
    assert idle.status == Status.FAIL and "completed no workflow task" in idle.summary
    assert "healthy_workers" not in server_connection(observations(), SPEC, None).evidence


def test_tls_workers_behind_the_frontend_proxy_verify_the_real_host_and_plain_ones_are_only_redirected():
    direct = {"TEMPORAL_ADDRESS": "orders.example.tmprl.cloud:7233", "TEMPORAL_NAMESPACE": "orders"}
    assert through_proxy(direct, "127.0.0.1:4100") == {**direct, "TEMPORAL_ADDRESS": "127.0.0.1:4100"}
    for tls in ({"TEMPORAL_TLS": "true"}, {"TEMPORAL_API_KEY": "k"}, {"TEMPORAL_TLS_CLIENT_CERT_PATH": "/c.pem", "TEMPORAL_TLS_CLIENT_KEY_PATH": "/k.pem"}):
        proxied = through_proxy({**direct, **tls}, "127.0.0.1:4100")
        assert proxied["TEMPORAL_ADDRESS"] == "127.0.0.1:4100" and proxied["TEMPORAL_TLS_SERVER_NAME"] == "orders.example.tmprl.cloud"
    assert "TEMPORAL_TLS_SERVER_NAME" not in through_proxy({**direct, "TEMPORAL_API_KEY": "k", "TEMPORAL_TLS": "false"}, "127.0.0.1:1")
    assert "TEMPORAL_TLS_SERVER_NAME" not in through_proxy({**direct, "TEMPORAL_TLS_CLIENT_CERT_PATH": "/c", "TEMPORAL_TLS": "false"}, "127.0.0.1:1")
    ipv6 = through_proxy({"TEMPORAL_ADDRESS": "[2001:db8::7]:7233", "TEMPORAL_TLS": "true"}, "127.0.0.1:1")
    assert ipv6["TEMPORAL_TLS_SERVER_NAME"] == "2001:db8::7"
    named = through_proxy({**direct, "TEMPORAL_TLS": "true", "TEMPORAL_TLS_SERVER_NAME": "internal"}, "127.0.0.1:1")
    assert named["TEMPORAL_TLS_SERVER_NAME"] == "internal"
