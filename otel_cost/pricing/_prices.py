"""Compiled prices and the Decimal arithmetic that turns token counts into money.

A :class:`PriceSet` holds per-token (or per-request) ``Decimal`` prices for the components
otel-cost bills, precomputed once from the catalog's per-million-token figures. Long-context
tiers are whole ``PriceSet``s chosen by the request's total input tokens (the tier the input
crosses applies to every token of the request, as Anthropic, Google and OpenAI bill them).

The decomposition follows genai-prices (its ``compute_leaf_values``): each priced component
is billed on its own count, and a count is removed from its parent (cache reads from input,
1-hour writes from cache writes, reasoning from output, ...) only when that component has a
price of its own; otherwise those tokens bill at the parent's price. So no token is billed
twice and none is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from otel_cost.pricing.types import ZERO, TokenUsage

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
        self.tiers: tuple[tuple[int, PriceSet], ...] = ()
        """Higher tiers, ascending by threshold: ``(threshold, prices)`` applies when input > threshold."""

    @property
    def empty(self) -> bool:
        """No token or request price at all (e.g. a model billed only per audio hour)."""
        return all(getattr(self, c) is None for c in COMPONENTS)

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


def price_usage(prices: PriceSet, usage: TokenUsage) -> tuple[Decimal, dict[str, Decimal], bool] | None:
    """``(total, breakdown, complete)`` of ``usage`` at ``prices``; None when it has no tokens.

    Raises :class:`InvalidUsage` when the counts cannot describe a real call (negative, absurd,
    or a subset larger than its total). ``complete`` is False when some tokens had no price at
    all (the result is ``partial``). Components with no tokens are left out of the breakdown.
    This is the hot path: every count is read once, checks are integer arithmetic.
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
    try:
        # Any negative count, or one of 2**34 (~17 billion) or more, leaves bits above 34.
        bad = (i | o | cr | cw | c1 | r | ia | oa | ii | rq) >> 34
    except TypeError:
        raise InvalidUsage("token counts must be integers") from None
    if bad or cr + cw > i or c1 > cw or ia > i or ii > i or r > o or oa > o:
        raise InvalidUsage("negative, absurd or inconsistent token counts")
    if not i and not o:
        return None
    if prices.tiers:
        prices = prices.for_input(i)
    breakdown: dict[str, Decimal] = {}
    total = ZERO
    complete = True

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
    return total, breakdown, complete
