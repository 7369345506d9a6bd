"""Budget policy files (YAML, validated by ``policy.schema.json``) read into :class:`Policy`.

Every error names the file, the key path inside it (``budgets[2].limit``) and the reason, like
catalog files: a bad policy fails at start, never at the first call it would have refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema
import jsonschema.exceptions
import yaml

from otel_cost.budgets._window import UTC_ZONE, Window, duration_seconds
from otel_cost.pricing._files import (
    _key_path,  # pyright: ignore[reportPrivateUsage]
    _Loader,  # pyright: ignore[reportPrivateUsage]
    _plain,  # pyright: ignore[reportPrivateUsage]
)

LimitKind = Literal["money", "tokens", "calls"]
Action = Literal["block", "alert", "downgrade"]

DEFAULT_MAX_OUTPUT_TOKENS = 32_768
DEFAULT_RESERVATION_TTL_S = 600
DEFAULT_STORE_TIMEOUT_S = 0.25
DEFAULT_KEY_PREFIX = "otel-cost:budget"


class PolicyError(ValueError):
    """A policy cannot be used; the message names the file, the key and the reason."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        super().__init__(f"{file}: {key or '<root>'}: {reason}")
        self.file = file
        self.key = key
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Limit:
    """A budget's limit: money (``amount`` in ``currency``), tokens (input + output) or calls."""

    kind: LimitKind
    amount: Decimal
    currency: str | None = None

    @classmethod
    def parse(cls, text: str) -> Limit:
        """``"5 USD"``, ``"2,000.50 EUR"``, ``"200000 tokens"``, ``"100 calls"``; ``ValueError`` otherwise."""
        number, sep, unit = text.strip().partition(" ")
        if not sep or not unit:
            raise ValueError(f"a limit is '<amount> <CURRENCY>', '<n> tokens' or '<n> calls', not {text!r}")
        try:
            amount = Decimal(number.replace(",", "").replace("_", ""))
        except InvalidOperation:
            raise ValueError(f"not a number: {number!r}") from None
        if not amount.is_finite() or amount < 0:
            raise ValueError(f"a limit is a finite amount >= 0, not {number!r}")
        if unit in ("tokens", "calls"):
            if amount != amount.to_integral_value():
                raise ValueError(f"{unit} are counted in whole numbers, not {number!r}")
            return cls(kind=unit, amount=amount)  # pyright: ignore[reportArgumentType]
        if len(unit) != 3 or not unit.isalpha() or not unit.isupper():
            raise ValueError(f"not an ISO 4217 currency code (or tokens/calls): {unit!r}")
        return cls(kind="money", amount=amount, currency=unit)

    @property
    def unit(self) -> str:
        """The currency code, ``tokens`` or ``calls``."""
        return self.currency if self.kind == "money" else self.kind  # pyright: ignore[reportReturnType]

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"


@dataclass(frozen=True, slots=True)
class Budget:
    """One budget: which calls (``scope`` + ``match``), over which ``window``, up to ``limit``."""

    id: str
    window: Window
    limit: Limit
    scope: tuple[str, ...] = ()
    """Attribution keys; one limit per combination of their values. Empty: one global limit."""
    match: Mapping[str, frozenset[str]] = field(default_factory=dict[str, frozenset[str]])
    """Only calls whose attribution has one of these values per key."""
    alerts: tuple[Decimal, ...] = ()
    """Thresholds in percent of the limit, ascending."""
    action: Action = "block"
    downgrade_to: tuple[str, ...] = ()
    description: str | None = None
    key: str = ""
    """Where it was written (``budgets[0]``), for messages."""

    def scope_values(self, attribution: Mapping[str, str]) -> tuple[str, ...] | None:
        """The values of the scope keys when this budget applies to a call with this
        attribution, else ``None`` (a ``match`` value differs, or a scope key is absent: a call
        without a user is not counted by a per-user budget)."""
        for key, allowed in self.match.items():
            value = attribution.get(key)
            if value is None or value not in allowed:
                return None
        if not self.scope:
            return ()
        values: list[str] = []
        for key in self.scope:
            value = attribution.get(key)
            if value is None:
                return None
            values.append(value)
        return tuple(values)

    def describe_scope(self, values: tuple[str, ...]) -> str:
        """``user=u-1,session=s-9`` (``global`` for a global budget)."""
        return ",".join(f"{k}={v}" for k, v in zip(self.scope, values, strict=True)) or "global"


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Where spend and reservations live (``memory`` in this process, or ``redis``)."""

    type: Literal["memory", "redis"] = "memory"
    url: str | None = None
    on_error: Literal["fail_open", "fail_closed"] = "fail_open"
    timeout_s: float = DEFAULT_STORE_TIMEOUT_S
    key_prefix: str = DEFAULT_KEY_PREFIX


@dataclass(frozen=True, slots=True)
class Policy:
    """A whole policy file: budgets plus the settings they share."""

    budgets: tuple[Budget, ...]
    timezone: ZoneInfo = UTC_ZONE
    currency: str = "USD"
    """The spend's currency (the catalog's prices)."""
    rates: Mapping[str, Decimal] = field(default_factory=dict[str, Decimal])
    """Budget currency -> units of it per unit of spend currency."""
    unpriced: Decimal | None = None
    """Money counted per unpriced call, in ``currency``; ``None``: ``block`` money budgets refuse it."""
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    output_limits: Mapping[str, int] = field(default_factory=dict[str, int])
    reservation_ttl_s: int = DEFAULT_RESERVATION_TTL_S
    ledger: str | None = None
    store: StoreConfig = field(default_factory=StoreConfig)
    source: str = "<policy>"

    def rate(self, currency: str) -> Decimal | None:
        """Units of ``currency`` per unit of spend; ``None`` when no rate converts to it."""
        if currency == self.currency:
            return Decimal(1)
        return self.rates.get(currency)

    def budget(self, budget_id: str) -> Budget:
        """The budget with this id; ``LookupError`` naming it otherwise."""
        for item in self.budgets:
            if item.id == budget_id:
                return item
        raise LookupError(f"no budget {budget_id!r} in {self.source}")


@cache
def schema() -> dict[str, Any]:
    """The JSON schema of policy files (shipped as ``otel_cost/budgets/policy.schema.json``)."""
    text = resources.files("otel_cost.budgets").joinpath("policy.schema.json").read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; raises :class:`PolicyError` (a ``ValueError``)."""
    name = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise PolicyError(name, "", f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise PolicyError(name, "", f"not UTF-8: {exc}") from exc
    try:
        raw = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise PolicyError(name, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    return policy_from_mapping(raw if raw is not None else {}, name)


def policy_from_mapping(data: object, name: str = "<policy>") -> Policy:
    """A policy from already-parsed data (JSON-like), checked as a file is."""
    plain = _plain(data)
    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(plain))
    if error is not None:
        raise PolicyError(name, _key_path(error.absolute_path), _reason(error))
    return _Reader(name).read(cast(dict[str, Any], plain))


def _reason(error: jsonschema.exceptions.ValidationError) -> str:
    """The schema's message, with the key's description when the value has the wrong form
    (``'dya' does not match '^...$'`` alone does not say what a window is)."""
    if error.validator not in ("pattern", "enum", "const", "anyOf", "type"):
        return error.message
    for node in (error.parent, error):
        schema_node = getattr(node, "schema", None)
        if isinstance(schema_node, dict) and "description" in schema_node:
            return f"{error.message}; expected {schema_node['description']}"
    return error.message


def parse_money(text: str) -> tuple[Decimal, str]:
    """``"0.05 USD"`` -> (amount, currency); ``ValueError`` otherwise."""
    limit = Limit.parse(text)
    if limit.kind != "money" or limit.currency is None:
        raise ValueError(f"not a money amount: {text!r}")
    return limit.amount, limit.currency


class _Reader:
    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, key: str, reason: str) -> PolicyError:
        return PolicyError(self.name, key, reason)

    def read(self, data: dict[str, Any]) -> Policy:
        tz_name = str(data.get("timezone", "UTC"))
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(
                "timezone", f"unknown time zone {tz_name!r} (an IANA name like Europe/Berlin)"
            ) from None
        currency = str(data.get("currency", "USD"))
        rates = {str(k): Decimal(str(v)) for k, v in data.get("rates", {}).items()}
        if currency in rates:
            raise self.fail(f"rates.{currency}", "is the spend currency itself")
        unpriced: Decimal | None = None
        if data.get("unpriced", "refuse") != "refuse":
            amount, unit = parse_money(str(data["unpriced"]))
            if unit != currency:
                raise self.fail("unpriced", f"is in {unit}, the spend is in {currency}")
            unpriced = amount
        ttl = duration_seconds(str(data.get("reservation_ttl", f"{DEFAULT_RESERVATION_TTL_S}s")))
        store = self.store(data.get("store", {}))
        budgets: list[Budget] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(data.get("budgets", [])):
            key = f"budgets[{i}]"
            if item["id"] in seen:
                raise self.fail(
                    f"{key}.id", f"duplicate budget id {item['id']!r} (also budgets[{seen[item['id']]}])"
                )
            seen[item["id"]] = i
            budgets.append(self.budget(item, key, tz, currency=currency, rates=rates, store=store))
        return Policy(
            budgets=tuple(budgets),
            timezone=tz,
            currency=currency,
            rates=rates,
            unpriced=unpriced,
            max_output_tokens=int(data.get("max_output_tokens", DEFAULT_MAX_OUTPUT_TOKENS)),
            output_limits={str(k).lower(): int(v) for k, v in data.get("output_limits", {}).items()},
            reservation_ttl_s=ttl,
            ledger=data.get("ledger"),
            store=store,
            source=self.name,
        )

    def store(self, raw: Mapping[str, Any]) -> StoreConfig:
        return StoreConfig(
            type=raw.get("type", "memory"),
            url=raw.get("url"),
            on_error=raw.get("on_error", "fail_open"),
            timeout_s=float(raw.get("timeout", DEFAULT_STORE_TIMEOUT_S)),
            key_prefix=str(raw.get("key_prefix", DEFAULT_KEY_PREFIX)),
        )

    def budget(
        self,
        item: Mapping[str, Any],
        key: str,
        tz: ZoneInfo,
        *,
        currency: str,
        rates: Mapping[str, Decimal],
        store: StoreConfig,
    ) -> Budget:
        try:
            window = Window.parse(str(item["window"]), tz)
        except ValueError as exc:
            raise self.fail(f"{key}.window", str(exc)) from None
        try:
            limit = Limit.parse(str(item["limit"]))
        except ValueError as exc:
            raise self.fail(f"{key}.limit", str(exc)) from None
        if limit.currency is not None and limit.currency != currency and limit.currency not in rates:
            raise self.fail(
                f"{key}.limit",
                f"is in {limit.currency} but the spend is in {currency}; "
                f"add rates: {{{limit.currency}: <rate>}}",
            )
        if store.type == "redis" and limit.kind == "money" and limit.amount > _REDIS_MAX_MONEY:
            raise self.fail(f"{key}.limit", f"a Redis store counts money exactly up to {_REDIS_MAX_MONEY}")
        scope_raw = item.get("scope", "global")
        scope = (
            ()
            if scope_raw == "global"
            else ((scope_raw,) if isinstance(scope_raw, str) else tuple(scope_raw))
        )
        match = {
            str(k): frozenset([v] if isinstance(v, str) else v) for k, v in item.get("match", {}).items()
        }
        action = item.get("action", "block")
        if action == "downgrade" and limit.kind == "calls":
            raise self.fail(f"{key}.action", "a cheaper model does not make fewer calls; use block or alert")
        return Budget(
            id=str(item["id"]),
            window=window,
            limit=limit,
            scope=scope,
            match=match,
            alerts=tuple(sorted(Decimal(str(a)) for a in item.get("alerts", []))),
            action=action,
            downgrade_to=tuple(str(m) for m in item.get("downgrade_to", [])),
            description=item.get("description"),
            key=key,
        )


_REDIS_MAX_MONEY = Decimal(2**53 - 1).scaleb(-9).quantize(Decimal(1))
"""Redis counts money in nano-units summed by its Lua (IEEE doubles, exact to 2**53)."""
