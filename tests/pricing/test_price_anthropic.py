"""Anthropic prices: cache reads, 5-minute and 1-hour cache writes, the >200k tier, batch."""

from __future__ import annotations

from decimal import Decimal

from price_support import AT_2025, AT_2026, per_mtok

from otel_cost.pricing import PriceCatalog, TokenUsage

# Source: https://www.anthropic.com/pricing#api and
# https://docs.anthropic.com/en/docs/about-claude/pricing (model table, prompt caching,
# long context, batch), checked 2026-11. Cache writes: 5-minute = 1.25x input, 1-hour = 2x
# input; cache reads = 0.1x input.


def test_sonnet_cache_read_and_both_write_ttls(catalog: PriceCatalog) -> None:
    # claude-sonnet-4-5: $3 input, $0.30 cache read, $3.75 5m write, $6 1h write, $15 output /MTok.
    # input 20,000 = 2,000 uncached + 10,000 read + 8,000 written (3,000 of them 1h).
    # 2000*3 = 6000; 10000*0.30 = 3000; 5000*3.75 = 18750; 3000*6 = 18000; 1000 out *15 = 15000
    # sum 60750 / 1e6 = 0.06075
    usage = TokenUsage(
        input_tokens=20_000,
        output_tokens=1_000,
        cache_read_tokens=10_000,
        cache_write_tokens=8_000,
        cache_write_1h_tokens=3_000,
    )
    result = catalog.price_tokens("claude-sonnet-4-5", usage, provider="anthropic", at=AT_2025)
    assert result.breakdown == {
        "input": per_mtok("3", 2_000),
        "cache_read": per_mtok("0.30", 10_000),
        "cache_write": per_mtok("3.75", 5_000),
        "cache_write_1h": per_mtok("6", 3_000),
        "output": per_mtok("15", 1_000),
    }
    assert result.amount == Decimal("0.06075")


def test_sonnet_long_context_tier_applies_to_whole_request(catalog: PriceCatalog) -> None:
    # Sonnet 4.5 prompts over 200k input tokens: $6 input, $0.60 read, $7.50 5m write,
    # $12 1h write, $22.50 output /MTok, for ALL tokens of the request.
    # input 250,000 = 100,000 uncached + 100,000 read + 50,000 written (20,000 1h); output 2,000
    # 100000*6 = 600000; 100000*0.6 = 60000; 30000*7.5 = 225000; 20000*12 = 240000; 2000*22.5 = 45000
    # sum 1170000 / 1e6 = 1.17
    usage = TokenUsage(
        input_tokens=250_000,
        output_tokens=2_000,
        cache_read_tokens=100_000,
        cache_write_tokens=50_000,
        cache_write_1h_tokens=20_000,
    )
    result = catalog.price_tokens("claude-sonnet-4-5", usage, provider="anthropic", at=AT_2025)
    assert result.amount == Decimal("1.17")


def test_sonnet_at_200k_stays_in_base_tier(catalog: PriceCatalog) -> None:
    # Exactly 200,000 input tokens does not exceed 200k: base $3 in, $15 out.
    # 200000*3 = 0.6; 1000*15 = 0.015 -> 0.615
    usage = TokenUsage(input_tokens=200_000, output_tokens=1_000)
    result = catalog.price_tokens("claude-sonnet-4-5", usage, provider="anthropic", at=AT_2025)
    assert result.amount == Decimal("0.615")


def test_opus_4_1_one_hour_cache(catalog: PriceCatalog) -> None:
    # claude-opus-4-1: $15 in, $1.50 read, $18.75 5m write, $30 1h write, $75 out /MTok.
    # input 5,000 all written with 1h TTL; output 200: 5000*30 = 150000; 200*75 = 15000 -> 0.165
    usage = TokenUsage(
        input_tokens=5_000, output_tokens=200, cache_write_tokens=5_000, cache_write_1h_tokens=5_000
    )
    result = catalog.price_tokens("claude-opus-4-1-20250805", usage, provider="anthropic", at=AT_2025)
    assert result.model == "claude-opus-4-1"
    assert result.breakdown == {"cache_write_1h": Decimal("0.15"), "output": Decimal("0.015")}
    assert result.amount == Decimal("0.165")


def test_haiku_3_5_dated_id(catalog: PriceCatalog) -> None:
    # claude-3-5-haiku-20241022: $0.80 in, $4 out /MTok. 10,000 in = 0.008; 2,000 out = 0.008
    usage = TokenUsage(input_tokens=10_000, output_tokens=2_000)
    result = catalog.price_tokens("claude-3-5-haiku-20241022", usage, provider="anthropic", at=AT_2025)
    assert result.amount == Decimal("0.016")


def test_thinking_tokens_inside_output(catalog: PriceCatalog) -> None:
    # claude-3-7-sonnet-20250219: $3 in, $15 out /MTok; extended thinking bills as output and
    # is part of output_tokens (1,500 of 2,000). 1,000 in = 0.003; 2,000 out = 0.03 -> 0.033
    usage = TokenUsage(input_tokens=1_000, output_tokens=2_000, reasoning_tokens=1_500)
    result = catalog.price_tokens("claude-3-7-sonnet-20250219", usage, provider="anthropic", at=AT_2025)
    assert result.amount == Decimal("0.033")


def test_batch_is_half_including_cache(catalog: PriceCatalog) -> None:
    # Message Batches: 50% of standard, cache prices too. claude-haiku-4-5 standard $1 in,
    # $0.10 read, $1.25 5m write, $5 out -> batch $0.50, $0.05, $0.625, $2.50 /MTok.
    # input 10,000 = 4,000 + 4,000 read + 2,000 written; output 1,000:
    # 4000*0.5 = 2000; 4000*0.05 = 200; 2000*0.625 = 1250; 1000*2.5 = 2500 -> 5950/1e6 = 0.00595
    usage = TokenUsage(
        input_tokens=10_000, output_tokens=1_000, cache_read_tokens=4_000, cache_write_tokens=2_000
    )
    for at in (AT_2025, AT_2026):  # our 50% rule in 2025, genai-prices' batch variant in 2026
        result = catalog.price_tokens(
            "claude-haiku-4-5", usage, provider="anthropic", at=at, service_tier="batch"
        )
        assert result.amount == Decimal("0.00595"), at
