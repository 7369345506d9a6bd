"""``PriceCatalog``: model and API prices, and the cost of one call.

A catalog is built once (:func:`load_catalog`, :func:`default_catalog`) from genai-prices' data,
otel-cost's own data layer (``otel_cost/pricing/data/*.yaml``: service tiers genai-prices lacks)
and the user's catalog files. Pricing a call is then a cached name resolution, a cached price
lookup and a few Decimal multiplications; it never raises for bad input: what cannot be priced
is an ``unpriced`` :class:`CostResult` with a reason.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from pathlib import Path
from threading import Lock
from typing import cast

from genai_prices import __version__ as genai_prices_version

from otel_cost.pricing._entries import STANDARD_TIERS, Entry
from otel_cost.pricing._files import ApiRule, CatalogError, CatalogFile, DiscountRule, read_file
from otel_cost.pricing._genai import GenaiIndex, bundled_providers, parse_snapshot
from otel_cost.pricing._names import normalise_provider
from otel_cost.pricing._prices import InvalidUsage
from otel_cost.pricing._resolve import Resolved, Resolver
from otel_cost.pricing._result import Slot, discounted, fast_cost, fast_price
from otel_cost.pricing.types import CostResult, TokenUsage, local_result, unpriced

__all__ = ("CatalogError", "PriceCatalog", "default_catalog", "load_catalog")

_logger = logging.getLogger(__name__)

GENAI_PRICES_DATA_ENV = "OTEL_COST_GENAI_PRICES_DATA"
"""Path of a genai-prices ``data.json`` replacing the bundled model prices (refresh without a release)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RESOLVE_CACHE_MAX = 8192


def to_ns(at: datetime | int | None) -> int:
    """A call's time as epoch nanoseconds (int: already ns; naive datetime: UTC; None: now)."""
    if at is None:
        return time.time_ns()
    if isinstance(at, int):
        return at
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


class PriceCatalog:
    """Prices of models and paid APIs; :meth:`price_tokens` and :meth:`price_http` cost a call."""

    def __init__(
        self,
        index: GenaiIndex,
        files: Sequence[CatalogFile],
        *,
        version: str,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.version: str = version
        """Catalog version: genai-prices version + hash of the data and user files; in every price_ref."""
        self.files = tuple(files)
        alias_map: dict[str, str] = {}
        for file in files:
            alias_map.update(file.aliases)
        alias_map.update({k.strip().lower(): v for k, v in (aliases or {}).items()})
        self._resolver = Resolver(index, files, alias_map)
        self._discounts: list[DiscountRule] = [d for f in files for d in f.discounts]
        self._entry_discounts: dict[tuple[str, str], tuple[DiscountRule, ...]] = {}
        self._apis: list[ApiRule] = [a for f in files for a in f.apis]
        self._api_cache: dict[tuple[str, str, str], tuple[ApiRule, ...]] = {}
        self._api_plans: dict[str, tuple[str, tuple[tuple[DiscountRule, str], ...]]] = {}
        self._resolved: dict[tuple[str | None, str], Resolved | str] = {}
        self._slots: dict[tuple[str | None, str | None, str | None], Slot] = {}
        self._lock = Lock()

    # -- models ---------------------------------------------------------------------------

    def resolve(self, model: str, provider: str | None = None) -> Resolved | str:
        """The catalog entry for a span's (provider, model), or the unpriced reason
        (``unknown_model``/``unknown_provider``). Cached: a warm call is a dict hit."""
        key = (provider, model)
        hit = self._resolved.get(key)
        if hit is None:
            hit = self._resolver.resolve(provider, model)
            with self._lock:
                if len(self._resolved) >= _RESOLVE_CACHE_MAX:
                    self._resolved.clear()
                self._resolved[key] = hit
        return hit

    def entries(self) -> list[Entry]:
        """Every model entry (built-in and user), for listing and validation."""
        return self._resolver.all_entries()

    def price_tokens(
        self,
        model: str | None,
        usage: TokenUsage | None,
        *,
        provider: str | None = None,
        at: datetime | int | None = None,
        service_tier: str | None = None,
        attribution: Mapping[str, str] | None = None,
    ) -> CostResult:
        """The cost of one model call. Never raises: bad or unknown input is ``unpriced`` with a
        reason (``unknown_model``, ``unknown_provider``, ``no_usage``, ``invalid_usage``, ``no_price``).

        ``usage`` is in the semconv convention (input includes cache reads/writes, output
        includes reasoning); ``at`` is the call's time (int: epoch ns); ``service_tier`` is
        ``batch``, ``flex``, ``priority`` or ``default``/None; ``attribution`` selects
        negotiated discounts (e.g. ``{"project": "search"}``)."""
        try:
            at_ns = at if type(at) is int else to_ns(at)
            if fast_price is not None:
                result = fast_price(self._slots, provider, model, service_tier, at_ns, usage)
                if result is not None:
                    return result
            slot = self._slots.get((provider, model, service_tier))
            if slot is None or not slot.lo <= at_ns < slot.hi:
                found = self._slot(model, provider, at_ns, service_tier)
                if type(found) is str:
                    return unpriced(found, provider=normalise_provider(provider), model=model)
                slot = cast(Slot, found)
            if usage is None:
                return unpriced("no_usage", provider=slot.provider, model=slot.model)
            result = fast_cost(slot.fast, usage) if fast_cost is not None else None
            if result is None:
                try:
                    result = slot.cost(usage)
                except (InvalidUsage, AttributeError, TypeError):  # not a TokenUsage: also invalid
                    return unpriced("invalid_usage", provider=slot.provider, model=slot.model)
                if result is None:
                    return unpriced("no_usage", provider=slot.provider, model=slot.model)
            if slot.discounts:
                for rule in slot.discounts:
                    if rule.constraint.active(at_ns) and _attribution_matches(rule.when, attribution):
                        price_ref = f"{slot.ref}+discount:{rule.id}@{self.version}"
                        return discounted(result, rule.multiplier, price_ref)
            return result
        except Exception:  # a pricing bug must never break the host application
            _logger.exception("otel-cost: pricing %r (provider %r) failed", model, provider)
            return unpriced("internal_error", provider=provider, model=model)

    def _slot(
        self, model: str | None, provider: str | None, at_ns: int, service_tier: str | None
    ) -> Slot | str:
        """Resolve and look up prices (the slow path); cache the slot when it can be reused."""
        if not model or not isinstance(model, str):
            return "unknown_model"
        resolved = self.resolve(model, provider)
        if isinstance(resolved, str):
            return resolved
        entry = resolved.entry
        tier = service_tier.lower() if service_tier is not None else None
        if tier in STANDARD_TIERS:
            tier = None
        prices, suffix = entry.prices(at_ns, tier, resolved.fallback)
        if prices is None:
            return "no_price"
        discounts = self._discounts_for(entry, resolved.provider)
        lo, hi = entry.interval(at_ns)
        slot = Slot(
            lo,
            hi,
            prices,
            entry.currency,
            entry.id + suffix,
            resolved.provider,
            entry.model,
            discounts,
            self.version,
        )
        with self._lock:
            if len(self._slots) >= _RESOLVE_CACHE_MAX:
                self._slots.clear()
            self._slots[(provider, model, service_tier)] = slot
        return slot

    def _discounts_for(self, entry: Entry, served_by: str) -> tuple[DiscountRule, ...]:
        """Discount rules for a model: its provider is the entry's or the serving one (a
        contract with Azure covers the OpenAI models Azure serves)."""
        key = (entry.id, served_by)
        found = self._entry_discounts.get(key)
        if found is None:
            found = tuple(
                rule
                for rule in self._discounts
                if rule.api is None
                and (
                    rule.provider is None or normalise_provider(rule.provider) in (entry.provider, served_by)
                )
                and (rule.model is None or fnmatchcase(entry.model.lower(), rule.model))
            )
            self._entry_discounts[key] = found
        return found

    # -- HTTP APIs ------------------------------------------------------------------------

    def price_http(
        self,
        *,
        host: str,
        method: str,
        path: str,
        at: datetime | int | None = None,
        units: int | None = None,
        attribution: Mapping[str, str] | None = None,
    ) -> CostResult | None:
        """The cost of one call to a paid HTTP API, or None when no catalog rule matches the
        request (it is not a paid API). A per-unit rule with ``units`` None is ``unpriced``
        with reason ``missing_units``. Never raises."""
        try:
            return self._price_http(host, method, path, at, units, attribution)
        except Exception:
            _logger.exception("otel-cost: pricing HTTP %s %s%s failed", method, host, path)
            return unpriced("internal_error", provider=host)

    def _price_http(  # noqa: PLR0917 - hot path, positional on purpose
        self,
        host: str,
        method: str,
        path: str,
        at: datetime | int | None,
        units: int | None,
        attribution: Mapping[str, str] | None,
    ) -> CostResult | None:
        if not self._apis:
            return None
        key = (host, method, path)
        rules = self._api_cache.get(key)
        if rules is None:
            rules = self._match_apis(host, method, path)
            with self._lock:
                if len(self._api_cache) >= _RESOLVE_CACHE_MAX:
                    self._api_cache.clear()
                self._api_cache[key] = rules
        if not rules:
            return None
        at_ns = at if type(at) is int else to_ns(at)
        rule = next((r for r in rules if r.constraint.active(at_ns)), None)
        if rule is None:
            return unpriced("no_price", provider=host, model=rules[0].id)
        if rule.kind == "unit":
            if units is None:
                return unpriced("missing_units", provider=host, model=rule.id)
            if type(units) is not int or units < 0:
                return unpriced("invalid_usage", provider=host, model=rule.id)
            component, amount = "unit", rule.price * units
        else:
            component, amount = "call", rule.price
        base_ref, discounts = self._api_plan(rule.id)
        for discount, ref in discounts:
            if discount.constraint.active(at_ns) and _attribution_matches(discount.when, attribution):
                amount *= discount.multiplier
                base_ref = ref
                break
        return local_result(
            "priced", None, amount, rule.currency, {component: amount}, base_ref, host, rule.id
        )

    def _api_plan(self, api_id: str) -> tuple[str, tuple[tuple[DiscountRule, str], ...]]:
        """An API rule's price_ref, and the discounts that may apply to it with theirs (cached)."""
        plan = self._api_plans.get(api_id)
        if plan is None:
            discounts = tuple(
                (d, f"api/{api_id}+discount:{d.id}@{self.version}")
                for d in self._discounts
                if d.api is not None and fnmatchcase(api_id, d.api)
            )
            plan = self._api_plans[api_id] = (f"api/{api_id}@{self.version}", discounts)
        return plan

    def _match_apis(self, host: str, method: str, path: str) -> tuple[ApiRule, ...]:
        host = host.lower().split(":", 1)[0]
        method = method.upper()
        path = path.split("?", 1)[0] or "/"
        return tuple(
            rule
            for rule in self._apis
            if fnmatchcase(host, rule.host) and rule.method in ("*", method) and fnmatchcase(path, rule.path)
        )


def _attribution_matches(when: tuple[tuple[str, str], ...], attribution: Mapping[str, str] | None) -> bool:
    if not when:
        return True
    if not attribution:
        return False
    return all(attribution.get(k) == v for k, v in when)


def _data_files() -> list[Path]:
    folder = resources.files("otel_cost.pricing").joinpath("data")
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_catalog(
    paths: Sequence[str | Path] = (),
    *,
    include_defaults: bool = True,
    aliases: Mapping[str, str] | None = None,
) -> PriceCatalog:
    """A catalog of the built-in prices (unless ``include_defaults`` is False) and the catalog
    files at ``paths``, later files winning. Raises :class:`CatalogError` (a ``ValueError``)
    naming the file, key and reason when a file is unreadable or invalid."""
    files = [read_file(p, builtin=True) for p in _data_files()] if include_defaults else []
    files += [read_file(p) for p in paths]
    # The version hashes the very bytes parsed (each file is read once): a file rewritten while
    # loading can never give a version naming prices other than the ones loaded.
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.content)
    snapshot: Path | None = None
    snapshot_from = GENAI_PRICES_DATA_ENV
    for file in files:
        if file.genai_prices_data is not None:
            snapshot, snapshot_from = file.genai_prices_data, file.path
    env_path = os.environ.get(GENAI_PRICES_DATA_ENV)
    if snapshot is None and env_path:
        snapshot = Path(env_path)
    if not include_defaults:
        providers = []
    elif snapshot is not None:
        try:
            content = snapshot.read_bytes()
            providers = parse_snapshot(content)
            digest.update(content)
        except (OSError, ValueError) as exc:
            raise CatalogError(snapshot_from, "genai_prices_data", f"cannot load {snapshot}: {exc}") from exc
    else:
        providers = bundled_providers()
    version = f"gp{genai_prices_version}-{digest.hexdigest()[:12]}"
    return PriceCatalog(GenaiIndex(providers), files, version=version, aliases=aliases)


@cache
def default_catalog() -> PriceCatalog:
    """The catalog of embedded defaults (genai-prices + otel-cost data), built once and cached."""
    return load_catalog()
