"""The warm path: resolution and price lookup happen once per (provider, model, tier)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from price_support import UTC

from otel_cost.pricing import TokenUsage, load_catalog
from otel_cost.pricing._genai import GenaiIndex

USAGE = TokenUsage(input_tokens=1000, output_tokens=100)


def test_resolution_runs_once_per_spelling(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = load_catalog()
    calls: list[str] = []
    real_find = GenaiIndex.find

    def counting_find(self: GenaiIndex, provider: object, model_ref: str) -> object:
        calls.append(model_ref)
        return real_find(self, provider, model_ref)  # type: ignore[arg-type]

    monkeypatch.setattr(GenaiIndex, "find", counting_find)
    at = datetime(2025, 9, 1, tzinfo=UTC)
    first = catalog.price_tokens("gpt-4o-2024-08-06", USAGE, provider="openai", at=at)
    resolved_with = len(calls)
    for _ in range(100):
        again = catalog.price_tokens("gpt-4o-2024-08-06", USAGE, provider="openai", at=at)
        assert again == first
    assert resolved_with >= 1
    assert len(calls) == resolved_with  # warm calls never ran genai-prices' matching again
    # A later call in another price window re-looks up the price, not the name.
    catalog.price_tokens("o3", USAGE, provider="openai", at=datetime(2025, 6, 1, tzinfo=UTC))
    n = len(calls)
    later = catalog.price_tokens("o3", USAGE, provider="openai", at=datetime(2025, 7, 1, tzinfo=UTC))
    assert len(calls) == n
    # o3 after its 2025-06-10 cut: $2 in, $8 out per MTok (openai.com/api/pricing):
    # 1000*2/1e6 + 100*8/1e6 = 0.0028
    assert later.amount == Decimal("0.0028")
