"""Planted failure mode: a check-then-act race between signal handlers.

Each handler checks that the request is still pending, then awaits until the run method has initialised the
request (a common guard for signals that may arrive before `run` starts), then decides. The await resolves in
the same workflow task, but it yields: when `approve` and `cancel` (or two `approve`s) arrive in ONE workflow
task, both handlers pass the check before either decides, so the request ends cancelled-and-approved or approved
twice. Delivered one per workflow task, the second handler sees the decision and does nothing, which is why a
test that sends one signal at a time never finds it. `signals.concurrent` must FAIL. The fix: wait first, then
check and act with no await in between (or hold an asyncio.Lock across the whole handler).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from sample_workflows.approvals import ApprovalRequest


@workflow.defn(name="ApprovalWorkflow")
class RacyApprovalWorkflow:
    def __init__(self) -> None:
        self._request: ApprovalRequest | None = None
        self._status = "pending"
        self._approvals = 0
        self._decisions = 0
        self._amendments = 0
        self._processed_signals = 0
        self._amount_cents = 0

    @workflow.signal
    async def approve(self) -> None:
        self._processed_signals += 1
        if self._status != "pending":
            return
        await workflow.wait_condition(lambda: self._request is not None)  # BUG: yields between the check and the act
        self._approvals += 1
        self._decisions += 1
        self._status = "approved"

    @workflow.signal
    async def cancel(self) -> None:
        self._processed_signals += 1
        if self._status != "pending":
            return
        await workflow.wait_condition(lambda: self._request is not None)  # BUG: same race
        self._decisions += 1
        self._status = "cancelled"

    @workflow.update
    def amend(self, amount_cents: int) -> dict[str, Any]:
        self._amount_cents = amount_cents
        self._amendments += 1
        return self.state()

    @amend.validator
    def _only_pending_requests(self, amount_cents: int) -> None:
        if self._status != "pending":
            raise ApplicationError(f"the request is {self._status}: it can no longer be amended", type="RequestClosed")

    @workflow.query
    def state(self) -> dict[str, Any]:
        return {
            "status": self._status,
            "approvals": self._approvals,
            "decisions": self._decisions,
            "amendments": self._amendments,
            "processed_signals": self._processed_signals,
            "amount_cents": self._amount_cents,
        }

    @workflow.run
    async def run(self, request: ApprovalRequest) -> dict[str, Any]:
        self._request = request
        self._amount_cents = request.amount_cents
        try:
            await workflow.wait_condition(
                lambda: self._status != "pending", timeout=timedelta(seconds=request.decision_timeout_seconds)
            )
        except asyncio.TimeoutError:
            self._status = "expired"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()
