"""What cannot be priced is ``unpriced`` with a reason, never a silent $0, and never an exception."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import pytest
from price_support import AT_2025

from otel_cost.pricing import PriceCatalog, TokenUsage

USAGE = TokenUsage(input_tokens=1000, output_tokens=100)


def test_unknown_model_is_unpriced_not_zero(catalog: PriceCatalog) -> None:
    result = catalog.price_tokens("acme-secret-model-9", USAGE, provider="openai", at=AT_2025)
    assert result.status == "unpriced"
    assert result.reason == "unknown_model"
    assert not result.priced
    assert result.breakdown == {}
    assert result.price_ref is None
    assert result.model == "acme-secret-model-9"


def test_unknown_model_without_provider(catalog: PriceCatalog) -> None:
    result = catalog.price_tokens("acme-secret-model-9", USAGE, at=AT_2025)
    assert (result.status, result.reason) == ("unpriced", "unknown_model")


def test_missing_model_name(catalog: PriceCatalog) -> None:
    for model in (None, ""):
        result = catalog.price_tokens(model, USAGE, provider="openai", at=AT_2025)
        assert (result.status, result.reason) == ("unpriced", "unknown_model")


def test_unknown_provider_with_unknown_model(catalog: PriceCatalog) -> None:
    result = catalog.price_tokens("granite-3-8b-instruct-x", USAGE, provider="ibm.watsonx.ai", at=AT_2025)
    assert (result.status, result.reason) == ("unpriced", "unknown_provider")
    assert result.provider == "ibm.watsonx.ai"


def test_unmapped_provider_with_a_known_model_still_prices(catalog: PriceCatalog) -> None:
    # A gateway we have no mapping for, serving gpt-4o: priced at gpt-4o's list price
    # ($2.50 in, $10 out /MTok): 1000*2.5/1e6 + 100*10/1e6 = 0.0025 + 0.001 = 0.0035
    result = catalog.price_tokens("gpt-4o", USAGE, provider="acme-gateway", at=AT_2025)
    assert result.amount == Decimal("0.0035")


def test_no_usage(catalog: PriceCatalog) -> None:
    none = catalog.price_tokens("gpt-4o", None, provider="openai", at=AT_2025)
    zero = catalog.price_tokens("gpt-4o", TokenUsage(), provider="openai", at=AT_2025)
    assert (none.status, none.reason) == ("unpriced", "no_usage")
    assert (zero.status, zero.reason) == ("unpriced", "no_usage")


@pytest.mark.parametrize(
    "usage",
    [
        TokenUsage(input_tokens=-1, output_tokens=10),
        TokenUsage(input_tokens=10, output_tokens=-5),
        TokenUsage(input_tokens=100, output_tokens=10, cache_read_tokens=101),
        TokenUsage(input_tokens=100, output_tokens=10, cache_read_tokens=60, cache_write_tokens=60),
        TokenUsage(input_tokens=100, output_tokens=10, cache_write_tokens=5, cache_write_1h_tokens=6),
        TokenUsage(input_tokens=100, output_tokens=10, reasoning_tokens=11),
        TokenUsage(input_tokens=10**12, output_tokens=10),
        TokenUsage(input_tokens=cast(Any, 10.5), output_tokens=10),
        TokenUsage(input_tokens=cast(Any, "100"), output_tokens=10),
    ],
)
def test_invalid_usage(catalog: PriceCatalog, usage: TokenUsage) -> None:
    result = catalog.price_tokens("gpt-4o", usage, provider="openai", at=AT_2025)
    assert (result.status, result.reason) == ("unpriced", "invalid_usage")


def test_never_raises_on_garbage(catalog: PriceCatalog) -> None:
    garbage: list[Any] = [123, b"gpt-4o", object()]
    for model in garbage:
        result = catalog.price_tokens(model, USAGE, provider="openai", at=AT_2025)
        assert (result.status, result.reason) == ("unpriced", "unknown_model")
    weird_usage = cast(Any, {"input_tokens": 5})
    result = catalog.price_tokens("gpt-4o", weird_usage, provider="openai")
    assert (result.status, result.reason) == ("unpriced", "invalid_usage")
    bad_time = catalog.price_tokens("gpt-4o", USAGE, provider="openai", at=cast(Any, "yesterday"))
    assert (bad_time.status, bad_time.reason) == ("unpriced", "internal_error")


def test_model_known_but_not_yet_priced(catalog: PriceCatalog) -> None:
    # A service tier the model has no price for at that date: no_price, not the standard price.
    result = catalog.price_tokens("gpt-4o", USAGE, provider="openai", at=AT_2025, service_tier="flex")
    assert (result.status, result.reason) == ("unpriced", "no_price")


def test_per_request_fee(catalog: PriceCatalog) -> None:
    # Perplexity sonar: $1 in, $1 out /MTok plus a request fee of $12 per 1,000 requests (high
    # search context; docs.perplexity.ai/getting-started/pricing, checked 2026-11).
    # 1000*1/1e6 + 100*1/1e6 + 12/1000 = 0.001 + 0.0001 + 0.012 = 0.0131
    result = catalog.price_tokens("sonar", USAGE, provider="perplexity", at=AT_2025)
    assert result.breakdown["request"] == Decimal("0.012")
    assert result.amount == Decimal("0.0131")
