"""Hot-path pieces of pricing: the per-(provider, model, tier) slot the catalog caches, and a
``CostResult`` builder that skips the frozen dataclass' keyword ``__init__``."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from otel_cost.pricing._files import DiscountRule
from otel_cost.pricing._prices import PriceSet
from otel_cost.pricing.types import CostResult, PriceStatus


class Slot:
    """Everything needed to price a (provider, model, tier) while ``lo <= at_ns < hi``."""

    __slots__ = ("currency", "discounts", "hi", "lo", "model", "price_ref", "prices", "provider", "ref")

    def __init__(  # noqa: PLR0917
        self,
        lo: int,
        hi: int,
        prices: PriceSet,
        currency: str,
        ref: str,
        provider: str,
        model: str,
        discounts: tuple[DiscountRule, ...],
        version: str,
    ) -> None:
        self.lo = lo
        self.hi = hi
        self.prices = prices
        self.currency = currency
        self.ref = ref
        """``<entry id><suffix>`` without the catalog version."""
        self.provider = provider
        self.model = model
        self.discounts = discounts
        self.price_ref = f"{ref}@{version}"


def _setter(name: str) -> Any:
    return cast(Any, CostResult.__dict__[name]).__set__


# CostResult is a frozen, slotted dataclass: writing its slots directly costs a third of its
# keyword __init__ (frozen __init__ goes through object.__setattr__ per field).
_set = tuple(
    _setter(n)
    for n in (
        "status",
        "amount",
        "currency",
        "breakdown",
        "reason",
        "price_ref",
        "provider",
        "model",
        "source",
    )
)
_new = object.__new__


def make_result(  # noqa: PLR0917 - hot path, positional on purpose
    status: PriceStatus,
    amount: Decimal,
    currency: str,
    breakdown: Mapping[str, Decimal],
    reason: str | None,
    price_ref: str,
    provider: str,
    model: str,
) -> CostResult:
    """A ``CostResult`` (``source='local'``), built fast; same value as the keyword constructor."""
    s0, s1, s2, s3, s4, s5, s6, s7, s8 = _set
    result = _new(CostResult)
    s0(result, status)
    s1(result, amount)
    s2(result, currency)
    s3(result, breakdown)
    s4(result, reason)
    s5(result, price_ref)
    s6(result, provider)
    s7(result, model)
    s8(result, "local")
    return result
