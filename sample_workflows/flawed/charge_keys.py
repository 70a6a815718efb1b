"""Planted failure mode: a retried charge charges the card again.

Two twins of `charge_payment`. `fresh_key` sends an Idempotency-Key, but a uuid4() made inside the attempt, so every
attempt has a new key and the payment service cannot tell a retry from a new charge; `no_key` sends none. A worker
killed after the service charged, or an answer lost on the way back, makes Temporal retry the activity: the
customer is charged twice and the workflow completes as if nothing happened. `activities.idempotent` must FAIL on
both. The fix: derive the key from the workflow id and activity id, which every attempt shares.
"""

from __future__ import annotations

import uuid

from temporalio import activity

from sample_workflows import activities
from sample_workflows.models import Charge, Order


@activity.defn(name="charge_payment")
async def charge_with_fresh_key(order: Order) -> Charge:
    return await activities.post_charge(order, key=str(uuid.uuid4()))


@activity.defn(name="charge_payment")
async def charge_without_key(order: Order) -> Charge:
    return await activities.post_charge(order, key=None)


FRESH_KEY_ACTIVITIES = [charge_with_fresh_key if a is activities.charge_payment else a for a in activities.ACTIVITIES]
NO_KEY_ACTIVITIES = [charge_without_key if a is activities.charge_payment else a for a in activities.ACTIVITIES]
