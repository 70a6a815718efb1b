"""Activities of the order app. `charge_payment` calls a real local HTTP payment service."""

from __future__ import annotations

import os

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from sample_workflows.models import Charge, Order

PAYMENT_URL_ENV = "PAYMENT_URL"


class PaymentDeclined(Exception):
    """A business outcome, not an outage: retrying cannot change it."""


@activity.defn
async def reserve_inventory(order: Order) -> str:
    if order.items <= 0:
        raise ApplicationError(f"order {order.order_id} has no items", type="InvalidOrder", non_retryable=True)
    return f"rsv-{order.order_id}"


@activity.defn
async def charge_payment(order: Order) -> Charge:
    # The idempotency key makes a retried charge safe: the service returns the first charge again. It is derived
    # from what every attempt shares (the workflow and the activity), never made fresh inside the attempt.
    info = activity.info()
    return await post_charge(order, key=f"{info.workflow_id}:{info.activity_id}")


async def post_charge(order: Order, key: str | None) -> Charge:
    """POST /charges with `key` as the Idempotency-Key (none when None)."""
    base = os.environ.get(PAYMENT_URL_ENV)
    if not base:
        raise ApplicationError(f"{PAYMENT_URL_ENV} is not set", type="Misconfigured", non_retryable=True)
    async with httpx.AsyncClient(timeout=5.0) as http:
        response = await http.post(
            f"{base}/charges",
            json={"order_id": order.order_id, "amount_cents": order.amount_cents},
            headers={"Idempotency-Key": key} if key else {},
        )
    if response.status_code == 402:
        raise ApplicationError(response.text, type="PaymentDeclined", non_retryable=True)
    response.raise_for_status()
    body = response.json()
    return Charge(charge_id=body["charge_id"], amount_cents=body["amount_cents"])


@activity.defn
async def refund_payment(charge: Charge) -> None:
    activity.logger.info("refund %s", charge.charge_id)


@activity.defn
async def screen_order(order: Order) -> str:
    """Fraud screening, added in version 2 of the order workflow (see sample_workflows/versions/)."""
    return "clear" if order.amount_cents < 1_000_000 else "review"


@activity.defn
async def ship_order(order: Order) -> str:
    return f"trk-{order.order_id}"


ACTIVITIES = [reserve_inventory, charge_payment, refund_payment, screen_order, ship_order]
