"""Compiled prices and the Decimal arithmetic that turns token counts into money.

A :class:`PriceSet` holds per-token (or per-request) ``Decimal`` prices for the components
otel-cost bills, precomputed once from the catalog's per-million-token figures. Long-context
tiers are whole ``PriceSet``s chosen by the request's total input tokens (the tier the input
crosses applies to every token of the request, as Anthropic, Google and OpenAI bill them).

Billing a usage at a ``PriceSet`` (which component gets which tokens) is the hot path and
lives in :meth:`otel_cost.pricing._result.Slot.cost`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

# Catalog price keys (genai-prices naming) -> (our component, tokens per price unit).
PRICE_KEYS: Mapping[str, tuple[str, int]] = {
    "input_mtok": ("input", 1_000_000),
    "output_mtok": ("output", 1_000_000),
    "cache_read_mtok": ("cache_read", 1_000_000),
    "cache_write_mtok": ("cache_write", 1_000_000),
    "cache_write_1h_mtok": ("cache_write_1h", 1_000_000),
    "output_reasoning_mtok": ("reasoning", 1_000_000),
    "input_audio_mtok": ("input_audio", 1_000_000),
    "output_audio_mtok": ("output_audio", 1_000_000),
    "input_image_mtok": ("input_image", 1_000_000),
    "requests_kcount": ("request", 1_000),
}
COMPONENTS: tuple[str, ...] = tuple(component for component, _ in PRICE_KEYS.values())

PriceValue = Decimal | tuple[Decimal, tuple[tuple[int, Decimal], ...]]
"""A price per catalog unit: a Decimal, or ``(base, ((threshold, price), ...))`` for tiers."""


class InvalidUsage(ValueError):
    """The usage cannot describe a real call (negative count, subset larger than its total)."""


class PriceSet:
    """Per-token Decimal prices of one model at one time and service tier."""

    __slots__ = (
        "cache_read",
        "cache_write",
        "cache_write_1h",
        "input",
        "input_audio",
        "input_image",
        "output",
        "output_audio",
        "plain_sum",
        "reasoning",
        "request",
        "tiers",
    )

    def __init__(self, per_token: Mapping[str, Decimal]) -> None:
        get = per_token.get
        self.input: Decimal | None = get("input")
        self.output: Decimal | None = get("output")
        self.cache_read: Decimal | None = get("cache_read")
        self.cache_write: Decimal | None = get("cache_write")
        self.cache_write_1h: Decimal | None = get("cache_write_1h")
        self.reasoning: Decimal | None = get("reasoning")
        self.input_audio: Decimal | None = get("input_audio")
        self.output_audio: Decimal | None = get("output_audio")
        self.input_image: Decimal | None = get("input_image")
        self.request: Decimal | None = get("request")
        self.plain_sum: bool = all(p.as_tuple().exponent <= 0 for p in per_token.values())  # pyright: ignore[reportOperatorIssue]
        """No price has a positive exponent, so a product's value plus another's is exactly what
        ``Decimal(0) + x + y`` gives, trailing zeros included (the C accelerator skips the zero)."""
        self.tiers: tuple[tuple[int, PriceSet], ...] = ()
        """Higher tiers, ascending by threshold: ``(threshold, prices)`` applies when input > threshold."""

    @property
    def empty(self) -> bool:
        """No token or request price at all (e.g. a model billed only per audio hour)."""
        return all(getattr(self, c) is None for c in COMPONENTS)

    def vector(self) -> tuple[object, ...]:
        """The prices as a tuple for the C accelerator (``_speedups.c``): the ten component
        prices in ``COMPONENTS`` order, ``plain_sum``, then ``((threshold, vector), ...)``."""
        tiers = tuple((threshold, prices.vector()) for threshold, prices in self.tiers)
        return (*(getattr(self, c) for c in COMPONENTS), self.plain_sum, tiers)

    def for_input(self, input_tokens: int) -> PriceSet:
        """The tier a request with ``input_tokens`` total input falls in."""
        chosen = self
        for threshold, prices in self.tiers:
            if input_tokens > threshold:
                chosen = prices
            else:
                break
        return chosen


def compile_prices(prices: Mapping[str, PriceValue]) -> PriceSet:
    """Build a :class:`PriceSet` (with its tiers) from catalog price keys.

    Unknown keys (prices for usage otel-cost does not count, such as web searches or audio
    hours) are ignored: those counts are always zero here, so they add nothing.
    """
    thresholds: set[int] = set()
    for value in prices.values():
        if isinstance(value, tuple):
            thresholds.update(threshold for threshold, _ in value[1])

    def at_tier(threshold: int | None) -> PriceSet:
        per_token: dict[str, Decimal] = {}
        for key, value in prices.items():
            known = PRICE_KEYS.get(key)
            if known is None:
                continue
            component, per = known
            if isinstance(value, tuple):
                price = value[0]
                if threshold is not None:
                    for start, tier_price in value[1]:
                        if start <= threshold:
                            price = tier_price
            else:
                price = value
            # scaleb keeps the figure exact: $2.50/MTok -> 0.0000025 per token.
            per_token[component] = price.scaleb(-6 if per == 1_000_000 else -3)
        return PriceSet(per_token)

    base = at_tier(None)
    base.tiers = tuple((threshold, at_tier(threshold)) for threshold in sorted(thresholds))
    return base
