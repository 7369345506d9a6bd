"""Human- and JSON-readable views of catalog entries (``otel-cost catalog show``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from otel_cost.pricing._entries import TIER_CONTEXT
from otel_cost.pricing._names import normalise_provider
from otel_cost.pricing._prices import PRICE_KEYS, PriceSet
from otel_cost.pricing._resolve import Resolved
from otel_cost.pricing.catalog import PriceCatalog


def _per_unit(prices: PriceSet) -> dict[str, str]:
    """Prices per catalog unit (per million tokens, per thousand requests), tiers spelled out."""
    out: dict[str, str] = {}
    for key, (component, per) in PRICE_KEYS.items():
        value: Decimal | None = getattr(prices, component)
        if value is None:
            continue
        text = f"{(value * per).normalize():f}"
        # The tiers where this component's price changes; a tier priced at 0 is shown (a free
        # tier is a price), one with no price for it is not.
        tiers: list[tuple[int, Decimal]] = []
        last = value
        for t, p in prices.tiers:
            price = getattr(p, component)
            if price is not None and price != last:
                tiers.append((t, price))
                last = price
        if tiers:
            text += " (" + ", ".join(f"input>{t}: {(p * per).normalize():f}" for t, p in tiers) + ")"
        out[key] = text
    return out


def describe_model(catalog: PriceCatalog, model: str, provider: str | None, at_ns: int) -> dict[str, Any]:
    """How ``model`` (under ``provider``) resolves, and its prices at ``at_ns`` per service tier."""
    resolved = catalog.resolve(model, provider)
    if not isinstance(resolved, Resolved):
        return {"model": model, "provider": normalise_provider(provider), "reason": resolved}
    entry = resolved.entry
    prices: dict[str, dict[str, str] | None] = {}
    for tier in ("standard", *TIER_CONTEXT):
        found, suffix = entry.prices(at_ns, None if tier == "standard" else tier, resolved.fallback)
        prices[tier] = None if found is None else {**_per_unit(found), "ref": entry.id + suffix}
    return {
        "model": model,
        "entry": entry.id,
        "provider": resolved.provider,
        "name": entry.name,
        "currency": entry.currency,
        "source": entry.source,
        "checked": entry.checked,
        "prices": prices,
        "catalog_version": catalog.version,
    }
