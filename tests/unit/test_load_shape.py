"""Stage math, pacing and the load spec's JSON form: pure functions, no Locust."""

from __future__ import annotations

import math

import pytest

from harness.load.shape import PER_USER_RATE, Stage, next_slot, pacing_interval, stage_at, total_duration, users_at
from harness.load.spec import LoadSpec, WorkflowStart, pick_by_share

RAMP = (Stage(10, rate=5), Stage(5, users=8), Stage(20, rate=40))


def test_stage_at_follows_the_stages_and_a_boundary_belongs_to_the_later_stage():
    assert stage_at(RAMP, 0) is RAMP[0]
    assert stage_at(RAMP, 9.999) is RAMP[0]
    assert stage_at(RAMP, 10) is RAMP[1]
    assert stage_at(RAMP, 14.5) is RAMP[1]
    assert stage_at(RAMP, 15) is RAMP[2]
    assert stage_at(RAMP, 34.999) is RAMP[2]


def test_nothing_runs_after_the_last_stage():
    assert stage_at(RAMP, 35) is None
    assert stage_at(RAMP, 1e6) is None
    assert users_at(RAMP, 35) == 0
    assert stage_at((), 0) is None
    assert users_at((), 0) == 0


def test_before_the_start_counts_as_the_first_stage():
    assert stage_at(RAMP, -0.5) is RAMP[0]


def test_total_duration_adds_the_stages():
    assert total_duration(RAMP) == 35
    assert total_duration(()) == 0


def test_a_rate_stage_uses_enough_paced_users_and_a_users_stage_its_count():
    assert users_at(RAMP, 0) == math.ceil(5 / PER_USER_RATE) == 3
    assert users_at(RAMP, 12) == 8
    assert users_at(RAMP, 20) == 20
    assert Stage(1, rate=0.1).user_count == 1
    assert Stage(1, rate=PER_USER_RATE).user_count == 1
    assert Stage(1, rate=PER_USER_RATE + 0.01).user_count == 2
    assert Stage(1, users=0).user_count == 0


@pytest.mark.parametrize("rate", [0.5, 1, 2, 5, 7.5, 40, 333])
def test_paced_users_together_start_at_the_stage_rate(rate):
    stage = Stage(10, rate=rate)
    users = stage.user_count
    interval = pacing_interval(stage, users)
    assert users / interval == pytest.approx(rate)
    assert 1 / interval <= PER_USER_RATE + 1e-9


def test_a_users_stage_and_no_stage_have_no_pacing():
    assert pacing_interval(Stage(5, users=8), 8) == 0
    assert pacing_interval(None, 3) == 0
    assert pacing_interval(Stage(5, rate=4), 0) == 0


def test_next_slot_spreads_first_starts_then_keeps_the_interval():
    assert next_slot(None, 0.5, now=100.0, phase=0.0) == 100.0
    assert next_slot(None, 0.5, now=100.0, phase=0.5) == 100.25
    assert next_slot(100.25, 0.5, now=100.3) == 100.75


def test_a_late_user_starts_at_once_without_bursting_to_catch_up():
    assert next_slot(100.0, 0.5, now=103.0) == 103.0


def test_without_pacing_the_next_start_is_now():
    assert next_slot(None, 0.0, now=7.0, phase=0.9) == 7.0
    assert next_slot(5.0, 0.0, now=7.0) == 7.0


def test_a_simulated_rate_stage_starts_about_rate_times_duration():
    stage = Stage(4, rate=5)
    users = stage.user_count
    interval = pacing_interval(stage, users)
    starts = 0
    for user in range(users):
        slot = next_slot(None, interval, now=0.0, phase=user / users)
        while slot < stage.duration_s:
            starts += 1
            slot = next_slot(slot, interval, now=slot)
    assert starts == 20


@pytest.mark.parametrize(
    "kwargs",
    [dict(duration_s=1), dict(duration_s=1, rate=1, users=1), dict(duration_s=0, rate=1), dict(duration_s=1, rate=0), dict(duration_s=1, users=-1)],
)
def test_invalid_stages_are_refused(kwargs):
    with pytest.raises(ValueError):
        Stage(**kwargs)


def spec(inputs=("order-{i}", {"id": "{i}", "n": 3}), **changes) -> LoadSpec:
    fields = dict(
        workflows=(WorkflowStart("OrderWorkflow", list(inputs), 60.0),), task_queue="orders", id_prefix="run1-load",
        stages=(Stage(4, rate=5), Stage(2, users=3)), signal="approve",
    )
    return LoadSpec(**{**fields, **changes})


def test_load_spec_survives_a_json_round_trip():
    original = spec()
    assert LoadSpec.from_json(original.to_json()) == original
    without_signal = spec(signal=None, inputs=[])
    assert LoadSpec.from_json(without_signal.to_json()) == without_signal


def test_stages_given_as_a_list_become_a_tuple():
    assert spec(stages=[Stage(1, users=1)]).stages == (Stage(1, users=1),)


def test_a_spec_needs_a_stage():
    with pytest.raises(ValueError):
        spec(stages=())


def test_inputs_are_used_in_turn_with_the_counter_substituted():
    load = spec()
    assert load.start(0).args(0) == ["order-0"]
    assert load.start(1).args(1) == [{"id": "1", "n": 3}]
    assert load.start(2).args(2) == ["order-2"]
    assert spec(inputs=[]).start(5).args(5) == []
    assert spec(inputs=[7]).start(5).args(5) == [7]


def test_a_mix_survives_a_json_round_trip_and_starts_each_type_by_its_share():
    mix = spec(workflows=(WorkflowStart("Orders", ["o-{i}"], 60.0, share=3), WorkflowStart("Refunds", [], 30.0, share=1)))
    assert LoadSpec.from_json(mix.to_json()) == mix
    picked = [mix.start(i).workflow for i in range(400)]
    assert abs(picked.count("Orders") - 300) <= 3 and picked.count("Orders") + picked.count("Refunds") == 400
    assert {"Orders", "Refunds"} == set(picked[:4])  # interleaved from the first starts, not a block of one type
    with pytest.raises(ValueError):
        spec(workflows=())


@pytest.mark.parametrize("shares", [(1, 1), (3, 1), (1, 2, 7), (0.5, 0.25, 0.25), (1, 99)])
def test_every_prefix_of_the_starts_tracks_the_shares(shares):
    counts = [0] * len(shares)
    for index in range(1000):
        counts[pick_by_share(shares, index)] += 1
        for position, share in enumerate(shares):  # a low-discrepancy sequence: off by a few starts at most, at any length
            assert abs(counts[position] - (index + 1) * share / sum(shares)) <= 3


def test_workflow_ids_name_the_prefix_process_and_counter():
    assert spec().workflow_id("p123", 4) == "run1-load-p123-4"
