"""The run history on real SQLite files: recording, listing, lookups, refusal of foreign files, concurrent writers,
and the `history` and `diff` commands on top of it."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.cli.history import record_run
from harness.errors import ConfigError
from harness.history.record import check_usable, last_go_changes
from harness.history.store import HistoryStore, read_scorecard
from harness.scorecard.model import Status, Verdict
from tests.conftest import REPO, locked_by_another_process, write
from tests.unit.test_diff import DEFAULT_POLICY, ActivityTypeDefinition, card, check, defs, variant


def good(run_id: str = "go000001", app: str = "sample-orders"):
    checks = [check("retry.outage", Status.PASS, storm_factor=3.1), check("retry.policy", Status.PASS), check("alerts.fire", Status.WARN, "(all faults)")]
    return card(run_id, Verdict.GO, checks, defs(), app=app)


def flawed(run_id: str = "bad00002"):
    activities = [ActivityTypeDefinition(activity_type="charge_payment", variants=(variant(DEFAULT_POLICY),))]
    checks = [check("retry.outage", Status.FAIL, storm_factor=8.4), check("retry.policy", Status.FAIL), check("alerts.fire", Status.WARN, "(all faults)")]
    return card(run_id, Verdict.NO_GO, checks, defs(activities=activities))


@pytest.fixture
def cli():
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def one_error_line(result, *fragments) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def test_record_list_resolve_and_read_back(tmp_path):
    db = tmp_path / "h" / "history.db"
    with HistoryStore.open(db, create=True) as store:
        store.record(good(), tmp_path / "reports")
        store.record(flawed())
        store.record(good("go000003", app="billing"))
        rows = store.runs()
        assert [(r.id, r.verdict, r.passed, r.failed, r.warned) for r in rows] == [
            ("go000003", "GO", 2, 0, 1), ("bad00002", "NO-GO", 0, 2, 1), ("go000001", "GO", 2, 0, 1),
        ]
        assert rows[2].report_dir == str(tmp_path / "reports") and rows[2].target == "127.0.0.1:7233/default"
        assert [r.id for r in store.runs("sample-orders", limit=1)] == ["bad00002"]
        assert store.figures("bad00002") == {("retry.outage", "retry-outage", "storm_factor"): 8.4}
        assert store.resolve("bad") == "bad00002"
        assert store.scorecard("bad00002") == flawed()
        with pytest.raises(ConfigError, match="ambiguous: it matches go000001, go000003"):
            store.resolve("go")
        with pytest.raises(ConfigError, match="unknown run id 'zz'"):
            store.resolve("zz")
        with pytest.raises(sqlite3.IntegrityError):
            store.record(good())  # a run is recorded once
        assert store.last_go("sample-orders", "local").run.id == "go000001"
        assert store.last_go("sample-orders", "staging") is None and store.last_go("sample-orders", "local", "watch") is None


def test_since_the_last_go_comes_from_the_store(tmp_path):
    db = tmp_path / "history.db"
    assert last_go_changes(db, flawed()) is None and not db.exists()  # no history yet: nothing, and nothing created
    record_run(db, good(), tmp_path)
    record_run(db, flawed(), tmp_path)  # a NO-GO is never the reference
    since = last_go_changes(db, flawed("bad00003"))
    assert since.run_id == "go000001" and [c.check for c in since.regressed] == ["retry.outage", "retry.policy"]
    assert "charge_payment: maximum attempts changed from 8 to unlimited" in since.definition_changes


def test_files_that_are_not_ours_are_refused_untouched(tmp_path):
    text = write(tmp_path / "notes.db", "hello, not a database at all " * 100)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        db.execute("INSERT INTO meta VALUES ('application', 'something else')")
    newer = tmp_path / "newer.db"
    HistoryStore.open(newer, create=True).close()
    with sqlite3.connect(newer) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    before = {p: p.read_bytes() for p in (text, foreign)}
    for path, message in ((text, "cannot use the history database"), (foreign, "not a readiness history database"), (newer, "schema 99 is newer")):
        for create in (True, False):
            with pytest.raises(ConfigError, match=message):
                HistoryStore.open(path, create=create)
    assert {p: p.read_bytes() for p in (text, foreign)} == before
    with pytest.raises(ConfigError, match="no history database there"):
        HistoryStore.open(tmp_path / "missing.db", create=False)


def test_check_usable_before_a_run_creates_nothing(tmp_path):
    check_usable(tmp_path / "new" / "history.db")
    assert not (tmp_path / "new").exists()
    with pytest.raises(ConfigError, match="found a folder"):
        check_usable(tmp_path)
    blocker = write(tmp_path / "blocker", "a file where a folder should be")
    with pytest.raises(ConfigError, match="not a writable folder"):
        check_usable(blocker / "history.db")
    with pytest.raises(ConfigError, match="not a readiness history database"):
        foreign = tmp_path / "foreign.db"
        sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
        check_usable(foreign)


def _record_many(db_path: str, worker: int, runs: int) -> None:
    for number in range(runs):
        with HistoryStore.open(db_path, create=True) as store:
            store.record(good(f"w{worker}r{number:03d}"))


def test_concurrent_writers_all_land_and_the_file_stays_sound(tmp_path):
    db = tmp_path / "history.db"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_record_many, args=(str(db), worker, 15)) for worker in range(6)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
    assert [p.exitcode for p in workers] == [0] * 6
    with HistoryStore.open(db, create=False) as store:
        assert len(store.runs(limit=1000)) == 90
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("SELECT count(*) FROM checks").fetchone() == (270,)


def test_a_failed_recording_is_a_warning(tmp_path, capsys):
    not_ours = write(tmp_path / "history.db", "not a database")
    record_run(not_ours, good(), tmp_path)
    assert "warning: run go000001 was not recorded in the history" in capsys.readouterr().err
    assert not_ours.read_text() == "not a database"


def test_history_command(cli, tmp_path):
    db = tmp_path / "history.db"
    assert "No runs recorded yet" in cli("history", "--history-db", str(db)).stdout
    for scorecard in (good(), flawed(), good("go000003", app="billing")):
        record_run(db, scorecard, tmp_path)
    table = cli("history", "--history-db", str(db))
    assert table.exit_code == 0 and all(run_id in table.stdout for run_id in ("go000001", "bad00002", "go000003"))
    listed = json.loads(cli("history", "--history-db", str(db), "--app", "sample-orders", "--json").stdout)
    assert [(r["id"], r["verdict"], r["failed"]) for r in listed] == [("bad00002", "NO-GO", 2), ("go000001", "GO", 0)]
    one_error_line(cli("history", "--history-db", str(write(tmp_path / "x.db", "junk " * 50))), "x.db", "cannot use the history database")
    assert cli("history", "--history-db", str(db), "--limit", "0").exit_code == 2


def test_diff_command_by_run_id_prefix_and_by_file(cli, tmp_path):
    db = tmp_path / "history.db"
    record_run(db, good(), tmp_path)
    record_run(db, flawed(), tmp_path)
    view = cli("diff", "go0", "bad", "--history-db", str(db))
    assert view.exit_code == 0, view.output
    assert "retry.policy" in view.stdout and "charge_payment: maximum attempts changed from 8 to unlimited" in view.stdout
    write(tmp_path / "old" / "scorecard.json", good().model_dump_json())
    write(tmp_path / "new.json", flawed().model_dump_json())
    data = json.loads(cli("diff", str(tmp_path / "old"), str(tmp_path / "new.json"), "--format", "json", "--history-db", str(db)).stdout)
    assert data["old"]["id"] == "go000001" and [c["check"] for c in data["regressed"]] == ["retry.outage", "retry.policy"]
    written = cli("diff", "go000001", str(tmp_path / "new.json"), "--out", str(tmp_path / "d.md"), "--history-db", str(db))
    assert written.exit_code == 0 and "## Checks that regressed" in (tmp_path / "d.md").read_text()
    assert read_scorecard(tmp_path / "old") == good()


def test_diff_bad_input_is_one_line_and_exit_2(cli, tmp_path):
    db = tmp_path / "history.db"
    one_error_line(cli("diff", "abc", "def", "--history-db", str(db)), "unknown run id 'abc'", "no history database there")
    record_run(db, good(), tmp_path)
    record_run(db, good("go000003"), tmp_path)
    one_error_line(cli("diff", "nope", "go000001", "--history-db", str(db)), "unknown run id 'nope'")
    one_error_line(cli("diff", "go", "go000001", "--history-db", str(db)), "ambiguous")
    one_error_line(cli("diff", str(tmp_path / "missing.json"), "go000001", "--history-db", str(db)), "missing.json", "file not found")
    broken = write(tmp_path / "broken.json", '{"verdict": "GO"}')
    one_error_line(cli("diff", str(broken), "go000001", "--history-db", str(db)), "broken.json", "not a scorecard this harness reads")
    # A scorecard of another major schema version validates field by field, but its fields may mean something else.
    newer = write(tmp_path / "newer.json", good().model_copy(update={"schema_version": "2.0"}).model_dump_json())
    one_error_line(cli("diff", str(newer), "go000001", "--history-db", str(db)), "newer.json", "scorecard schema '2.0'")
    assert not (tmp_path / "out.md").exists()


def test_run_refuses_a_history_db_that_is_not_ours_before_anything_starts(cli, tmp_path):
    bad = write(tmp_path / "history.db", "not a database " * 40)
    result = cli("run", "--config", str(REPO / "readiness.yaml"), "--out", str(tmp_path / "reports"), "--history-db", str(bad))
    one_error_line(result, "history.db", "cannot use the history database")
    assert not (tmp_path / "reports").exists()


@pytest.fixture
def locked_db(tmp_path, monkeypatch):
    """A history database another process holds an exclusive lock on, and a short busy timeout to wait for it."""
    import harness.history.store as store

    db = tmp_path / "history.db"
    record_run(db, good(), tmp_path)
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.3)
    with locked_by_another_process(db, 120):
        yield db


def test_a_locked_history_db_is_exit_3_not_bad_input(cli, tmp_path, locked_db):
    """Another process keeping the file locked is the environment's problem (exit 3, one line), never exit 2."""
    for args in (
        ("run", "--config", str(REPO / "readiness.yaml"), "--out", str(tmp_path / "reports")),
        ("history",),
        ("diff", "go000001", "go000001"),
    ):
        result = cli(*args, "--history-db", str(locked_db))
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.exit_code == 3 and len(lines) == 1 and "Traceback" not in result.output, result.output
        assert "history.db: the history database is locked by another process" in lines[0]
    assert not (tmp_path / "reports").exists()
