"""The pure parity comparison: differences between two environment samples, documented or not, and the check."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from harness.cli import main
from harness.config.models import ProfileDifferences
from harness.parity.compare import EnvironmentSample, TaskQueueView, compare, parity_check, parity_scorecard
from harness.scorecard.model import RunInfo, Status, TargetInfo
from tests.conftest import REPO, relocated, write
from tests.unit.test_diff import DEFAULT_POLICY, ActivityTypeDefinition, defs, variant, workflow
from tests.unit.test_history_store import one_error_line


def environment(profile: str, definitions=None, workers=("w-1", "w-2"), listed=10) -> EnvironmentSample:
    return EnvironmentSample(
        profile=profile, address=f"{profile}.example.com:7233", namespace=profile, query="StartTime > '2026-01-01T00:00:00Z'",
        listed=listed, matching=listed, definitions=definitions or defs(),
        task_queues=(TaskQueueView(name="orders", workflow_pollers=tuple(workers), activity_pollers=tuple(workers)),),
    )


def flawed_definitions():
    return defs(activities=[ActivityTypeDefinition(activity_type="charge_payment", variants=(variant(DEFAULT_POLICY),))])


NO_NOTES = {"staging": ProfileDifferences(), "production": ProfileDifferences()}


def test_identical_environments_pass():
    report = compare(environment("staging"), environment("production"), NO_NOTES)
    assert report.differences == ()
    check = parity_check(report)
    assert check.status == Status.PASS and "run the same" in check.summary


def test_an_undocumented_retry_policy_difference_warns():
    report = compare(environment("staging"), environment("production", flawed_definitions()), NO_NOTES)
    sentences = [d.sentence for d in report.differences]
    assert "charge_payment: maximum attempts: 8 in staging, unlimited in production" in sentences
    assert "charge_payment: non-retryable error types only in staging: InvalidOrder, PaymentDeclined" in sentences
    assert all(not d.documented and d.kind == "activity_type" and d.subject == "charge_payment" for d in report.differences)
    check = parity_check(report)
    assert check.status == Status.WARN and check.subjects == ["activity_type:charge_payment"]
    assert check.evidence["undocumented"] == len(sentences) and check.evidence["differences"][0]["documented"] == "NO"
    assert "undocumented difference(s) between staging and production" in check.summary


def test_a_difference_named_by_either_profile_is_documented():
    notes = {"staging": ProfileDifferences(), "production": ProfileDifferences(activity_types={"charge_payment": "legacy retries until PAY-9"})}
    report = compare(environment("staging"), environment("production", flawed_definitions()), notes)
    assert report.differences and all(d.documented for d in report.differences)
    assert report.differences[0].documented_by == "profiles.production.differences.activity_types.charge_payment: legacy retries until PAY-9"
    check = parity_check(report)
    assert check.status == Status.PASS and f"apart from {len(report.differences)} documented" in check.summary


def test_types_sdks_and_worker_counts():
    production = defs(
        workflows=[workflow(), workflow("ReportWorkflow", signals=(), queries=())], sdks=("temporal-python 1.36.0",),
    )
    left, right = environment("staging", workers=("w-1",)), environment("production", production, workers=("w-1", "w-2", "w-3"))
    notes = {"staging": ProfileDifferences(workers={"orders": 1}), "production": ProfileDifferences(sdk_versions="upgraded first")}
    by_kind = {d.kind: d for d in compare(left, right, notes).differences}
    assert by_kind["workflow_type"].sentence == "workflow type ReportWorkflow runs only in production" and not by_kind["workflow_type"].documented
    assert by_kind["sdk"].documented and by_kind["sdk"].documented_by == "profiles.production.differences.sdk_versions: upgraded first"
    assert by_kind["workers"].sentence == "task queue orders: 1 worker(s) polling in staging, 3 in production"
    assert by_kind["workers"].documented and (by_kind["workers"].left, by_kind["workers"].right) == ("1", "3")
    assert parity_check(compare(left, right, NO_NOTES)).subjects == ["workflow_type:ReportWorkflow"]


def test_an_environment_without_workflows_is_no_data_and_inconclusive():
    report = compare(environment("staging"), environment("production", defs(workflows=[], activities=[]), listed=0), NO_NOTES)
    check = parity_check(report)
    assert check.status == Status.NO_DATA and "production" in check.summary and "Widen --since" in check.remediation
    run = RunInfo(
        id="p1", command="parity", profile="staging vs production", started_at="t0", finished_at="t1", duration_s=1,
        config_file="readiness.yaml", app_name="sample-orders", harness_version="0", sdk_version="1", python_version="3.11",
        target=TargetInfo(kind="existing", address="a | b", namespace="staging | production"),
    )
    card = parity_scorecard(report, run=run, duration_s=1, artifacts={})
    assert (card.verdict.value, card.exit_code, card.run.command) == ("INCONCLUSIVE", 3, "parity")
    warned = parity_scorecard(compare(environment("staging"), environment("production", flawed_definitions()), NO_NOTES), run=run, duration_s=1, artifacts={})
    assert (warned.verdict.value, warned.exit_code, warned.checks[0].status) == ("GO", 0, Status.WARN)


def test_parity_bad_input_is_one_line_and_exit_2_before_anything_is_read(tmp_path):
    data = relocated(REPO / "readiness.yaml")
    data["profiles"] = {
        "staging": {"address": "127.0.0.1:7233", "namespace": "staging", "api_key": {"env": "PARITY_UNSET_KEY_VARIABLE"}, "tls": False},
        "production": {"address": "127.0.0.1:7233", "namespace": "production"},
    }
    config = str(write(tmp_path / "readiness.yaml", yaml.safe_dump(data)))
    out = tmp_path / "out"

    def cli(*args):
        return CliRunner().invoke(main, ["parity", *args, "--config", config, "--out", str(out), "--history-db", str(tmp_path / "h.db")])

    one_error_line(cli("production", "nowhere"), "unknown profile 'nowhere'")
    one_error_line(cli("production", "production"), "compare two different profiles")
    one_error_line(cli("production", "local"), "profile 'local' has no address")
    one_error_line(cli("staging", "production"), "PARITY_UNSET_KEY_VARIABLE", "not set")
    one_error_line(cli("staging", "production", "--since", "soon"), "--since")
    assert not out.exists() and not (tmp_path / "h.db").exists()
