"""The well-built approval workflow: a request waits for one decision (`approve` or `cancel`) and can be amended
while it is pending. Every handler checks and changes state in one synchronous step, so signals that arrive
together in one workflow task cannot interleave between the check and the change.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError


@dataclass
class ApprovalRequest:
    request_id: str
    amount_cents: int = 0
    decision_timeout_seconds: float = 60.0
    """A request nobody decides on expires after this (a durable timer, so the workflow never waits forever)."""


@workflow.defn(name="ApprovalWorkflow")
class ApprovalWorkflow:
    def __init__(self) -> None:
        self._status = "pending"
        self._approvals = 0
        self._decisions = 0
        self._amendments = 0
        self._processed_signals = 0
        self._amount_cents = 0

    @workflow.signal
    def approve(self) -> None:
        self._processed_signals += 1
        if self._status == "pending":
            self._approvals += 1
            self._decisions += 1
            self._status = "approved"

    @workflow.signal
    def cancel(self) -> None:
        self._processed_signals += 1
        if self._status == "pending":
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
        if amount_cents < 0:
            raise ApplicationError("the amount cannot be negative", type="InvalidAmount")

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
        self._amount_cents = request.amount_cents
        try:
            await workflow.wait_condition(
                lambda: self._status != "pending", timeout=timedelta(seconds=request.decision_timeout_seconds)
            )
        except asyncio.TimeoutError:
            self._status = "expired"
        # Handlers still running (none here, but a future async handler) finish before the result is returned.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()
