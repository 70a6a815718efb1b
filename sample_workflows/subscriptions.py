"""A month-long subscription: renews every `period_days` for `periods` periods on durable timers, and takes an
`upgrade(plan)` signal at any moment of the wait. The new plan is charged from the next renewal on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

PRICES_CENTS = {"basic": 900, "premium": 2900}
RENEWAL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
    non_retryable_error_types=["UnknownPlan"],
)


@dataclass
class Subscription:
    customer: str
    plan: str = "basic"
    period_days: int = 7
    periods: int = 5


@dataclass
class Renewal:
    customer: str
    plan: str
    period: int


@dataclass
class SubscriptionState:
    customer: str
    plan: str
    renewals: int = 0
    charged_cents: int = 0
    upgraded_on_day: int | None = None
    """Day of the subscription on which the last upgrade signal arrived."""
    plans_charged: list[str] = field(default_factory=list)
    status: str = "active"
    """active, then ended after the last period."""


@activity.defn
async def renew_subscription(renewal: Renewal) -> int:
    """Charge one period of the plan; returns the amount charged in cents."""
    if renewal.plan not in PRICES_CENTS:
        raise ApplicationError(f"no price for plan {renewal.plan!r}", type="UnknownPlan", non_retryable=True)
    return PRICES_CENTS[renewal.plan]


SUBSCRIPTION_ACTIVITIES = [renew_subscription]


@workflow.defn(name="SubscriptionWorkflow")
class SubscriptionWorkflow:
    @workflow.init
    def __init__(self, subscription: Subscription) -> None:
        self._state = SubscriptionState(customer=subscription.customer, plan=subscription.plan)

    @workflow.signal
    def upgrade(self, plan: str) -> None:
        if plan not in PRICES_CENTS:
            workflow.logger.warning("ignoring upgrade to unknown plan %r", plan)
            return
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
                renew_subscription,
                Renewal(subscription.customer, plan, period),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RENEWAL_RETRY,
            )
            self._state.renewals += 1
            self._state.charged_cents += charged
            self._state.plans_charged.append(plan)
        self._state.status = "ended"
        return self._state
