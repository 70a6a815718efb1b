"""Patch retirement advice on hand-built history summaries (the CLI on real histories is tests/e2e/test_patches.py)."""

from __future__ import annotations

from datetime import datetime, timezone

from harness.replay.patches import HistoryMarkers, advise


def day(n: int) -> datetime:
    return datetime(2026, 11, n, tzinfo=timezone.utc)


def history(wid: str, started: int, *, open_: bool, live=(), marker_day: int | None = None, wtype: str = "Order") -> HistoryMarkers:
    return HistoryMarkers(wid, wtype, open_, day(started), frozenset(live), frozenset(),
                          {p: day(marker_day or started) for p in live})


def test_a_workflow_started_before_the_deploy_that_records_the_marker_later_does_not_date_the_patch():
    corpus = [
        history("reached-it-late", 3, open_=False, live=["fraud"], marker_day=6),  # started day 3, on the new code by day 6
        history("old-branch", 5, open_=True),                                     # started day 5: before the patch went out
    ]
    [row] = advise(corpus, {"fraud"}, set())
    assert row.first_marker_at.startswith("2026-11-06") and row.open_started_before == 1 and row.action == "wait"


def test_only_the_types_that_record_a_patch_count_as_started_before_it():
    corpus = [history("o", 5, open_=False, live=["fraud"]), history("export", 1, open_=True, wtype="Export")]
    [row] = advise(corpus, {"fraud"}, set())
    assert row.open_started_before == 0 and row.action == "deprecate"


def test_a_cut_sample_never_declares_a_patch_safe_to_retire():
    corpus = [history("o", 5, open_=False, live=["fraud"])]
    [row] = advise(corpus, {"fraud"}, set(), complete=False)
    assert row.action == "wait" and "the listing hit its limit" in row.advice
    [gone] = advise([history("o", 5, open_=True, live=["tax"])], set(), set(), complete=False)
    assert gone.action == "broken"  # what is already broken stays said
