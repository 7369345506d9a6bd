"""Resolution of a span's (provider, model) names to a catalog entry, and catalog assembly:
user models, overrides and service-tier rules attached to the entries they concern.

Order of resolution (first hit wins):

1. the alias map (user files and ``load_catalog(aliases=...)``), on the raw name;
2. user models, by id or ``match`` names/globs, under any provider;
3. genai-prices' match clauses under the span's provider (its fallback providers included:
   Azure serves OpenAI models, Vertex serves Anthropic's), for each spelling from
   :func:`model_candidates` (as written, without gateway prefix, Bedrock region/vendor/version,
   date suffix); then, for providers whose ids carry a vendor (Bedrock), the name with each of
   their vendor prefixes, accepted when exactly one entry matches; then the providers of
   :data:`EXTRA_FALLBACKS` (Bedrock's older Anthropic models, at Anthropic's price);
4. with no provider, or a provider name we have no data for: the provider the name implies
   (prefix, or genai-prices' ``model_match`` guess).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from genai_prices import types as gp

from otel_cost.pricing._entries import ALWAYS, Entry, Override, TierRule
from otel_cost.pricing._files import CatalogError, CatalogFile, ModelRule
from otel_cost.pricing._genai import GenaiIndex
from otel_cost.pricing._names import (
    EXTRA_FALLBACKS,
    VENDOR_PREFIXED,
    model_candidates,
    normalise_provider,
    region_and_bare,
)


@dataclass(frozen=True, slots=True)
class Resolved:
    """A span's model found in the catalog."""

    entry: Entry
    provider: str
    """The provider that served the call (normalised span provider, else the entry's)."""
    fallback: bool
    """Found through the provider's fallback list (another provider's entry)."""


def _user_entry(rule: ModelRule) -> Entry:
    entry = Entry(
        id=f"{rule.provider}/{rule.id}",
        provider=rule.provider,
        model=rule.id,
        periods=list(rule.periods),
        currency=rule.currency,
        strict_dates=True,
        name=rule.name,
        source=rule.source,
        checked=rule.checked,
    )
    for tier, (multiplier, prices) in rule.tiers.items():
        if prices:
            entry.overrides.append(Override(constraint=ALWAYS, prices=prices, tier=tier, ref="model"))
        elif multiplier is not None:
            entry.tier_rules.append(
                TierRule(rule.provider, ("*",), tier, multiplier, ALWAYS, f"{rule.id}-{tier}")
            )
    return entry


class Resolver:
    """Finds entries; owns the entries of one catalog (built-in ones and user ones)."""

    def __init__(self, index: GenaiIndex, files: Sequence[CatalogFile], aliases: Mapping[str, str]) -> None:
        self.index = index
        self.aliases = dict(aliases)
        self.user_exact: dict[str, Entry] = {}
        self.user_globs: list[tuple[str, Entry]] = []
        self.user_entries: list[Entry] = []
        for file in files:
            for rule in file.models:
                entry = _user_entry(rule)
                self.user_entries.append(entry)
                for name in rule.names:
                    if any(ch in name for ch in "*?["):
                        self.user_globs.append((name, entry))
                    else:
                        self.user_exact[name] = entry
        changed: set[str] = set()
        for file in files:
            for i, rule in enumerate(file.tier_rules):
                matched = False
                for entry in self._entries_of(rule.provider):
                    if rule.applies(entry.provider, entry.model.lower()):
                        entry.tier_rules.append(rule)
                        changed.add(entry.id)
                        matched = True
                if not matched and not file.builtin:
                    raise CatalogError(file.path, f"service_tiers[{i}]", "matches no model in the catalog")
            for override in file.overrides:
                found = self.resolve(override.provider, override.model)
                if isinstance(found, str) and file.builtin:
                    continue  # our data may name models a replacement data file lacks
                if isinstance(found, str):
                    raise CatalogError(
                        file.path,
                        f"{override.key}.model",
                        f"{found}: {override.model!r} (provider {override.provider!r})",
                    )
                found.entry.overrides.append(
                    Override(override.constraint, override.prices, tier=override.tier, ref=override.id)
                )
                changed.add(found.entry.id)
        for entry in self.all_entries():
            if entry.id in changed or entry in self.user_entries:
                entry.seal()

    def _entries_of(self, provider: str) -> list[Entry]:
        return [e for e in self.all_entries() if e.provider == provider]

    def all_entries(self) -> list[Entry]:
        return [*self.user_entries, *self.index.entries.values()]

    def _user(self, ref: str) -> Entry | None:
        hit = self.user_exact.get(ref)
        if hit is not None:
            return hit
        for pattern, entry in self.user_globs:
            if fnmatchcase(ref, pattern):
                return entry
        return None

    def resolve(self, provider: str | None, model: str) -> Resolved | str:
        """A :class:`Resolved`, or ``unknown_model`` / ``unknown_provider``."""
        pid = normalise_provider(provider)
        name = model.strip()
        seen: set[str] = set()
        while name.lower() in self.aliases and name.lower() not in seen:  # aliases may chain
            seen.add(name.lower())
            name = self.aliases[name.lower()]
        candidates = model_candidates(name)
        for _, ref in candidates:
            user = self._user(ref)
            if user is not None:
                return Resolved(user, pid or user.provider, False)
        if pid is not None:
            gprovider = self.index.provider(pid)
            if gprovider is not None:
                for _, ref in candidates:
                    found = self.index.find(gprovider, ref)
                    if found is not None:
                        return Resolved(found[0], gprovider.id, found[1])
                return self._beyond_own_names(gprovider, name, candidates) or "unknown_model"
        for hint, ref in candidates:
            gprovider = self.index.by_id.get(hint) if hint else self.index.provider_for_model(ref)
            if gprovider is None:
                continue
            found = self.index.find(gprovider, ref)
            if found is not None:
                return Resolved(found[0], pid or gprovider.id, found[1])
        return "unknown_provider" if pid is not None else "unknown_model"

    def _beyond_own_names(
        self, gprovider: gp.Provider, name: str, candidates: list[tuple[str | None, str]]
    ) -> Resolved | None:
        """A model the provider serves under another spelling: its id without the vendor prefix
        (tried with each vendor the provider's ids carry, accepted when exactly one entry
        matches), or a model of a provider in :data:`EXTRA_FALLBACKS`."""
        if gprovider.id in VENDOR_PREFIXED:
            region, bare = region_and_bare(name)
            vendors = self.index.vendors(gprovider.id)
            if bare.partition(".")[0] not in vendors:
                hits: dict[str, tuple[Entry, bool]] = {}
                for vendor in vendors:
                    spellings = (f"{region}{vendor}.{bare}", f"{vendor}.{bare}")
                    for ref in spellings if region else spellings[1:]:
                        found = self.index.find(gprovider, ref)
                        if found is not None:
                            hits[found[0].id] = found
                            break
                if len(hits) == 1:
                    entry, via_fallback = next(iter(hits.values()))
                    return Resolved(entry, gprovider.id, via_fallback)
        for other_id in EXTRA_FALLBACKS.get(gprovider.id, ()):
            other = self.index.by_id.get(other_id)
            if other is None:
                continue
            for _, ref in candidates:
                found = self.index.find(other, ref)
                if found is not None:
                    return Resolved(found[0], gprovider.id, True)
        return None
