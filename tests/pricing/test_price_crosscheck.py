"""Cross-check against genai-prices' own ``calc_price`` over every model it knows.

Our catalog compiles genai-prices' data into its own index and computes with its own code; for
the same model, usage, time and service tier the two must agree to the last digit, except where
we deliberately differ (docs/pricing.md, "Where we differ from genai-prices"):

* a service tier genai-prices has no variant for: it prices the standard rate, we price our
  data layer's rule (e.g. OpenAI batch = 50%) or answer ``no_price``;
* usage a model has no price for: genai-prices counts it as $0, we mark the call ``partial``
  (the amount is the same) or ``unpriced`` when nothing at all has a price.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price
from genai_prices.data import providers
from price_support import EVERY_TOKEN_KIND, UTC

from otel_cost.pricing import PriceCatalog, TokenUsage
from otel_cost.pricing._entries import TIER_CONTEXT

SHAPES: list[TokenUsage] = [
    TokenUsage(input_tokens=1_000, output_tokens=200),
    EVERY_TOKEN_KIND,
    TokenUsage(input_tokens=8_000, output_tokens=1_000, input_audio_tokens=3_000, output_audio_tokens=400),
]
TIMES = [datetime(2025, 3, 1, 12, tzinfo=UTC), datetime(2026, 11, 2, 20, tzinfo=UTC)]


def genai_usage(usage: TokenUsage) -> Usage:
    values = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cache_write_1h_tokens": usage.cache_write_1h_tokens,
        "output_reasoning_tokens": usage.reasoning_tokens,
        "input_audio_tokens": usage.input_audio_tokens,
        "output_audio_tokens": usage.output_audio_tokens,
    }
    return Usage(**{k: v for k, v in values.items() if v})


def _has_active_variant(provider_id: str, model_id: str, at: datetime, tier: str) -> bool:
    provider = next(p for p in providers if p.id == provider_id)
    model = next(m for m in provider.models if m.id == model_id)
    key, value = TIER_CONTEXT[tier]
    return any(
        v.when == {key: value} and (v.constraint is None or v.constraint.active(at))
        for v in model.price_variants or ()
    )


def test_agrees_with_genai_prices_calc_price(catalog: PriceCatalog) -> None:
    compared = 0
    mismatches: list[str] = []
    for provider in providers:
        for model in provider.models:
            for at in TIMES:
                for tier in (None, "batch", "flex", "priority"):
                    if tier is not None and not _has_active_variant(provider.id, model.id, at, tier):
                        continue
                    context = None if tier is None else dict([TIER_CONTEXT[tier]])
                    for usage in SHAPES:
                        try:
                            expected = calc_price(
                                genai_usage(usage),
                                model.id,
                                provider_id=provider.id,
                                genai_request_timestamp=at,
                                price_context=context,
                            ).total_price
                        except (ValueError, LookupError):
                            continue  # genai-prices rejects this usage/model combination
                        ours = catalog.price_tokens(
                            model.id, usage, provider=provider.id, at=at, service_tier=tier
                        )
                        if not ours.priced:
                            if expected != 0:
                                mismatches.append(f"{provider.id}/{model.id} {tier} {at:%Y}: {ours.reason}")
                            continue
                        compared += 1
                        if ours.amount != expected:
                            where = f"{provider.id}/{model.id} {tier} {at:%Y} {usage}"
                            mismatches.append(f"{where}: {ours.amount} != {expected}")
    assert not mismatches, "\n".join(mismatches[:40]) + f"\n({len(mismatches)} in all)"
    assert compared > 5_000


@pytest.mark.parametrize(
    ("model", "provider"),
    [("gpt-4o", "openai"), ("claude-sonnet-4-5", "anthropic"), ("gemini-2.5-pro", "google")],
)
def test_breakdown_sums_to_amount(catalog: PriceCatalog, model: str, provider: str) -> None:
    result = catalog.price_tokens(model, SHAPES[1], provider=provider, at=TIMES[0])
    assert result.status == "priced"
    assert sum(result.breakdown.values(), Decimal(0)) == result.amount
