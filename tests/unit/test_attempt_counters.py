"""Activity attempts counted by the workers' SDK histograms, scraped every second, turned into attempt times."""

from __future__ import annotations

import pytest

from harness.observe.attempt_counters import attempt_scrape, counted_attempt_times
from harness.observe.model import AttemptScrape, MetricSample


def sample(name: str, value: float, activity_type: str = "charge") -> MetricSample:
    return MetricSample("w-0", "window", name, (("activity_type", activity_type), ("task_queue", "q")), value, "histogram")


def scrape(at: float, worker: str = "w-0", **counts: float) -> AttemptScrape:
    return AttemptScrape(at, worker, tuple(sorted(((t, False), v) for t, v in counts.items())))


def test_every_attempt_histogram_is_read_whatever_its_unit_suffix_and_local_ones_apart():
    scraped = attempt_scrape(5.0, "w-0", (
        sample("temporal_activity_execution_latency_count", 6),
        sample("temporal_activity_execution_latency_sum", 13),  # not a count of attempts
        sample("temporal_local_activity_execution_latency_seconds_count", 8, "reserve"),
        sample("temporal_activity_execution_failed", 4),  # failures only: the latency count already has them
        MetricSample("w-0", "window", "temporal_activity_execution_latency_count", (("task_queue", "q"),), 99),  # no type
    ))
    assert scraped == AttemptScrape(5.0, "w-0", ((("charge", False), 6.0), (("reserve", True), 8.0)))


def test_increases_between_scrapes_become_attempts_spread_over_the_second_they_happened_in():
    scrapes = [scrape(10.0, charge=5), scrape(11.0, charge=5), scrape(12.0, charge=8, refund=2), scrape(13.0, charge=9, refund=2)]
    times = counted_attempt_times(scrapes, ["charge", "ship"])
    assert times == {"charge": [11.25, 11.5, 11.75, 12.5]}  # the 5 before the first scrape are someone else's; refund not asked
    assert "ship" not in times  # never counted: the caller falls back to history for it


def test_a_type_first_seen_mid_load_counts_from_zero_and_a_restarted_worker_from_its_new_value():
    scrapes = [scrape(0.0), scrape(1.0, charge=2), scrape(2.0, charge=7), scrape(3.0, charge=1)]  # worker restarted before 3.0
    assert len(counted_attempt_times(scrapes, ["charge"])["charge"]) == 2 + 5 + 1


def test_workers_are_counted_each_against_its_own_previous_scrape():
    scrapes = [scrape(0.0, "a", charge=10), scrape(0.5, "b", charge=100), scrape(1.0, "a", charge=12), scrape(1.5, "b", charge=101)]
    assert counted_attempt_times(scrapes, ["charge"])["charge"] == pytest.approx([1 / 3, 2 / 3, 1.0])
