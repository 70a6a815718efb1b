"""Planted failure mode: non-determinism after a worker restart.

To avoid double charges, the workflow asks a worker-local SQLite store whether it has charged this
order before (through a passed-through helper module, which the sandbox does not police). The first run
sees "no" and charges. After the worker restarts, the replay asks again, now sees "yes", skips the charge
and emits a timer where the history has the charge activity: NondeterminismError, the workflow is stuck.
`determinism.restart_replay` must FAIL naming every such workflow. The fix: the history already
remembers the charge; keep decisions inside workflow state, and make the activity idempotent instead.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from sample_workflows import activities
    from sample_workflows.flawed import dedupe_store
    from sample_workflows.models import Order, OrderResult
    from sample_workflows.orders import DEPENDENCY_RETRY, LOCAL_RETRY


@workflow.defn(name="OrderWorkflow")
class LocalStateOrderWorkflow:
    def __init__(self) -> None:
        self._cancelled = False

    @workflow.signal
    def cancel(self) -> None:
        self._cancelled = True

    @workflow.run
    async def run(self, order: Order) -> OrderResult:
        charge_id = None
        if dedupe_store.first_time(workflow.info().workflow_id):  # BUG: state outside the history
            charge = await workflow.execute_activity(
                activities.charge_payment,
                order,
                start_to_close_timeout=timedelta(seconds=10),
                schedule_to_close_timeout=timedelta(minutes=5),
                retry_policy=DEPENDENCY_RETRY,
            )
            charge_id = charge.charge_id
        try:
            await workflow.wait_condition(lambda: self._cancelled, timeout=timedelta(seconds=order.shipping_delay_seconds))
        except asyncio.TimeoutError:
            pass
        tracking = await workflow.execute_activity(
            activities.ship_order, order, start_to_close_timeout=timedelta(seconds=10), retry_policy=LOCAL_RETRY
        )
        return OrderResult(order.order_id, "shipped", charge_id=charge_id, tracking_id=tracking)
