"""The workflow the replay benchmark runs and replays: activities, a timer and a signal, about 40 events."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def step(name: str) -> str:
    return f"{name}-done"


@workflow.defn
class BenchWorkflow:
    def __init__(self) -> None:
        self._notes: list[str] = []

    @workflow.signal
    def note(self, text: str) -> None:
        self._notes.append(text)

    @workflow.run
    async def run(self, steps: int) -> list[str]:
        results = []
        for i in range(steps):
            results.append(
                await workflow.execute_activity(step, f"step-{i}", start_to_close_timeout=timedelta(seconds=10))
            )
            if i == steps // 2:
                await workflow.sleep(timedelta(milliseconds=100))
        return results + self._notes
