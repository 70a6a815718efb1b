"""Planted failure mode: a retry storm when the payment service goes down.

Every activity runs on the server's default retry policy (1s, x2, up to 100s, unlimited attempts, nothing
non-retryable) with no schedule-to-close bound. When the payment service is down, every waiting charge
retries 1s, 3s, 7s, 15s... after its first failure, so the attempts on the service pile up to several times
the normal rate, and a declined payment would be retried forever. `retry.outage` must FAIL on the storm and
`retry.policy` on the unbounded policies. The fix is the well-built app's explicit policies (sample_workflows/orders.py).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from sample_workflows import activities
    from sample_workflows.models import Order, OrderResult


@workflow.defn(name="OrderWorkflow")
class DefaultRetryOrderWorkflow:
    def __init__(self) -> None:
        self._cancelled = False

    @workflow.signal
    def cancel(self) -> None:
        self._cancelled = True

    @workflow.run
    async def run(self, order: Order) -> OrderResult:
        timeout = timedelta(seconds=10)
        await workflow.execute_activity(activities.reserve_inventory, order, start_to_close_timeout=timeout)
        charge = await workflow.execute_activity(activities.charge_payment, order, start_to_close_timeout=timeout)
        try:
            await workflow.wait_condition(lambda: self._cancelled, timeout=timedelta(seconds=order.shipping_delay_seconds))
        except asyncio.TimeoutError:
            pass
        if self._cancelled:
            await workflow.execute_activity(activities.refund_payment, charge, start_to_close_timeout=timeout)
            return OrderResult(order.order_id, "cancelled", charge_id=charge.charge_id)
        tracking = await workflow.execute_activity(activities.ship_order, order, start_to_close_timeout=timeout)
        return OrderResult(order.order_id, "shipped", charge_id=charge.charge_id, tracking_id=tracking)
