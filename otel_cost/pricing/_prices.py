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

from otel_cost.pricing.types import TokenUsage

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

# Counts above this are not a real call (a corrupt attribute, an overflow): invalid_usage.
MAX_TOKENS = 10**10

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


def check_usage(usage: TokenUsage) -> None:
    """Raise :class:`InvalidUsage` when ``usage`` cannot be a real call."""
    counts = (
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.cache_write_1h_tokens,
        usage.reasoning_tokens,
        usage.input_audio_tokens,
        usage.output_audio_tokens,
        usage.input_image_tokens,
        usage.requests,
    )
    for count in counts:
        if type(count) is not int or count < 0 or count > MAX_TOKENS:
            raise InvalidUsage(f"token count {count!r} is not a count")
    if usage.cache_write_1h_tokens > usage.cache_write_tokens:
        raise InvalidUsage("cache_write_1h_tokens exceed cache_write_tokens")
    if usage.cache_read_tokens + usage.cache_write_tokens > usage.input_tokens:
        raise InvalidUsage("cache reads and writes exceed input_tokens")
    if max(usage.input_audio_tokens, usage.input_image_tokens) > usage.input_tokens:
        raise InvalidUsage("audio/image input tokens exceed input_tokens")
    if max(usage.reasoning_tokens, usage.output_audio_tokens) > usage.output_tokens:
        raise InvalidUsage("reasoning/audio output tokens exceed output_tokens")


def compute_cost(prices: PriceSet, usage: TokenUsage) -> tuple[Decimal, dict[str, Decimal], bool]:
    """``(total, breakdown, complete)`` for ``usage`` (already checked) at ``prices``.

    ``complete`` is False when some tokens had no price at all (the result is ``partial``).
    Components with no tokens are left out of the breakdown.
    """
    if prices.tiers:
        prices = prices.for_input(usage.input_tokens)
    breakdown: dict[str, Decimal] = {}
    complete = True

    rest = usage.input_tokens
    n = usage.cache_read_tokens
    if n and prices.cache_read is not None:
        breakdown["cache_read"] = prices.cache_read * n
        rest -= n
    writes = usage.cache_write_tokens
    if writes:
        n = usage.cache_write_1h_tokens
        if n and prices.cache_write_1h is not None:
            breakdown["cache_write_1h"] = prices.cache_write_1h * n
            rest -= n
            writes -= n
        if writes and prices.cache_write is not None:
            breakdown["cache_write"] = prices.cache_write * writes
            rest -= writes
    n = usage.input_audio_tokens
    if n and prices.input_audio is not None:
        breakdown["input_audio"] = prices.input_audio * n
        rest -= n
    n = usage.input_image_tokens
    if n and prices.input_image is not None:
        breakdown["input_image"] = prices.input_image * n
        rest -= n
    if rest < 0:
        # Audio or image tokens overlapping cache reads: the parts overlap, so the split
        # cannot be known from these counts (genai-prices rejects it the same way).
        raise InvalidUsage("priced input components exceed input_tokens")
    if rest:
        if prices.input is None:
            complete = False
        else:
            breakdown["input"] = prices.input * rest

    rest = usage.output_tokens
    n = usage.reasoning_tokens
    if n and prices.reasoning is not None:
        breakdown["reasoning"] = prices.reasoning * n
        rest -= n
    n = usage.output_audio_tokens
    if n and prices.output_audio is not None:
        breakdown["output_audio"] = prices.output_audio * n
        rest -= n
    if rest < 0:
        raise InvalidUsage("priced output components exceed output_tokens")
    if rest:
        if prices.output is None:
            complete = False
        else:
            breakdown["output"] = prices.output * rest

    if prices.request is not None and usage.requests:
        breakdown["request"] = prices.request * usage.requests

    total = sum(breakdown.values(), Decimal(0))
    return total, breakdown, complete
