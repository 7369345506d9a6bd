"""OpenAI (and Azure OpenAI) prices: cache reads, reasoning, snapshots, tiers, date changes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from price_support import AT_2025, AT_2026, UTC, per_mtok

from otel_cost.pricing import PriceCatalog, TokenUsage

# Source of the OpenAI figures below: https://openai.com/api/pricing and
# https://platform.openai.com/docs/pricing (Standard, Batch, Flex, Priority columns), checked 2026-11.


def test_gpt_4o_plain(catalog: PriceCatalog) -> None:
    # gpt-4o: $2.50/MTok input, $10.00/MTok output.
    # 1,000 in: 1000 * 2.50 / 1e6 = 0.0025; 500 out: 500 * 10 / 1e6 = 0.005; total 0.0075
    result = catalog.price_tokens(
        "gpt-4o", TokenUsage(input_tokens=1000, output_tokens=500), provider="openai", at=AT_2025
    )
    assert result.status == "priced"
    assert result.amount == Decimal("0.0075")
    assert result.breakdown == {"input": Decimal("0.0025"), "output": Decimal("0.005")}
    assert result.currency == "USD"
    assert result.provider == "openai"
    assert result.model == "gpt-4o"
    assert result.price_ref == f"openai/gpt-4o@{catalog.version}"


def test_gpt_4o_cache_read_billed_once(catalog: PriceCatalog) -> None:
    # gpt-4o: $2.50/MTok input, $1.25/MTok cached input, $10/MTok output.
    # input_tokens 1,200 INCLUDES 1,000 cached (semconv/OpenAI usage): uncached 200.
    # 200 * 2.50/1e6 = 0.0005; 1000 * 1.25/1e6 = 0.00125; 300 * 10/1e6 = 0.003 -> 0.00475
    usage = TokenUsage(input_tokens=1200, output_tokens=300, cache_read_tokens=1000)
    result = catalog.price_tokens("gpt-4o", usage, provider="openai", at=AT_2025)
    assert result.breakdown == {
        "input": per_mtok("2.50", 200),
        "cache_read": per_mtok("1.25", 1000),
        "output": per_mtok("10", 300),
    }
    assert result.amount == Decimal("0.00475")


def test_gpt_4o_mini_cached(catalog: PriceCatalog) -> None:
    # gpt-4o-mini: $0.15/MTok input, $0.075/MTok cached, $0.60/MTok output.
    # 10,000 in of which 4,096 cached: 5,904 * 0.15 + 4,096 * 0.075 = 885.6 + 307.2 = 1192.8 (/1e6)
    # 1,000 out * 0.60 = 600 (/1e6); total 1792.8 / 1e6 = 0.0017928
    usage = TokenUsage(input_tokens=10_000, output_tokens=1_000, cache_read_tokens=4_096)
    result = catalog.price_tokens("gpt-4o-mini", usage, provider="openai", at=AT_2025)
    assert result.amount == Decimal("0.0017928")


def test_dated_snapshot_prices_as_model(catalog: PriceCatalog) -> None:
    # gpt-4o-2024-08-06 is the gpt-4o snapshot: $2.50/MTok in, $10/MTok out.
    # 2,000 in = 0.005; 1,000 out = 0.01 -> 0.015
    result = catalog.price_tokens(
        "gpt-4o-2024-08-06", TokenUsage(input_tokens=2000, output_tokens=1000), provider="openai", at=AT_2025
    )
    assert result.model == "gpt-4o"
    assert result.amount == Decimal("0.015")


def test_provider_prefix_without_provider(catalog: PriceCatalog) -> None:
    # "openai/gpt-4o-mini" (gateway spelling) = gpt-4o-mini: $0.15 in, $0.60 out per MTok.
    # 1,000,000 in = 0.15; 1,000,000 out = 0.60 -> 0.75
    result = catalog.price_tokens(
        "openai/gpt-4o-mini", TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000), at=AT_2025
    )
    assert result.provider == "openai"
    assert result.amount == Decimal("0.75")


def test_reasoning_tokens_are_output(catalog: PriceCatalog) -> None:
    # o4-mini: $1.10/MTok input, $4.40/MTok output; reasoning tokens are billed as output
    # tokens and are INSIDE output_tokens (3,000 of 4,000): never billed twice.
    # 1,000 in = 0.0011; 4,000 out = 0.0176 -> 0.0187
    usage = TokenUsage(input_tokens=1000, output_tokens=4000, reasoning_tokens=3000)
    result = catalog.price_tokens("o4-mini", usage, provider="openai", at=AT_2025)
    assert result.breakdown == {"input": Decimal("0.0011"), "output": Decimal("0.0176")}
    assert result.amount == Decimal("0.0187")


def test_price_change_on_a_date(catalog: PriceCatalog) -> None:
    # o3 was cut on 2025-06-10 from $10/$40 to $2/$8 per MTok (input/output)
    # (OpenAI, "o3 price reduced by 80%", 2025-06-10). 1,000 in + 1,000 out:
    # before: 1000*10/1e6 + 1000*40/1e6 = 0.05; after: 1000*2/1e6 + 1000*8/1e6 = 0.01
    usage = TokenUsage(input_tokens=1000, output_tokens=1000)
    before = catalog.price_tokens("o3", usage, provider="openai", at=datetime(2025, 6, 9, 23, 59, tzinfo=UTC))
    after = catalog.price_tokens("o3", usage, provider="openai", at=datetime(2025, 6, 10, 0, 0, tzinfo=UTC))
    assert before.amount == Decimal("0.05")
    assert after.amount == Decimal("0.01")
    # The same time as epoch nanoseconds (span timestamps) prices the same.
    at_ns = int(datetime(2025, 6, 9, 12, tzinfo=UTC).timestamp()) * 1_000_000_000
    assert catalog.price_tokens("o3", usage, provider="openai", at=at_ns).amount == Decimal("0.05")


def test_batch_before_genai_variants_uses_otel_cost_rule(catalog: PriceCatalog) -> None:
    # Batch API = 50% of standard (platform.openai.com/docs/guides/batch), our data layer rule
    # (genai-prices models OpenAI batch only from 2026-10-14). gpt-4o standard $2.50/$1.25/$10:
    # batch $1.25 in, $0.625 cached, $5 out. 1,200 in (1,000 cached), 300 out:
    # 200*1.25 + 1000*0.625 + 300*5 = 250 + 625 + 1500 = 2375 (/1e6) = 0.002375
    usage = TokenUsage(input_tokens=1200, output_tokens=300, cache_read_tokens=1000)
    result = catalog.price_tokens("gpt-4o", usage, provider="openai", at=AT_2025, service_tier="batch")
    assert result.amount == Decimal("0.002375")
    assert result.price_ref is not None
    assert result.price_ref.startswith("openai/gpt-4o+batch:service_tiers#0@")


def test_batch_with_genai_variant(catalog: PriceCatalog) -> None:
    # From 2026-10-14 genai-prices carries OpenAI's batch column for gpt-4o: $1.25 in, $5 out,
    # no batch cached-input price (cached input stays at the standard $1.25).
    # 200*1.25 + 1000*1.25 + 300*5 = 250 + 1250 + 1500 = 3000 (/1e6) = 0.003
    usage = TokenUsage(input_tokens=1200, output_tokens=300, cache_read_tokens=1000)
    result = catalog.price_tokens("gpt-4o", usage, provider="openai", at=AT_2026, service_tier="batch")
    assert result.amount == Decimal("0.003")
    assert result.price_ref == f"openai/gpt-4o+batch@{catalog.version}"


def test_priority_tier(catalog: PriceCatalog) -> None:
    # gpt-4o Priority: $4.25/MTok in, $2.125 cached, $17/MTok out.
    # 1,000 in (none cached) = 0.00425; 1,000 out = 0.017 -> 0.02125
    usage = TokenUsage(input_tokens=1000, output_tokens=1000)
    result = catalog.price_tokens("gpt-4o", usage, provider="openai", at=AT_2026, service_tier="priority")
    assert result.amount == Decimal("0.02125")


def test_flex_tier_from_otel_cost_data(catalog: PriceCatalog) -> None:
    # o3 Flex (2025): $1.00/MTok in, $0.25 cached, $4.00 out (our data layer, until genai-prices'
    # own flex variant of 2026-10-12). 10,000 in (2,000 cached), 5,000 out:
    # 8000*1 + 2000*0.25 + 5000*4 = 8000 + 500 + 20000 = 28500 (/1e6) = 0.0285
    usage = TokenUsage(input_tokens=10_000, output_tokens=5_000, cache_read_tokens=2_000)
    result = catalog.price_tokens("o3", usage, provider="openai", at=AT_2025, service_tier="flex")
    assert result.amount == Decimal("0.0285")


def test_default_tier_is_standard(catalog: PriceCatalog) -> None:
    # "default" (and "auto") are the standard price: gpt-4o 1,000 in + 1,000 out = 0.0025 + 0.01
    usage = TokenUsage(input_tokens=1000, output_tokens=1000)
    for tier in ("default", "auto", None):
        result = catalog.price_tokens("gpt-4o", usage, provider="openai", at=AT_2026, service_tier=tier)
        assert result.amount == Decimal("0.0125")


def test_tier_without_price_is_unpriced(catalog: PriceCatalog) -> None:
    # o1 has no Priority price anywhere: no guess, no standard fallback.
    usage = TokenUsage(input_tokens=1000, output_tokens=1000)
    result = catalog.price_tokens("o1", usage, provider="openai", at=AT_2026, service_tier="priority")
    assert result.status == "unpriced"
    assert result.reason == "no_price"
    assert result.amount == 0


def test_azure_openai_uses_openai_prices(catalog: PriceCatalog) -> None:
    # Azure OpenAI global deployments bill OpenAI's list prices: gpt-4o-mini $0.15/$0.60 per MTok.
    # gen_ai.system "az.ai.openai" (older semconv). 2,000 in = 0.0003; 500 out = 0.0003 -> 0.0006
    usage = TokenUsage(input_tokens=2000, output_tokens=500)
    for name in ("az.ai.openai", "azure.ai.openai"):
        result = catalog.price_tokens("gpt-4o-mini", usage, provider=name, at=AT_2025)
        assert result.provider == "azure"
        assert result.amount == Decimal("0.0006")


def test_embeddings_input_only(catalog: PriceCatalog) -> None:
    # text-embedding-3-small: $0.02/MTok. 50,000 tokens = 0.001
    result = catalog.price_tokens(
        "text-embedding-3-small", TokenUsage(input_tokens=50_000), provider="openai", at=AT_2025
    )
    assert result.status == "priced"
    assert result.amount == Decimal("0.001")


def test_output_without_price_is_partial(catalog: PriceCatalog) -> None:
    # An embedding model has no output price; 10 output tokens cannot be priced, so the call
    # is "partial" and the amount covers the input only: 50,000 * 0.02 / 1e6 = 0.001
    result = catalog.price_tokens(
        "text-embedding-3-small",
        TokenUsage(input_tokens=50_000, output_tokens=10),
        provider="openai",
        at=AT_2025,
    )
    assert result.status == "partial"
    assert result.reason == "no_price_component"
    assert result.amount == Decimal("0.001")
