"""Data passed between the order workflow, its activities and its clients."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Order:
    order_id: str
    customer: str
    amount_cents: int
    items: int = 1
    shipping_delay_seconds: float = 4.0


@dataclass
class Charge:
    charge_id: str
    amount_cents: int


@dataclass
class OrderResult:
    order_id: str
    status: str
    charge_id: str | None = None
    tracking_id: str | None = None
