"""The warm path: resolution and price lookup happen once per (provider, model, tier)."""

from __future__ import annotations

import statistics
import time
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
    # o3 after its 2025-06-10 cut: $2 in, $8 out per MTok: 1000*2/1e6 + 100*8/1e6 = 0.0028
    assert later.amount == Decimal("0.0028")


def test_warm_call_is_fast() -> None:
    """A coarse regression guard (the benchmark measures properly): a warm call must stay far
    below genai-prices' ~50 us even on a loaded CI machine."""
    catalog = load_catalog()
    at = 1_756_728_000_000_000_000
    catalog.price_tokens("claude-sonnet-4-5", USAGE, provider="anthropic", at=at)
    samples = []
    for _ in range(7):
        start = time.perf_counter_ns()
        for _ in range(2000):
            catalog.price_tokens("claude-sonnet-4-5", USAGE, provider="anthropic", at=at)
        samples.append((time.perf_counter_ns() - start) / 2000 / 1000)
    assert statistics.median(samples) < 20, samples
