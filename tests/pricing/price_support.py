"""Shared constants and helpers of the pricing tests (imported by plain name, like the
other test folders' support modules)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from otel_cost.pricing import CostResult, TokenUsage

MTOK = Decimal(1_000_000)
# A fixed call time, so results do not drift with today's date: before genai-prices began
# modelling batch/flex/priority variants (2026-10-12/14), after o3's 2025-06-10 price cut.
AT_2025 = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)
# After genai-prices' service-tier variants start (2026-10-14).
AT_2026 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def per_mtok(price: str, tokens: int) -> Decimal:
    """``tokens`` at ``price`` dollars per million tokens."""
    return Decimal(price) * tokens / MTOK


# The shapes the hot path's shortcuts see (input, output, cache reads, reasoning, requests).
COMMON_SHAPES: tuple[TokenUsage, ...] = (
    TokenUsage(input_tokens=1_200, output_tokens=350),
    TokenUsage(input_tokens=12_000, output_tokens=800, cache_read_tokens=9_000),
    TokenUsage(input_tokens=3_000, output_tokens=6_000, reasoning_tokens=5_000),
    TokenUsage(input_tokens=260_000, output_tokens=4_000, cache_read_tokens=100_000),
    TokenUsage(input_tokens=5_000, output_tokens=0, cache_read_tokens=5_000),
    TokenUsage(input_tokens=0, output_tokens=7),
    TokenUsage(input_tokens=40, output_tokens=9, requests=3),
)

# Long context (over every 200k/272k tier), cache reads and both write TTLs, reasoning.
EVERY_TOKEN_KIND = TokenUsage(
    input_tokens=300_000,
    output_tokens=5_000,
    cache_read_tokens=100_000,
    cache_write_tokens=20_000,
    cache_write_1h_tokens=5_000,
    reasoning_tokens=2_000,
)


def exact(result: CostResult | None) -> tuple[Any, ...] | None:
    """Everything of a result, amounts as strings (so 0.0030 and 0.003 differ), the breakdown
    in its order; None for None."""
    if result is None:
        return None
    assert type(result) is CostResult
    return (
        result.status,
        str(result.amount),
        [(k, str(v)) for k, v in result.breakdown.items()],
        result.reason,
        result.price_ref,
        result.provider,
        result.model,
        result.currency,
        result.source,
    )
