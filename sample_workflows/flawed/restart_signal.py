"""Planted failure mode: a signal handler that decides from worker-process memory, which a restart wipes.

To save a call, the `upgrade` signal handler takes the new plan's price from the worker's in-memory price list
(filled by the renewal activity, read through a passed-through module the sandbox does not police) and asks the
pricing activity only when that list is empty. In a subscription that waits for days, the renewal that fills the
list and the signal run in the same worker process, so the signal takes the cached branch and schedules nothing.
After the next worker restart (a deploy, a crash, a rescheduled pod) the new process rebuilds the workflow from its
history with an empty list, takes the other branch and schedules a pricing activity the history does not have:
NondeterminismError, and the subscription is stuck. A test of a few minutes on one worker never sees it.
`longrun.time_skip` must FAIL naming it. The fix: decide from workflow state only (call the activity, or keep the
price in a field set from an activity result), never from process memory.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    # `import a.b as c` reaches the sandbox's pass-through (one module object for the whole process); the form
    # `from sample_workflows.flawed import price_cache` would quietly re-import it per workflow run instead.
    import sample_workflows.flawed.price_cache as price_cache
    from sample_workflows.subscriptions import PRICES_CENTS, RENEWAL_RETRY, Renewal, Subscription, SubscriptionState


@activity.defn(name="renew_subscription")
async def renew_and_cache_prices(renewal: Renewal) -> int:
    """Charge one period; the pricing service answers with the whole price list, kept for later calls."""
    price_cache.remember(PRICES_CENTS)
    if renewal.plan not in PRICES_CENTS:
        raise ApplicationError(f"no price for plan {renewal.plan!r}", type="UnknownPlan", non_retryable=True)
    return PRICES_CENTS[renewal.plan]


@activity.defn
async def quote_price(plan: str) -> int:
    price_cache.remember(PRICES_CENTS)
    if plan not in PRICES_CENTS:
        raise ApplicationError(f"no price for plan {plan!r}", type="UnknownPlan", non_retryable=True)
    return PRICES_CENTS[plan]


RESTART_SIGNAL_ACTIVITIES = [renew_and_cache_prices, quote_price]


@workflow.defn(name="SubscriptionWorkflow")
class RestartSignalSubscriptionWorkflow:
    @workflow.init
    def __init__(self, subscription: Subscription) -> None:
        self._state = SubscriptionState(customer=subscription.customer, plan=subscription.plan)

    @workflow.signal
    async def upgrade(self, plan: str) -> None:
        price = price_cache.cached_price(plan)  # BUG: process memory decides whether an activity is scheduled
        if price is None:
            price = await workflow.execute_activity(
                quote_price, plan, start_to_close_timeout=timedelta(seconds=30), retry_policy=RENEWAL_RETRY
            )
        workflow.logger.info("upgrading %s to %s at %d cents a period", self._state.customer, plan, price)
        self._state.plan = plan
        self._state.upgraded_on_day = (workflow.now() - workflow.info().start_time).days

    @workflow.query
    def state(self) -> SubscriptionState:
        return self._state

    @workflow.run
    async def run(self, subscription: Subscription) -> SubscriptionState:
        for period in range(1, subscription.periods + 1):
            await workflow.sleep(timedelta(days=subscription.period_days))
            plan = self._state.plan
            charged = await workflow.execute_activity(
                renew_and_cache_prices,
                Renewal(subscription.customer, plan, period),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RENEWAL_RETRY,
            )
            self._state.renewals += 1
            self._state.charged_cents += charged
            self._state.plans_charged.append(plan)
        self._state.status = "ended"
        return self._state
