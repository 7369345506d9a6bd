"""genai-prices data compiled into catalog entries, and its model matching.

genai-prices (MIT-licensed data, pydantic/genai-prices) is the source of model prices. Its
``Provider``/``ModelInfo`` objects are read once here: prices become :class:`Entry` periods and
variants with epoch-nanosecond constraints; the objects are kept only to run genai-prices' own
match clauses the first time a (provider, model) spelling is seen (the catalog caches the answer).
A newer data file (the JSON genai-prices publishes, ``prices/new_data/v2/data.json``) can replace
the bundled data without a release: see :func:`parse_snapshot`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from genai_prices import types as gp

from otel_cost.pricing._entries import ALWAYS, Constraint, Entry, Variant
from otel_cost.pricing._names import entry_vendor
from otel_cost.pricing._prices import PriceValue


def date_ns(day: date) -> int:
    """UTC midnight of ``day`` as epoch nanoseconds."""
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000


def _seconds_of_day(value: time) -> int:
    if value.tzinfo is not None:
        value = datetime.combine(date(1970, 1, 2), value).astimezone(UTC).time()
    return value.hour * 3600 + value.minute * 60 + value.second


def _constraint(raw: gp.StartDateConstraint | gp.TimeOfDateConstraint | None) -> Constraint:
    if raw is None:
        return ALWAYS
    if isinstance(raw, gp.StartDateConstraint):
        return Constraint(start_ns=date_ns(raw.start_date))
    return Constraint(tod_start=_seconds_of_day(raw.start_time), tod_end=_seconds_of_day(raw.end_time))


def _price_mapping(prices: gp.ModelPrice) -> dict[str, PriceValue]:
    out: dict[str, PriceValue] = {}
    for key, value in vars(prices).items():
        if key.startswith("_") or value is None:
            continue
        if isinstance(value, gp.TieredPrices):
            out[key] = (value.base, tuple((tier.start, tier.price) for tier in value.tiers))
        elif isinstance(value, Decimal):
            out[key] = value
    return out


def compile_model(provider: gp.Provider, model: gp.ModelInfo) -> Entry:
    """One genai-prices model as a catalog :class:`Entry`."""
    if isinstance(model.prices, gp.ModelPrice):
        periods: list[tuple[Constraint, Mapping[str, PriceValue]]] = [(ALWAYS, _price_mapping(model.prices))]
    else:
        periods = [(_constraint(c.constraint), _price_mapping(c.prices)) for c in model.prices]
    variants = [
        Variant(
            when=tuple(sorted(v.when.items())),
            constraint=_constraint(v.constraint),
            prices=_price_mapping(v.prices),
        )
        for v in model.price_variants or ()
    ]
    entry = Entry(
        id=f"{provider.id}/{model.id}",
        provider=provider.id,
        model=model.id,
        periods=periods,
        variants=variants,
        name=model.name,
        source=(provider.pricing_urls or [None])[0],
    )
    entry.seal()
    return entry


class GenaiIndex:
    """genai-prices providers with their models compiled to entries."""

    def __init__(self, providers: list[gp.Provider]) -> None:
        self.providers = providers
        self.by_id: dict[str, gp.Provider] = {p.id: p for p in providers}
        self.entries: dict[str, Entry] = {}
        self._by_model: dict[int, Entry] = {}
        self._vendors: dict[str, tuple[str, ...]] = {}
        for provider in providers:
            for model in provider.models:
                entry = compile_model(provider, model)
                self.entries.setdefault(entry.id, entry)
                self._by_model[id(model)] = self.entries[entry.id]

    def provider(self, provider_id: str) -> gp.Provider | None:
        """A provider by id, or by its genai-prices ``provider_match`` clause."""
        found = self.by_id.get(provider_id)
        if found is not None:
            return found
        for provider in self.providers:
            if provider.provider_match is not None and provider.provider_match.is_match(provider_id):
                return provider
        return None

    def vendors(self, provider_id: str) -> tuple[str, ...]:
        """The vendor prefixes of a provider's model ids (Bedrock: ``amazon``, ``meta`` ...), sorted."""
        found = self._vendors.get(provider_id)
        if found is None:
            provider = self.by_id.get(provider_id)
            models = provider.models if provider is not None else []
            found = self._vendors[provider_id] = tuple(
                sorted({v for m in models if (v := entry_vendor(m.id)) is not None})
            )
        return found

    def provider_for_model(self, model_ref: str) -> gp.Provider | None:
        """The provider whose ``model_match`` clause claims ``model_ref`` (genai-prices' guess)."""
        for provider in self.providers:
            if provider.model_match is not None and provider.model_match.is_match(model_ref):
                return provider
        return None

    def find(self, provider: gp.Provider, model_ref: str) -> tuple[Entry, bool] | None:
        """``(entry, via_fallback)`` for ``model_ref`` under ``provider`` (its fallbacks included)."""
        model = provider.find_model(model_ref, all_providers=self.providers)
        if model is None:
            return None
        entry = self._by_model.get(id(model))
        if entry is None:
            return None
        return entry, entry.provider != provider.id


def bundled_providers() -> list[gp.Provider]:
    """The data bundled with the installed genai-prices."""
    from genai_prices.data import providers

    return providers


def parse_snapshot(content: bytes) -> list[gp.Provider]:
    """Providers from the bytes of a genai-prices JSON data file (raises ValueError when invalid)."""
    raw: Any = json.loads(content.decode("utf-8"))
    if not isinstance(raw, list):
        raise ValueError("expected a JSON list of providers (genai-prices data.json)")
    return gp._providers_from_raw(raw)  # pyright: ignore[reportPrivateUsage]
