"""Catalog files (YAML, validated by ``catalog.schema.json``) read into plain rules.

Every error names the file, the key path inside it (``models[0].prices.input_mtok``) and the
reason, so a bad price never fails silently or far from where it was written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

import jsonschema
import jsonschema.exceptions
import yaml

from otel_cost.pricing._entries import ALWAYS, Constraint, TierRule
from otel_cost.pricing._genai import date_ns
from otel_cost.pricing._prices import PRICE_KEYS, PriceValue


class CatalogError(ValueError):
    """A catalog file cannot be used; the message names the file, the key and the reason."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        super().__init__(f"{file}: {key or '<root>'}: {reason}")
        self.file = file
        self.key = key
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ModelRule:
    id: str
    provider: str
    names: tuple[str, ...]
    periods: tuple[tuple[Constraint, Mapping[str, PriceValue]], ...]
    tiers: Mapping[str, tuple[Decimal | None, Mapping[str, PriceValue]]]
    currency: str
    name: str | None
    source: str | None
    checked: str | None
    key: str


@dataclass(frozen=True, slots=True)
class OverrideRule:
    id: str
    provider: str | None
    model: str
    tier: str | None
    constraint: Constraint
    prices: Mapping[str, PriceValue]
    key: str


@dataclass(frozen=True, slots=True)
class DiscountRule:
    id: str
    provider: str | None
    model: str | None
    api: str | None
    multiplier: Decimal
    when: tuple[tuple[str, str], ...]
    constraint: Constraint


@dataclass(frozen=True, slots=True)
class ApiRule:
    id: str
    host: str
    method: str
    path: str
    kind: str
    """``call`` (per call, ``per_1000`` folded in) or ``unit``."""
    price: Decimal
    """Per call or per unit."""
    unit: str | None
    currency: str
    constraint: Constraint
    source: str | None


@dataclass(slots=True)
class CatalogFile:
    path: str
    aliases: dict[str, str] = field(default_factory=dict[str, str])
    models: list[ModelRule] = field(default_factory=list[ModelRule])
    overrides: list[OverrideRule] = field(default_factory=list[OverrideRule])
    discounts: list[DiscountRule] = field(default_factory=list[DiscountRule])
    tier_rules: list[TierRule] = field(default_factory=list[TierRule])
    apis: list[ApiRule] = field(default_factory=list[ApiRule])
    genai_prices_data: Path | None = None
    builtin: bool = False
    """otel-cost's own data layer (rules that match nothing are fine: the data may be newer)."""
    content: bytes = b""
    """The bytes that were parsed: the catalog version hashes these, never a second read."""


class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: dates stay the strings the author wrote, so a bad
    date is reported with its key like any other bad value."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}


@cache
def schema() -> dict[str, Any]:
    """The JSON schema of catalog files (shipped as ``otel_cost/pricing/catalog.schema.json``)."""
    text = resources.files("otel_cost.pricing").joinpath("catalog.schema.json").read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))


def _plain(value: Any) -> Any:
    """Mapping keys as strings (YAML allows ``1:``), so the schema sees JSON-like data."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in cast(dict[Any, Any], value).items()}
    if isinstance(value, list):
        return [_plain(v) for v in cast(list[Any], value)]
    return value


def _key_path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_file(path: str | Path, *, builtin: bool = False) -> CatalogFile:
    """Read and validate one catalog file; raises :class:`CatalogError`."""
    name = str(path)
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise CatalogError(name, "", f"cannot read: {exc.strerror or exc}") from exc
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(name, "", f"not UTF-8: {exc}") from exc
    try:
        raw = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise CatalogError(name, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    data = _plain(raw if raw is not None else {})
    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise CatalogError(name, _key_path(error.absolute_path), error.message)
    result = _Reader(name, Path(path)).read(cast(dict[str, Any], data))
    result.builtin = builtin
    result.content = content
    return result


def _decimal(value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:  # pragma: no cover - the schema admits only numbers
        raise ValueError(f"not a decimal: {value!r}") from exc
    if not number.is_finite() or number < 0:
        raise ValueError(f"not a non-negative decimal: {value!r}")
    return number


class _Reader:
    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path

    def fail(self, key: str, reason: str) -> CatalogError:
        return CatalogError(self.name, key, reason)

    def constraint(self, item: Mapping[str, Any], key: str) -> Constraint:
        start = item.get("effective_from")
        end = item.get("effective_until")
        try:
            start_ns = date_ns(date.fromisoformat(start)) if start else None
            end_ns = date_ns(date.fromisoformat(end)) if end else None
        except ValueError as exc:
            raise self.fail(key, f"bad date: {exc}") from exc
        if start_ns is not None and end_ns is not None and end_ns <= start_ns:
            raise self.fail(f"{key}.effective_until", "must be after effective_from")
        if start_ns is None and end_ns is None:
            return ALWAYS
        return Constraint(start_ns=start_ns, end_ns=end_ns)

    def decimal(self, value: Any, key: str) -> Decimal:
        """A non-negative finite Decimal; YAML's ``.inf``/``.nan`` pass the schema's ``minimum``."""
        try:
            return _decimal(value)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def prices(self, item: Mapping[str, Any], key: str) -> dict[str, PriceValue]:
        out: dict[str, PriceValue] = {}
        for price_key in PRICE_KEYS:
            if price_key not in item:
                continue
            value = item[price_key]
            if isinstance(value, dict):
                tiers_raw = cast(list[dict[str, Any]], cast(dict[str, Any], value)["tiers"])
                starts = [int(t["start"]) for t in tiers_raw]
                if starts != sorted(set(starts)):
                    raise self.fail(f"{key}.{price_key}.tiers", "tier starts must be increasing")
                tiers = tuple(
                    (int(t["start"]), self.decimal(t["price"], f"{key}.{price_key}.tiers[{n}].price"))
                    for n, t in enumerate(tiers_raw)
                )
                base = self.decimal(cast(dict[str, Any], value)["base"], f"{key}.{price_key}.base")
                out[price_key] = (base, tiers)
            else:
                out[price_key] = self.decimal(value, f"{key}.{price_key}")
        return out

    def read(self, data: dict[str, Any]) -> CatalogFile:
        result = CatalogFile(path=self.name)
        if "genai_prices_data" in data:
            result.genai_prices_data = (self.path.parent / str(data["genai_prices_data"])).resolve()
        result.aliases = {str(k).strip().lower(): str(v) for k, v in data.get("aliases", {}).items()}
        seen: set[str] = set()
        for i, item in enumerate(data.get("models", [])):
            key = f"models[{i}]"
            provider = str(item.get("provider", "custom")).lower()
            entry_id = f"{provider}/{item['id']}"
            if entry_id in seen:
                raise self.fail(f"{key}.id", f"duplicate model {entry_id!r}")
            seen.add(entry_id)
            listed = isinstance(item["prices"], list)
            raw_periods = item["prices"] if listed else [item["prices"]]
            # Keys as the schema's errors spell them: ``prices[1]`` in a list, ``prices`` for one mapping.
            where = [f"{key}.prices[{j}]" if listed else f"{key}.prices" for j in range(len(raw_periods))]
            periods = tuple(
                (self.constraint(p, k), self.prices(p, k)) for p, k in zip(raw_periods, where, strict=True)
            )
            starts = [c.start_ns or 0 for c, _ in periods]
            if starts != sorted(starts):
                raise self.fail(f"{key}.prices", "periods must be in effective_from order")
            tiers: dict[str, tuple[Decimal | None, Mapping[str, PriceValue]]] = {}
            for tier, spec in item.get("service_tiers", {}).items():
                multiplier = (
                    self.decimal(spec["multiplier"], f"{key}.service_tiers.{tier}.multiplier")
                    if "multiplier" in spec
                    else None
                )
                tiers[tier] = (multiplier, self.prices(spec, f"{key}.service_tiers.{tier}"))
            names = (str(item["id"]).lower(), *(str(m).lower() for m in item.get("match", [])))
            result.models.append(
                ModelRule(
                    id=str(item["id"]),
                    provider=provider,
                    names=names,
                    periods=periods,
                    tiers=tiers,
                    currency=str(item.get("currency", "USD")),
                    name=item.get("name"),
                    source=item.get("source"),
                    checked=item.get("checked"),
                    key=key,
                )
            )
        for i, item in enumerate(data.get("overrides", [])):
            key = f"overrides[{i}]"
            result.overrides.append(
                OverrideRule(
                    id=str(item.get("id", f"{Path(self.name).name}#{i}")),
                    provider=item.get("provider"),
                    model=str(item["model"]),
                    tier=item.get("service_tier"),
                    constraint=self.constraint(item, key),
                    prices=self.prices(item["prices"], f"{key}.prices"),
                    key=key,
                )
            )
        for i, item in enumerate(data.get("discounts", [])):
            key = f"discounts[{i}]"
            if "api" in item and ("model" in item or "provider" in item):
                raise self.fail(key, "a discount names either an api or a provider/model, not both")
            result.discounts.append(
                DiscountRule(
                    id=str(item.get("id", f"{Path(self.name).name}#{i}")),
                    provider=item.get("provider"),
                    model=str(item["model"]).lower() if "model" in item else None,
                    api=item.get("api"),
                    multiplier=self.decimal(item["multiplier"], f"{key}.multiplier"),
                    when=tuple(sorted((str(k), str(v)) for k, v in item.get("when", {}).items())),
                    constraint=self.constraint(item, key),
                )
            )
        for i, item in enumerate(data.get("service_tiers", [])):
            key = f"service_tiers[{i}]"
            result.tier_rules.append(
                TierRule(
                    provider=str(item["provider"]).lower(),
                    models=tuple(str(m).lower() for m in item.get("models", ["*"])),
                    tier=str(item["tier"]),
                    multiplier=self.decimal(item["multiplier"], f"{key}.multiplier"),
                    constraint=self.constraint(item, key),
                    ref=f"{Path(self.name).stem}#{i}",
                )
            )
        api_ids: dict[str, list[tuple[int, Constraint]]] = {}
        for i, item in enumerate(data.get("apis", [])):
            key = f"apis[{i}]"
            if "per_call" in item:
                kind, price = "call", self.decimal(item["per_call"], f"{key}.per_call")
            elif "per_1000_calls" in item:
                kind, price = "call", self.decimal(item["per_1000_calls"], f"{key}.per_1000_calls").scaleb(-3)
            else:
                kind, price = "unit", self.decimal(item["per_unit"], f"{key}.per_unit")
            constraint = self.constraint(item, key)
            # Rules sharing an id are one API's prices over time: their dates must not overlap,
            # or a call on a shared day would have two prices.
            for j, other in api_ids.get(item["id"], ()):
                if _overlap(constraint, other):
                    raise self.fail(
                        f"{key}.id", f"api rule {item['id']!r} overlaps apis[{j}] in time (effective dates)"
                    )
            api_ids.setdefault(item["id"], []).append((i, constraint))
            result.apis.append(
                ApiRule(
                    id=str(item["id"]),
                    host=str(item["host"]).lower(),
                    method=str(item.get("method", "*")).upper(),
                    path=str(item.get("path", "*")),
                    kind=kind,
                    price=price,
                    unit=item.get("unit"),
                    currency=str(item.get("currency", "USD")),
                    constraint=constraint,
                    source=item.get("source"),
                )
            )
        return result


def _overlap(a: Constraint, b: Constraint) -> bool:
    """Whether two effective-date windows share a moment (open ends are unbounded)."""
    a_start = a.start_ns if a.start_ns is not None else -1
    b_start = b.start_ns if b.start_ns is not None else -1
    a_end = a.end_ns if a.end_ns is not None else 1 << 80
    b_end = b.end_ns if b.end_ns is not None else 1 << 80
    return a_start < b_end and b_start < a_end
