"""Shared constants and helpers of the pricing tests (imported by plain name, like the
other test folders' support modules)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

MTOK = Decimal(1_000_000)
# A fixed call time, so results do not drift with today's date: before genai-prices began
# modelling batch/flex/priority variants (2026-10-12/14), after o3's 2025-06-10 price cut.
AT_2025 = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)
# After genai-prices' service-tier variants start (2026-10-14).
AT_2026 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def per_mtok(price: str, tokens: int) -> Decimal:
    """``tokens`` at ``price`` dollars per million tokens."""
    return Decimal(price) * tokens / MTOK
