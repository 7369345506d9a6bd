"""Google Gemini prices: the >200k long-context tier, cache reads, audio input, batch."""

from __future__ import annotations

from decimal import Decimal

from price_support import AT_2025, per_mtok

from otel_cost.pricing import PriceCatalog, TokenUsage

# Source: https://ai.google.dev/gemini-api/docs/pricing, checked 2026-11.
# gemini-2.5-pro: input $1.25 (<=200k prompt) / $2.50 (>200k); output $10 / $15;
# context caching $0.125 / $0.25 per MTok. gemini-2.5-flash: input $0.30 text, $1.00 audio;
# output $2.50.


def test_gemini_pro_under_200k(catalog: PriceCatalog) -> None:
    # 100,000 in (20,000 cached), 5,000 out:
    # 80000*1.25 = 100000; 20000*0.125 = 2500; 5000*10 = 50000 -> 152500/1e6 = 0.1525
    usage = TokenUsage(input_tokens=100_000, output_tokens=5_000, cache_read_tokens=20_000)
    result = catalog.price_tokens("gemini-2.5-pro", usage, provider="gcp.gemini", at=AT_2025)
    assert result.amount == Decimal("0.1525")


def test_gemini_pro_over_200k_whole_request_at_higher_price(catalog: PriceCatalog) -> None:
    # 300,000 in (50,000 cached), 10,000 out; the prompt exceeds 200k so every token is at the
    # long-context price: 250000*2.50 = 625000; 50000*0.25 = 12500; 10000*15 = 150000
    # -> 787500/1e6 = 0.7875
    usage = TokenUsage(input_tokens=300_000, output_tokens=10_000, cache_read_tokens=50_000)
    result = catalog.price_tokens("gemini-2.5-pro", usage, provider="gcp.vertex_ai", at=AT_2025)
    assert result.breakdown == {
        "input": per_mtok("2.50", 250_000),
        "cache_read": per_mtok("0.25", 50_000),
        "output": per_mtok("15", 10_000),
    }
    assert result.amount == Decimal("0.7875")


def test_gemini_pro_tier_boundary(catalog: PriceCatalog) -> None:
    # 200,000 in is "<= 200k": $1.25 -> 0.25; 200,001 in is over: 200001 * 2.50 / 1e6 = 0.5000025
    at_limit = catalog.price_tokens(
        "gemini-2.5-pro", TokenUsage(input_tokens=200_000), provider="gemini", at=AT_2025
    )
    over = catalog.price_tokens(
        "gemini-2.5-pro", TokenUsage(input_tokens=200_001), provider="gemini", at=AT_2025
    )
    assert at_limit.amount == Decimal("0.25")
    assert over.amount == Decimal("0.5000025")


def test_gemini_flash_audio_input_own_price(catalog: PriceCatalog) -> None:
    # 10,000 in of which 4,000 audio; 1,000 out:
    # text 6000*0.30 = 1800; audio 4000*1.00 = 4000; out 1000*2.50 = 2500 -> 8300/1e6 = 0.0083
    usage = TokenUsage(input_tokens=10_000, output_tokens=1_000, input_audio_tokens=4_000)
    result = catalog.price_tokens("gemini-2.5-flash", usage, provider="google", at=AT_2025)
    assert result.breakdown == {
        "input": Decimal("0.0018"),
        "input_audio": Decimal("0.004"),
        "output": Decimal("0.0025"),
    }
    assert result.amount == Decimal("0.0083")


def test_gemini_batch_half(catalog: PriceCatalog) -> None:
    # Batch Mode: 50% of standard (ai.google.dev/gemini-api/docs/batch-mode).
    # gemini-2.5-flash 100,000 in, 10,000 out: (100000*0.30 + 10000*2.50)/2 = 55000/2 /1e6 = 0.0275
    usage = TokenUsage(input_tokens=100_000, output_tokens=10_000)
    result = catalog.price_tokens(
        "gemini-2.5-flash", usage, provider="google", at=AT_2025, service_tier="batch"
    )
    assert result.amount == Decimal("0.0275")


def test_vertex_model_id_with_version(catalog: PriceCatalog) -> None:
    # Vertex AI names the Anthropic snapshot "claude-sonnet-4-5@20250929": Anthropic's price on
    # Vertex is the same $3 in / $15 out. 1,000 in + 1,000 out = 0.003 + 0.015 = 0.018
    usage = TokenUsage(input_tokens=1_000, output_tokens=1_000)
    result = catalog.price_tokens("claude-sonnet-4-5@20250929", usage, provider="vertex_ai", at=AT_2025)
    assert result.provider == "google"
    assert result.amount == Decimal("0.018")
