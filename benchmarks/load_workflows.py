"""Trivial workflows for the load benchmark and the load driver's tests: the cost is in starting them."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow


@workflow.defn
class LoadBenchWorkflow:
    """Completes at once."""

    @workflow.run
    async def run(self, name: str = "") -> str:
        return f"hello {name}"


@workflow.defn
class PokedWorkflow:
    """Waits (up to a minute) for its `poke` signal, then completes."""

    def __init__(self) -> None:
        self._poked = False

    @workflow.signal
    def poke(self) -> None:
        self._poked = True

    @workflow.run
    async def run(self, name: str = "") -> str:
        await workflow.wait_condition(lambda: self._poked, timeout=timedelta(minutes=1))
        return f"poked {name}"
