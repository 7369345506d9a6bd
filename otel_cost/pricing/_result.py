"""The hot path of pricing: the per-(provider, model, tier) slot the catalog caches, and
:meth:`Slot.cost`, which checks a usage, bills it at the slot's prices and builds the
``CostResult`` in one Python frame.

Billing follows genai-prices (its ``compute_leaf_values``): each priced component is billed on
its own count, and a count is removed from its parent (cache reads from input, 1-hour writes
from cache writes, reasoning from output, ...) only when that component has a price of its own;
otherwise those tokens bill at the parent's price. So no token is billed twice and none is
dropped. Long-context tiers are whole ``PriceSet``s chosen by the request's total input.
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from otel_cost.pricing._files import DiscountRule
from otel_cost.pricing._prices import InvalidUsage, PriceSet
from otel_cost.pricing.types import (
    ZERO,
    CostResult,
    TokenUsage,
    _Unfrozen,  # pyright: ignore[reportPrivateUsage]
)

_new = object.__new__

NO_EXTENSIONS_ENV = "OTEL_COST_NO_EXTENSIONS"


class Slot:
    """Everything needed to price a (provider, model, tier) while ``lo <= at_ns < hi``."""

    __slots__ = (
        "currency",
        "discounts",
        "fast",
        "hi",
        "lo",
        "model",
        "price_ref",
        "prices",
        "provider",
        "ref",
    )

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
        self.fast = (prices.vector(), currency, self.price_ref, provider, model)
        """What the C accelerator (``_speedups.cost``) reads: the prices and the result's strings."""

    def cost(self, usage: TokenUsage) -> CostResult | None:
        """The ``priced`` (or ``partial``) cost of ``usage`` at this slot's prices, before
        discounts; None when it has no input and no output tokens.

        Raises :class:`InvalidUsage` when the counts cannot describe a real call (negative,
        absurd, or a subset larger than its total), and ``AttributeError``/``TypeError`` when
        ``usage`` is not a usage at all. Components with no tokens are left out of the
        breakdown. Every count is read once and the checks are integer arithmetic: this is
        the per-call work of a warm ``price_tokens``.
        """
        i = usage.input_tokens
        o = usage.output_tokens
        cr = usage.cache_read_tokens
        cw = usage.cache_write_tokens
        c1 = usage.cache_write_1h_tokens
        r = usage.reasoning_tokens
        ia = usage.input_audio_tokens
        oa = usage.output_audio_tokens
        ii = usage.input_image_tokens
        rq = usage.requests
        breakdown: dict[str, Decimal] = {}
        complete = True
        try:
            # Any negative count, or one of 2**34 (~17 billion) or more, leaves bits above 34.
            bad = (i | o | cr | cw | c1 | r | ia | oa | ii | rq) >> 34
        except TypeError:
            raise InvalidUsage("token counts must be integers") from None
        if bad or cr + cw > i or c1 > cw or ia > i or ii > i or r > o or oa > o:
            raise InvalidUsage("negative, absurd or inconsistent token counts")
        if not i and not o:
            return None
        prices = self.prices
        if prices.tiers:
            prices = prices.for_input(i)
        total = ZERO

        rest = i
        if cr:
            p = prices.cache_read
            if p is not None:
                breakdown["cache_read"] = x = p * cr
                total += x
                rest -= cr
        if cw:
            if c1:
                p = prices.cache_write_1h
                if p is not None:
                    breakdown["cache_write_1h"] = x = p * c1
                    total += x
                    rest -= c1
                    cw -= c1
            p = prices.cache_write
            if cw and p is not None:
                breakdown["cache_write"] = x = p * cw
                total += x
                rest -= cw
        if ia:
            p = prices.input_audio
            if p is not None:
                breakdown["input_audio"] = x = p * ia
                total += x
                rest -= ia
        if ii:
            p = prices.input_image
            if p is not None:
                breakdown["input_image"] = x = p * ii
                total += x
                rest -= ii
        if rest:
            if rest < 0:
                # Audio/image tokens that are also cache reads: the parts overlap and the split
                # cannot be known from these counts (genai-prices rejects it the same way).
                raise InvalidUsage("priced input components exceed input_tokens")
            p = prices.input
            if p is None:
                complete = False
            else:
                breakdown["input"] = x = p * rest
                total += x

        rest = o
        if r:
            p = prices.reasoning
            if p is not None:
                breakdown["reasoning"] = x = p * r
                total += x
                rest -= r
        if oa:
            p = prices.output_audio
            if p is not None:
                breakdown["output_audio"] = x = p * oa
                total += x
                rest -= oa
        if rest:
            if rest < 0:
                raise InvalidUsage("priced output components exceed output_tokens")
            p = prices.output
            if p is None:
                complete = False
            else:
                breakdown["output"] = x = p * rest
                total += x

        p = prices.request
        if p is not None and rq:
            breakdown["request"] = x = p * rq
            total += x

        # local_result's slot stores, inlined: the call costs ~10% of this pure-Python path.
        result: Any = _new(_Unfrozen)
        if complete:
            result.status = "priced"
            result.reason = None
        else:
            result.status = "partial"
            result.reason = "no_price_component"
        result.amount = total
        result.currency = self.currency
        result.breakdown = breakdown
        result.price_ref = self.price_ref
        result.provider = self.provider
        result.model = self.model
        result.source = "local"
        result.__class__ = CostResult
        return result


def discounted(result: CostResult, factor: Decimal, price_ref: str) -> CostResult:
    """``result`` with every figure times ``factor`` and the discount named in ``price_ref``."""
    breakdown: Mapping[str, Decimal] = {k: v * factor for k, v in result.breakdown.items()}
    return replace(result, amount=result.amount * factor, breakdown=breakdown, price_ref=price_ref)


FastCost = Callable[[tuple[object, ...], TokenUsage], "CostResult | None"]
FastPrice = Callable[[dict[Any, Slot], Any, Any, Any, int, Any], "CostResult | None"]


def _load_accelerator() -> tuple[FastCost, FastPrice] | tuple[None, None]:
    """The C accelerator's ``cost`` and ``price``; Nones when it was not built (no C compiler
    at install), ``OTEL_COST_NO_EXTENSIONS`` is set to a non-empty value, or the interpreter is
    free-threaded: the module relies on the GIL (borrowed references from the shared slot cache),
    and importing it there would turn the GIL back on for the whole process."""
    if os.environ.get(NO_EXTENSIONS_ENV) or sysconfig.get_config_var("Py_GIL_DISABLED"):
        return None, None
    try:
        from otel_cost.pricing import _speedups
    except ImportError:
        return None, None
    _speedups.init(TokenUsage, CostResult, Slot, ZERO)
    return _speedups.cost, _speedups.price


fast_cost, fast_price = _load_accelerator()
"""``fast_cost(slot.fast, usage)``: :meth:`Slot.cost`'s result computed in C, or None where the
Python code must run (errors, no usage, a usage that is not an exact TokenUsage of ints).
``fast_price(slots, provider, model, service_tier, at_ns, usage)``: the same for the cached
slot of a catalog, or None when there is none for that time or it has discounts. Both None
when the extension is absent."""
