"""Flawed variant: after shipping, the order notifies a *set* of channels, one activity each.

Iterating a set of strings follows str hashing, which PYTHONHASHSEED randomises per process. The worker that
started the workflow and the worker that replays it after a restart can schedule the activities in another
order: a non-determinism failure that depends on which process picks the workflow up. The sandbox does not
see it; only replay under a second hash seed (or the static audit's set-iteration rule) does.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from sample_workflows.models import Order, OrderResult
    from sample_workflows.orders import OrderWorkflow

CHANNELS = ("email", "sms", "push", "webhook")


def _notifier(channel: str):
    @activity.defn(name=f"notify_{channel}")
    async def notify(order_id: str) -> None:
        activity.logger.info("notified %s of %s", channel, order_id)

    return notify


NOTIFY_ACTIVITIES = [_notifier(c) for c in CHANNELS]


@workflow.defn(name="OrderWorkflow")
class SetOrderWorkflow(OrderWorkflow):
    @workflow.run
    async def run(self, order: Order) -> OrderResult:
        result = await super().run(order)
        for channel in {"email", "sms", "push", "webhook"}:
            await workflow.execute_activity(
                f"notify_{channel}", order.order_id, start_to_close_timeout=timedelta(seconds=10)
            )
        return result
