"""The well-built order workflow: explicit retry policies and timeouts, a durable timer, a signal."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from sample_workflows import activities
    from sample_workflows.models import Order, OrderResult

# Bounded retries that thin out fast while a dependency is down (2s, 6s, 18s, ...), and business errors that
# are never retried.
DEPENDENCY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=3.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=8,
    non_retryable_error_types=["PaymentDeclined", "InvalidOrder"],
)
LOCAL_RETRY = RetryPolicy(maximum_attempts=3, non_retryable_error_types=["InvalidOrder"])


@workflow.defn(name="OrderWorkflow")
class OrderWorkflow:
    def __init__(self) -> None:
        self._cancelled = False
        self._status = "received"

    @workflow.signal
    def cancel(self) -> None:
        self._cancelled = True

    @workflow.query
    def status(self) -> str:
        return self._status

    @workflow.run
    async def run(self, order: Order) -> OrderResult:
        await workflow.execute_activity(
            activities.reserve_inventory,
            order,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=LOCAL_RETRY,
        )
        charge = await workflow.execute_activity(
            activities.charge_payment,
            order,
            start_to_close_timeout=timedelta(seconds=10),
            schedule_to_close_timeout=timedelta(minutes=5),
            retry_policy=DEPENDENCY_RETRY,
        )
        self._status = "charged"
        # Wait out the shipping delay on a durable timer; a `cancel` signal ends the wait early.
        try:
            await workflow.wait_condition(
                lambda: self._cancelled, timeout=timedelta(seconds=order.shipping_delay_seconds)
            )
        except asyncio.TimeoutError:
            pass
        if self._cancelled:
            await workflow.execute_activity(
                activities.refund_payment,
                charge,
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=DEPENDENCY_RETRY,
            )
            self._status = "cancelled"
            return OrderResult(order.order_id, "cancelled", charge_id=charge.charge_id)
        tracking = await workflow.execute_activity(
            activities.ship_order,
            order,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=LOCAL_RETRY,
        )
        self._status = "shipped"
        return OrderResult(order.order_id, "shipped", charge_id=charge.charge_id, tracking_id=tracking)
