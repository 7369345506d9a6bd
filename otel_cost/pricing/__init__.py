"""Pricing: the catalog (genai-prices compiled into a fast index, otel-cost's data layer, user
catalog files), model resolution and the Decimal cost of one call. See docs/pricing.md."""

from __future__ import annotations

from otel_cost.pricing.catalog import CatalogError, PriceCatalog, default_catalog, load_catalog
from otel_cost.pricing.types import CostResult, TokenUsage, unpriced

__all__ = (
    "CatalogError",
    "CostResult",
    "PriceCatalog",
    "TokenUsage",
    "default_catalog",
    "load_catalog",
    "unpriced",
)
