"""Version 3, the next correct step: every v1 workflow is closed, so the patch is deprecated (the branch stays)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from sample_workflows import activities
    from sample_workflows.models import Order, OrderResult
    from sample_workflows.orders import LOCAL_RETRY, OrderWorkflow


@workflow.defn(name="OrderWorkflow")
class OrderWorkflowV3(OrderWorkflow):
    @workflow.run
    async def run(self, order: Order) -> OrderResult:
        workflow.deprecate_patch("fraud-screening")
        await workflow.execute_activity(
            activities.screen_order, order, start_to_close_timeout=timedelta(seconds=10), retry_policy=LOCAL_RETRY
        )
        return await super().run(order)
