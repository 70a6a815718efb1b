"""Planted failure mode: retries inside the activity, on top of Temporal's.

The charge wraps its HTTP call in a retry loop of its own (four tries, a common decorator's default), so every
attempt Temporal's policy makes reaches the payment service four times while it resets connections. History and
the workers' counters see one attempt; only the fault proxy, counting the calls that reach the service, sees four.
`retry.outage` must FAIL on calls per attempt. The fix is to leave retrying to the activity's retry policy.
"""

from __future__ import annotations

import asyncio

import httpx
from temporalio import activity

from sample_workflows import activities
from sample_workflows.models import Charge, Order

TRIES = 4


@activity.defn(name="charge_payment")
async def charge_payment(order: Order) -> Charge:
    for attempt in range(1, TRIES + 1):
        try:
            return await activities.charge_payment(order)
        except httpx.TransportError:
            if attempt == TRIES:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


ACTIVITIES = [charge_payment if a is activities.charge_payment else a for a in activities.ACTIVITIES]
