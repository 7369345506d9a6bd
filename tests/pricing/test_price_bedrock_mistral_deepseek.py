"""AWS Bedrock model ids, Mistral and DeepSeek prices (incl. DeepSeek's off-peak hours)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from price_support import AT_2025, UTC

from otel_cost.pricing import PriceCatalog, TokenUsage, load_catalog
from otel_cost.pricing.catalog import GENAI_PRICES_DATA_ENV

# Bedrock: https://aws.amazon.com/bedrock/pricing/ (Anthropic, Amazon tables), checked 2026-11.


def test_bedrock_model_id_with_version(catalog: PriceCatalog) -> None:
    # anthropic.claude-3-5-sonnet-20241022-v2:0 on Bedrock: $3 in, $0.30 cache read, $15 out /MTok.
    # 10,000 in (6,000 cached), 1,000 out: 4000*3 + 6000*0.3 + 1000*15 = 12000+1800+15000 = 0.0288
    usage = TokenUsage(input_tokens=10_000, output_tokens=1_000, cache_read_tokens=6_000)
    for model in (
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
        "eu.anthropic.claude-3-5-sonnet-20241022-v2:0",
        "apac.anthropic.claude-3-5-sonnet-20241022-v2:0",
    ):
        result = catalog.price_tokens(model, usage, provider="aws.bedrock", at=AT_2025)
        assert result.provider == "aws", model
        assert result.amount == Decimal("0.0288"), model


def test_bedrock_global_vs_regional_profile(catalog: PriceCatalog) -> None:
    # Claude Sonnet 4.5 on Bedrock: global cross-region inference $3 in / $15 out; regional and
    # geographic (us./eu.) endpoints carry a 10% premium: $3.30 / $16.50 /MTok.
    # 1,000,000 in + 100,000 out: global 3 + 1.5 = 4.5; regional 3.3 + 1.65 = 4.95
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=100_000)
    global_ = catalog.price_tokens(
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0", usage, provider="aws.bedrock", at=AT_2025
    )
    regional = catalog.price_tokens(
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0", usage, provider="aws.bedrock", at=AT_2025
    )
    assert global_.amount == Decimal("4.5")
    assert regional.amount == Decimal("4.95")


def test_bedrock_nova(catalog: PriceCatalog) -> None:
    # amazon.nova-pro-v1:0: $0.80 in, $3.20 out /MTok. 5,000 in = 0.004; 1,000 out = 0.0032
    usage = TokenUsage(input_tokens=5_000, output_tokens=1_000)
    result = catalog.price_tokens("us.amazon.nova-pro-v1:0", usage, provider="aws.bedrock", at=AT_2025)
    assert result.amount == Decimal("0.0072")


def test_mistral_large(catalog: PriceCatalog) -> None:
    # mistral-large-latest (Mistral Large 24.11): $2 in, $6 out /MTok (mistral.ai/pricing#api-pricing).
    # 3,000 in = 0.006; 1,000 out = 0.006 -> 0.012
    usage = TokenUsage(input_tokens=3_000, output_tokens=1_000)
    for provider in ("mistral_ai", "mistralai"):
        result = catalog.price_tokens("mistral-large-latest", usage, provider=provider, at=AT_2025)
        assert result.provider == "mistral"
        assert result.amount == Decimal("0.012")


def test_mistral_small_price_change(catalog: PriceCatalog) -> None:
    # mistral-small-latest: $0.10 in / $0.30 out until 2026-03-16, then Mistral Small 4 at
    # $0.15 / $0.60 (mistral.ai/pricing). 1,000,000 in + 1,000,000 out:
    # before 0.10 + 0.30 = 0.40; after 0.15 + 0.60 = 0.75
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
    before = catalog.price_tokens(
        "mistral-small-latest", usage, provider="mistral_ai", at=datetime(2026, 3, 15, 23, tzinfo=UTC)
    )
    after = catalog.price_tokens(
        "mistral-small-latest", usage, provider="mistral_ai", at=datetime(2026, 3, 16, 1, tzinfo=UTC)
    )
    assert before.amount == Decimal("0.40")
    assert after.amount == Decimal("0.75")


def test_deepseek_cache_hit_and_off_peak(catalog: PriceCatalog) -> None:
    # deepseek-chat (V3): $0.27 cache miss, $0.07 cache hit, $1.10 out /MTok in standard hours
    # (00:30-16:30 UTC); 50% off in off-peak hours (16:30-00:30 UTC): $0.135 / $0.035 / $0.55
    # (api-docs.deepseek.com/quick_start/pricing, 2025). 1,000,000 in (400,000 hits), 100,000 out:
    # standard: 600000*0.27 + 400000*0.07 + 100000*1.10 = 162000 + 28000 + 110000 -> 0.30
    # off-peak: half -> 0.15
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=100_000, cache_read_tokens=400_000)
    day = catalog.price_tokens(
        "deepseek-chat", usage, provider="deepseek", at=datetime(2025, 3, 1, 12, tzinfo=UTC)
    )
    night = catalog.price_tokens(
        "deepseek-chat", usage, provider="deepseek", at=datetime(2025, 3, 1, 20, tzinfo=UTC)
    )
    assert day.amount == Decimal("0.30")
    assert night.amount == Decimal("0.15")


def test_deepseek_reasoner_reasoning_in_output(catalog: PriceCatalog) -> None:
    # deepseek-reasoner (R1), standard hours: $0.55 in, $2.19 out /MTok; its chain of thought
    # is part of output tokens. 10,000 in = 0.0055; 20,000 out (15,000 reasoning) = 0.0438
    usage = TokenUsage(input_tokens=10_000, output_tokens=20_000, reasoning_tokens=15_000)
    result = catalog.price_tokens(
        "deepseek-reasoner", usage, provider="deepseek", at=datetime(2025, 3, 1, 12, tzinfo=UTC)
    )
    assert result.amount == Decimal("0.0493")


def test_deepseek_off_peak_boundaries_with_warm_cache(catalog: PriceCatalog) -> None:
    # Same usage as above (standard 0.30, off-peak 0.15), priced back and forth across the
    # 16:30 and 00:30 UTC boundaries, so a cached price is never reused outside its window.
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=100_000, cache_read_tokens=400_000)
    expected = [
        (datetime(2025, 3, 1, 16, 29, 59, tzinfo=UTC), Decimal("0.30")),
        (datetime(2025, 3, 1, 16, 30, 0, tzinfo=UTC), Decimal("0.15")),
        (datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC), Decimal("0.30")),
        (datetime(2025, 3, 2, 0, 29, 59, tzinfo=UTC), Decimal("0.15")),
        (datetime(2025, 3, 2, 0, 30, 0, tzinfo=UTC), Decimal("0.30")),
        (datetime(2025, 3, 1, 23, 0, 0, tzinfo=UTC), Decimal("0.15")),
    ]
    for _ in range(2):
        for at, amount in expected:
            assert (
                catalog.price_tokens("deepseek-chat", usage, provider="deepseek", at=at).amount == amount
            ), at


def test_bedrock_ids_without_vendor_prefix(catalog: PriceCatalog) -> None:
    """OpenLLMetry's Bedrock instrumentation strips the vendor and region (``nova-lite-v1:0``):
    each known Bedrock vendor is tried and a unique match accepted.

    aws.amazon.com/bedrock/pricing: Nova Lite $0.06 in / $0.24 out, Nova Micro $0.035 / $0.14,
    Llama 3 70B Instruct $2.65 / $3.50, DeepSeek-R1 $1.35 / $5.40 per 1M tokens.
    1,000 in + 100 out: Nova Lite 0.00006 + 0.000024 = 0.000084; Nova Micro 0.000035 + 0.000014
    = 0.000049; Llama 3 70B 0.00265 + 0.00035 = 0.003; DeepSeek-R1 0.00135 + 0.00054 = 0.00189."""
    usage = TokenUsage(input_tokens=1_000, output_tokens=100)
    for model, amount, entry in (
        ("nova-lite-v1:0", "0.000084", "aws/amazon.nova-lite-v1:0"),
        ("us.nova-lite-v1:0", "0.000084", "aws/amazon.nova-lite-v1:0"),
        ("nova-micro-v1:0", "0.000049", "aws/amazon.nova-micro-v1:0"),
        ("llama3-70b-instruct-v1:0", "0.003", "aws/meta.llama3-70b-instruct-v1:0"),
        ("r1-v1:0", "0.00189", "aws/deepseek.r1-v1:0"),
    ):
        result = catalog.price_tokens(model, usage, provider="aws.bedrock", at=AT_2025)
        assert result.status == "priced", model
        assert result.provider == "aws", model
        assert result.amount == Decimal(amount), model
        assert (result.price_ref or "").startswith(entry + "@"), model


def test_bedrock_id_without_vendor_that_matches_nothing_stays_unknown(catalog: PriceCatalog) -> None:
    usage = TokenUsage(input_tokens=1_000, output_tokens=100)
    for model in ("made-up-v1:0", "command-r-plus-v1:0"):
        result = catalog.price_tokens(model, usage, provider="aws.bedrock", at=AT_2025)
        assert (result.status, result.reason) == ("unpriced", "unknown_model"), model


def test_bedrock_claude_2_at_anthropic_list_price(catalog: PriceCatalog) -> None:
    """docs/pricing.md: Bedrock's older Anthropic models are priced as Anthropic lists them.
    Claude 2.x: $8 in / $24 out per 1M tokens on both aws.amazon.com/bedrock/pricing and
    Anthropic's list. 1,000 in + 100 out = 0.008 + 0.0024 = 0.0104."""
    usage = TokenUsage(input_tokens=1_000, output_tokens=100)
    for model in ("claude-v2", "claude-v2:1", "anthropic.claude-v2:1", "us.anthropic.claude-v2:1"):
        result = catalog.price_tokens(model, usage, provider="aws.bedrock", at=AT_2025)
        assert result.status == "priced", model
        assert result.provider == "aws", model
        assert result.amount == Decimal("0.0104"), model


def test_bedrock_id_without_vendor_matching_two_vendors_is_not_guessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two vendors serving a model of one name: ``model-x-v1:0`` could be either, so it stays
    unknown; each full id is priced as its own entry. (A replacement genai-prices data file,
    the JSON genai-prices publishes, holding just these two entries.)"""

    def model(vendor: str, price: str) -> dict[str, object]:
        return {
            "id": f"{vendor}.model-x-v1:0",
            "match": {"contains": f"{vendor}.model-x"},
            "prices": {"input_mtok": price, "output_mtok": price},
        }

    data = [
        {
            "id": "aws",
            "name": "Bedrock",
            "api_pattern": "bedrock",
            "models": [model("acme", "1"), model("zeta", "2")],
        }
    ]
    (tmp_path / "data.json").write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setenv(GENAI_PRICES_DATA_ENV, str(tmp_path / "data.json"))
    catalog = load_catalog()
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=0)
    assert catalog.price_tokens("model-x-v1:0", usage, provider="aws.bedrock").reason == "unknown_model"
    assert catalog.price_tokens("acme.model-x-v1:0", usage, provider="aws.bedrock").amount == Decimal(1)
    assert catalog.price_tokens("zeta.model-x-v1:0", usage, provider="aws.bedrock").amount == Decimal(2)
