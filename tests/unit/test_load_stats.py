"""Reading Locust's CSV output; the headers are the ones Locust 2.47 writes with `--csv --csv-full-history`."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.load.stats import (
    LoadResult,
    RequestStats,
    parse_exceptions,
    parse_request_stats,
    parse_table,
    read_workflow_ids,
)

STATS_HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)
STATS_CSV = f"""{STATS_HEADER}
temporal,start OrderWorkflow,60,13,5,5.001914454164043,0.06705581693531193,9.797536294365738,0.0,30.222407539153938,6.54818830015002,5,6,8,9,9,10,10,10,10,10,10
temporal,signal approve,47,0,3,3.2,1.1,48.5,0.0,23.5,0.0,3,3,4,4,5,7,12,48,48,48,48
,Aggregated,107,13,4,4.3,0.06705581693531193,48.5,0.0,53.722407539153938,6.54818830015002,4,5,6,8,9,10,10,12,48,48,48
"""
EMPTY_STATS_CSV = f"""{STATS_HEADER}
,Aggregated,0,0,0,0.0,0,0,0.0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A
"""
HISTORY_CSV = """Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,\
Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,\
Total Max Response Time,Total Average Content Size
1795285557,0,,Aggregated,0.000000,0.000000,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0,0,0.0,0,0,0
1795285558,3,temporal,start OrderWorkflow,4.500000,0.000000,6,7,9,9,10,10,10,10,10,10,10,30,8,5,4.916711242072295,0.06705581693531193,9.69551159067032,0.0
1795285558,3,,Aggregated,4.500000,0.000000,6,7,9,9,10,10,10,10,10,10,10,30,8,5,4.916711242072295,0.06705581693531193,9.69551159067032,0.0
"""
FAILURES_CSV = """Method,Name,Error,Occurrences,First Seen,Last Seen
temporal,start OrderWorkflow,"RPCError('Workflow execution already started, id ""load-p1-3""')",13,2026-11-21T18:25:57Z,2026-11-21T18:25:59Z
"""
EXCEPTIONS_CSV = '''Count,Message,Traceback,Nodes
2,KeyError('x'),"Traceback (most recent call last):
  File ""locustfile.py"", line 3, in task
KeyError: 'x'
",local
'''


def test_stats_rows_become_request_stats_with_the_aggregated_row_last():
    rows = parse_request_stats(STATS_CSV)
    assert [row.name for row in rows] == ["start OrderWorkflow", "signal approve", "Aggregated"]
    assert rows[0] == RequestStats(
        name="start OrderWorkflow", requests=60, failures=13, rps=pytest.approx(30.2224075), p50_ms=5.0, p95_ms=10.0,
        p99_ms=10.0, max_ms=pytest.approx(9.7975363),
    )
    assert (rows[1].p95_ms, rows[1].p99_ms, rows[1].max_ms) == (7.0, 48.0, 48.5)
    assert rows[2].requests == 107 and rows[2].failures == 13


def test_the_aggregated_row_is_moved_last_whatever_the_file_order():
    header, *body = STATS_CSV.strip().splitlines()
    reordered = "\n".join([header, body[2], body[0], body[1]])
    assert [row.name for row in parse_request_stats(reordered)] == ["start OrderWorkflow", "signal approve", "Aggregated"]


def test_a_run_without_requests_has_zero_times_instead_of_n_a():
    (row,) = parse_request_stats(EMPTY_STATS_CSV)
    assert row == RequestStats("Aggregated", 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_empty_text_gives_no_rows():
    assert parse_request_stats("") == ()
    assert parse_table("") == ()
    assert parse_exceptions("") == []


def test_history_rows_keep_every_column_with_numbers_converted():
    first, second, third = parse_table(HISTORY_CSV)
    assert first["Name"] == "Aggregated" and first["User Count"] == 0 and first["50%"] is None
    assert second["Timestamp"] == 1795285558 and second["Requests/s"] == 4.5 and second["95%"] == 10
    assert second["Type"] == "temporal" and third["Type"] == ""
    assert third["Total Request Count"] == 30


def test_failure_rows_keep_quoted_errors_whole():
    (row,) = parse_table(FAILURES_CSV)
    assert row["Error"] == "RPCError('Workflow execution already started, id \"load-p1-3\"')"
    assert row["Occurrences"] == 13 and row["Name"] == "start OrderWorkflow" and row["Method"] == "temporal"


def test_exceptions_raised_by_the_locustfile_are_listed_with_their_traceback():
    (line,) = parse_exceptions(EXCEPTIONS_CSV)
    assert line.startswith("2x KeyError('x')") and "line 3, in task" in line


def test_workflow_ids_are_read_from_every_process_file(tmp_path: Path):
    (tmp_path / "ids-200.txt").write_text("run-p200-0\nrun-p200-1\n")
    (tmp_path / "ids-100.txt").write_text("run-p100-0\n\n")
    (tmp_path / "other.txt").write_text("not-an-id\n")
    assert read_workflow_ids(tmp_path) == ("run-p100-0", "run-p200-0", "run-p200-1")
    assert read_workflow_ids(tmp_path / "missing") == ()


def test_a_result_finds_its_aggregated_row():
    rows = parse_request_stats(STATS_CSV)
    result = LoadResult(workflow_ids=("a",), requests=rows, duration_s=1.0, locust_workers=0, history=(), failures=())
    assert result.aggregated is rows[-1]
    assert LoadResult((), (), 0.0, 0, (), ()).aggregated is None
