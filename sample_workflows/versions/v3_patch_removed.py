"""Version 3, flawed: the `patched()` call is deleted while v2 workflows that recorded its marker still run."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from sample_workflows import activities
    from sample_workflows.models import Order, OrderResult
    from sample_workflows.orders import LOCAL_RETRY, OrderWorkflow


@workflow.defn(name="OrderWorkflow")
class OrderWorkflowV3PatchRemoved(OrderWorkflow):
    @workflow.run
    async def run(self, order: Order) -> OrderResult:
        await workflow.execute_activity(
            activities.screen_order, order, start_to_close_timeout=timedelta(seconds=10), retry_policy=LOCAL_RETRY
        )
        return await super().run(order)
