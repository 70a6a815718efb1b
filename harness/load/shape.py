"""Load stages as pure functions of elapsed time: which stage runs, how many users, how each user is paced.

A stage either asks for a start rate (workflow starts per second) or for a number of closed-loop users that
start workflows back to back. A rate stage is served by `ceil(rate / PER_USER_RATE)` users, each starting one
workflow every `users / rate` seconds, so the users together produce `rate` starts per second. No I/O and no
Locust import here: the locustfile and the harness both use these functions, and tests call them directly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PER_USER_RATE = 2.0
"""Starts per second one paced user is asked for; a rate stage adds users rather than speeding them up."""


@dataclass(frozen=True)
class Stage:
    """One stretch of constant load."""

    duration_s: float
    """How long the stage lasts, in seconds."""
    rate: float | None = None
    """Target workflow starts per second during this stage (spread over paced users)."""
    users: int | None = None
    """Or: this many closed-loop users, each starting workflows back to back."""

    def __post_init__(self) -> None:
        if (self.rate is None) == (self.users is None):
            raise ValueError("a stage takes exactly one of `rate` or `users`")
        if self.duration_s <= 0:
            raise ValueError(f"a stage lasts more than 0 s, got {self.duration_s}")
        if self.rate is not None and self.rate <= 0:
            raise ValueError(f"a stage rate is more than 0 starts/s, got {self.rate}")
        if self.users is not None and self.users < 0:
            raise ValueError(f"a stage has 0 or more users, got {self.users}")

    @property
    def user_count(self) -> int:
        """Users this stage runs: its `users`, or enough paced users for its `rate`."""
        if self.users is not None:
            return self.users
        return math.ceil(self.rate / PER_USER_RATE)  # type: ignore[operator]  # rate is set when users is not


def total_duration(stages: Sequence[Stage]) -> float:
    return sum(stage.duration_s for stage in stages)


def stage_at(stages: Sequence[Stage], elapsed_s: float) -> Stage | None:
    """The stage running `elapsed_s` seconds into the load; a boundary belongs to the later stage. None after the last."""
    if elapsed_s < 0:
        return stages[0] if stages else None
    end = 0.0
    for stage in stages:
        end += stage.duration_s
        if elapsed_s < end:
            return stage
    return None


def users_at(stages: Sequence[Stage], elapsed_s: float) -> int:
    """Users that should be running `elapsed_s` seconds into the load (0 once it is over)."""
    stage = stage_at(stages, elapsed_s)
    return stage.user_count if stage else 0


def pacing_interval(stage: Stage | None, users: int) -> float:
    """Seconds between one user's starts: `users / rate` in a rate stage, 0 (back to back) in a users stage."""
    if stage is None or stage.rate is None or users <= 0:
        return 0.0
    return users / stage.rate


def next_slot(previous_slot: float | None, interval: float, now: float, phase: float = 0.0) -> float:
    """When a paced user starts next (same clock as `now`).

    The first slot is `phase * interval` from now (a phase in [0, 1) spreads users over the interval instead of
    starting them all at once). After that slots are `interval` apart; a user that fell behind starts at once
    and does not burst to catch up.
    """
    if interval <= 0:
        return now
    if previous_slot is None:
        return now + phase * interval
    return max(previous_slot + interval, now)
