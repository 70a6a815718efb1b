"""The plan price list a worker process keeps in memory once an activity has fetched it (the restart_signal variant).

Harmless when only activities read it. Read from workflow code, it makes the workflow's decisions depend on which
process runs it and what that process happened to do before.
"""

from __future__ import annotations

PRICES_CENTS: dict[str, int] = {}


def remember(prices: dict[str, int]) -> None:
    PRICES_CENTS.update(prices)


def cached_price(plan: str) -> int | None:
    return PRICES_CENTS.get(plan)
