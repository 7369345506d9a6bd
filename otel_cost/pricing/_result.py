"""Hot-path pieces of pricing: the per-(provider, model, tier) slot the catalog caches, and a
``CostResult`` builder that skips the frozen dataclass' keyword ``__init__``."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

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


class _Unfrozen:
    """The exact slot layout of ``CostResult``, without the frozen ``__setattr__``.

    CostResult is a frozen, slotted dataclass: its keyword ``__init__`` sets each field through
    ``object.__setattr__`` and costs about 1 us, half a priced call. On the hot path we fill an
    instance of this twin with plain slot stores and then make it a CostResult by assigning
    ``__class__`` (allowed between classes of identical layout); the value is an ordinary,
    frozen CostResult, equal to one built by the constructor (tests/pricing check this).
    """

    __slots__ = CostResult.__slots__  # pyright: ignore[reportAttributeAccessIssue]

    def __init__(  # noqa: PLR0917
        self,
        status: PriceStatus,
        amount: Decimal,
        currency: str,
        breakdown: Mapping[str, Decimal],
        reason: str | None,
        price_ref: str,
        provider: str,
        model: str,
    ) -> None:
        self.status = status
        self.amount = amount
        self.currency = currency
        self.breakdown = breakdown
        self.reason = reason
        self.price_ref = price_ref
        self.provider = provider
        self.model = model
        self.source = "local"


def _fast(  # noqa: PLR0917
    status: PriceStatus,
    amount: Decimal,
    currency: str,
    breakdown: Mapping[str, Decimal],
    reason: str | None,
    price_ref: str,
    provider: str,
    model: str,
) -> CostResult:
    result: Any = _Unfrozen(status, amount, currency, breakdown, reason, price_ref, provider, model)
    result.__class__ = CostResult
    return result


def _portable(  # noqa: PLR0917
    status: PriceStatus,
    amount: Decimal,
    currency: str,
    breakdown: Mapping[str, Decimal],
    reason: str | None,
    price_ref: str,
    provider: str,
    model: str,
) -> CostResult:
    return CostResult(status, amount, currency, breakdown, reason, price_ref, provider, model)


def _choose() -> Any:
    """The fast builder where the interpreter allows it (CPython, PyPy), else the constructor."""
    try:
        probe = _fast("priced", Decimal(1), "USD", {}, None, "probe", "p", "m")
    except TypeError:  # pragma: no cover - an interpreter without __class__ assignment
        return _portable
    if probe != _portable("priced", Decimal(1), "USD", {}, None, "probe", "p", "m"):  # pragma: no cover
        return _portable
    return _fast


make_result = _choose()
"""``make_result(status, amount, currency, breakdown, reason, price_ref, provider, model)``:
a ``CostResult`` with ``source='local'``, built fast; equal to the keyword constructor's."""
