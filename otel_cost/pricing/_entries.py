"""Catalog entries: one model's prices over time, service tiers and user overrides.

An :class:`Entry` keeps the raw price mappings (catalog keys -> ``PriceValue``) of every period
and variant, and hands out compiled :class:`PriceSet`s. All its date boundaries are sorted epoch
nanoseconds, so the price at a call's time is a ``bisect`` plus a dict hit: the merged, compiled
``PriceSet`` of each (interval, tier) is built on first use and kept.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fnmatch import fnmatchcase

from otel_cost.pricing._prices import PriceSet, PriceValue, compile_prices

NS_PER_S = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_S

# Service tier -> the genai-prices request context that selects its price variant.
TIER_CONTEXT: Mapping[str, tuple[str, str]] = {
    "batch": ("processing", "batch"),
    "flex": ("service_tier", "flex"),
    "priority": ("service_tier", "priority"),
}
STANDARD_TIERS = frozenset({"default", "auto", "standard", "on_demand", "scale"})


@dataclass(frozen=True, slots=True)
class Constraint:
    """When a price applies: from ``start_ns`` (inclusive) until ``end_ns`` (exclusive), and,
    for off-peak prices, between two UTC times of day (seconds, ``tod_start`` may exceed ``tod_end``
    for windows across midnight)."""

    start_ns: int | None = None
    end_ns: int | None = None
    tod_start: int | None = None
    tod_end: int | None = None

    def active(self, at_ns: int) -> bool:
        if self.start_ns is not None and at_ns < self.start_ns:
            return False
        if self.end_ns is not None and at_ns >= self.end_ns:
            return False
        if self.tod_start is not None and self.tod_end is not None:
            second = (at_ns % NS_PER_DAY) // NS_PER_S
            if self.tod_end < self.tod_start:
                return second >= self.tod_start or second < self.tod_end
            return self.tod_start <= second < self.tod_end
        return True


ALWAYS = Constraint()


@dataclass(frozen=True, slots=True)
class Variant:
    """genai-prices ``PriceVariant``: partial prices when the request context matches ``when``."""

    when: tuple[tuple[str, str], ...]
    constraint: Constraint
    prices: Mapping[str, PriceValue]


@dataclass(frozen=True, slots=True)
class Override:
    """A user or otel-cost data-layer price that takes precedence while active.

    ``tier`` None overrides the standard price (keys merged over it); a tier overrides that
    service tier's price and wins over genai-prices' variants."""

    constraint: Constraint
    prices: Mapping[str, PriceValue]
    tier: str | None = None
    ref: str = ""
    """Short id for price_ref (``override:<ref>``)."""


@dataclass(frozen=True, slots=True)
class TierRule:
    """A service tier priced as a multiple of the standard price (e.g. OpenAI batch = 0.5)."""

    provider: str
    models: tuple[str, ...]
    tier: str
    multiplier: Decimal
    constraint: Constraint
    ref: str

    def applies(self, provider: str, model: str) -> bool:
        return provider == self.provider and any(fnmatchcase(model, pattern) for pattern in self.models)


def scale(prices: Mapping[str, PriceValue], multiplier: Decimal) -> dict[str, PriceValue]:
    """Every price of ``prices`` times ``multiplier`` (tiers included)."""
    scaled: dict[str, PriceValue] = {}
    for key, value in prices.items():
        if isinstance(value, tuple):
            scaled[key] = (value[0] * multiplier, tuple((t, p * multiplier) for t, p in value[1]))
        else:
            scaled[key] = value * multiplier
    return scaled


@dataclass(slots=True)
class Entry:
    """One model of one provider in the catalog."""

    id: str
    """``<provider>/<model>``, the first half of every ``price_ref``."""
    provider: str
    model: str
    periods: list[tuple[Constraint, Mapping[str, PriceValue]]]
    """Standard prices; the last active one applies, the first when none is active (genai-prices)."""
    variants: list[Variant] = field(default_factory=list[Variant])
    overrides: list[Override] = field(default_factory=list[Override])
    tier_rules: list[TierRule] = field(default_factory=list[TierRule])
    currency: str = "USD"
    strict_dates: bool = False
    """No price outside every period (user models), instead of genai-prices' "the first one"."""
    name: str | None = None
    source: str | None = None
    checked: str | None = None
    _bounds: list[int] = field(default_factory=list[int])
    _time_of_day: bool = False
    _day_points: tuple[int, ...] = ()
    _cache: dict[tuple[int, str | None, bool, tuple[bool, ...]], tuple[PriceSet | None, str]] = field(
        default_factory=dict[tuple[int, str | None, bool, tuple[bool, ...]], tuple[PriceSet | None, str]]
    )

    def seal(self) -> None:
        """Index the date boundaries; call after the last change to periods/variants/overrides."""
        constraints = [c for c, _ in self.periods]
        constraints += [v.constraint for v in self.variants]
        constraints += [o.constraint for o in self.overrides]
        constraints += [r.constraint for r in self.tier_rules]
        bounds: set[int] = set()
        points: set[int] = set()
        for c in constraints:
            if c.start_ns is not None:
                bounds.add(c.start_ns)
            if c.end_ns is not None:
                bounds.add(c.end_ns)
            if c.tod_start is not None and c.tod_end is not None:
                self._time_of_day = True
                points.update((c.tod_start * NS_PER_S, c.tod_end * NS_PER_S))
        self._bounds = sorted(bounds)
        self._day_points = tuple(sorted(points))
        self._cache.clear()

    def prices(self, at_ns: int, tier: str | None, fallback: bool = False) -> tuple[PriceSet | None, str]:
        """The compiled prices at ``at_ns`` for service ``tier`` and a ref suffix naming what
        made them (``""``, ``+override:x``, ``+batch:rule``). None: no price for that tier/date.

        ``fallback``: the model was reached through another provider's fallback list, so this
        entry's own service-tier variants do not apply (genai-prices does the same)."""
        key_tod: tuple[bool, ...] = ()
        if self._time_of_day:
            key_tod = tuple(c.active(at_ns) for c, _ in self.periods) + tuple(
                v.constraint.active(at_ns) for v in self.variants
            )
        key = (bisect_right(self._bounds, at_ns), tier, fallback, key_tod)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._build(at_ns, tier, fallback)
            self._cache[key] = hit
        return hit

    def interval(self, at_ns: int) -> tuple[int, int]:
        """``[lo, hi)`` around ``at_ns`` in which this entry's prices (for every tier) stay the
        same: between two date boundaries, and between two time-of-day boundaries (off-peak)."""
        bounds = self._bounds
        idx = bisect_right(bounds, at_ns)
        lo = bounds[idx - 1] if idx else -(2**63)
        hi = bounds[idx] if idx < len(bounds) else 2**63
        if self._time_of_day:
            day = at_ns - at_ns % NS_PER_DAY
            for point in self._day_points:
                for moment in (day - NS_PER_DAY + point, day + point, day + NS_PER_DAY + point):
                    if moment <= at_ns:
                        lo = max(lo, moment)
                    else:
                        hi = min(hi, moment)
        return lo, hi

    def _build(self, at_ns: int, tier: str | None, fallback: bool) -> tuple[PriceSet | None, str]:
        merged = dict(self._standard(at_ns))
        ref = ""
        for override in reversed(self.overrides):
            if override.tier is None and override.constraint.active(at_ns):
                merged.update(override.prices)
                ref = f"+override:{override.ref}"
                break
        if tier is not None:
            tiered = self._tiered(merged, at_ns, tier, fallback)
            if tiered is None:
                return None, ref
            merged, tier_ref = tiered
            ref += tier_ref
        if not merged:
            return None, ref
        compiled = compile_prices(merged)
        return (None if compiled.empty else compiled), ref

    def _standard(self, at_ns: int) -> Mapping[str, PriceValue]:
        if not self.periods:
            return {}
        for constraint, prices in reversed(self.periods):
            if constraint.active(at_ns):
                return prices
        return {} if self.strict_dates else self.periods[0][1]

    def _tiered(
        self, standard: dict[str, PriceValue], at_ns: int, tier: str, fallback: bool
    ) -> tuple[dict[str, PriceValue], str] | None:
        for override in reversed(self.overrides):
            if override.tier == tier and override.constraint.active(at_ns):
                return {**standard, **override.prices}, f"+{tier}:override:{override.ref}"
        context = TIER_CONTEXT.get(tier)
        if context is not None and not fallback:
            found: dict[str, PriceValue] = {}
            matched = False
            for variant in self.variants:
                if variant.when == (context,) and variant.constraint.active(at_ns):
                    matched = True
                    for key, value in variant.prices.items():
                        found.setdefault(key, value)
            if matched:
                return {**standard, **found}, f"+{tier}"
        for rule in self.tier_rules:
            if rule.tier == tier and rule.constraint.active(at_ns):
                return scale(standard, rule.multiplier), f"+{tier}:{rule.ref}"
        return None
