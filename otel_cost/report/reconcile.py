"""Reconciliation: the ledger against a provider's own usage or cost export, per day and model.

Accepted export shapes (docs/reports.md has examples):

- OpenAI Costs API page (``GET /v1/organization/costs``, ``group_by=line_item``):
  ``{"data": [{"start_time": <unix s>, "results": [{"amount": {"value": 0.06, "currency": "usd"},
  "line_item": "gpt-4o-2024-08-06, input", ...}]}]}``. The model is the ``line_item`` text before
  the first ``", "`` (assumption: line items name the model first).
- OpenAI Usage API page (``GET /v1/organization/usage/completions``, ``group_by=model``): results
  with ``model``, ``input_tokens`` (cached included), ``output_tokens``, ``num_model_requests``.
- Anthropic Cost Report (``GET /v1/organizations/cost_report``, ``group_by=description``):
  ``{"data": [{"starting_at": RFC 3339, "results": [{"amount": "123.45", "currency": "USD",
  "model": ..., "token_type": ...}]}]}``; ``amount`` is in the currency's lowest unit (cents).
- Anthropic Messages Usage Report (``GET /v1/organizations/usage_report/messages``,
  ``group_by=model``): ``uncached_input_tokens``, ``cache_read_input_tokens``, cache creation (flat
  ``cache_creation_5m/1h_input_tokens`` or nested ``cache_creation.ephemeral_5m/1h_input_tokens``),
  ``output_tokens``; input is summed into our convention (cache reads and writes included).
- CSV (either provider, e.g. a console export): a header row with a day column (``date``, ``day``,
  ``start_time`` or ``starting_at``), a model column (``model`` or ``line_item``), and any of
  ``amount``/``cost``/``amount_value``/``cost_usd`` (in currency units), ``currency``,
  ``input_tokens``, ``output_tokens``, ``num_model_requests``/``requests``. Column names are matched
  case-insensitively; assumption documented, since console CSV layouts are not specified publicly.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from otel_cost.ledger import Ledger

_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


class ExportError(ValueError):
    """An export file that is not one of the accepted shapes."""


@dataclass(slots=True)
class Usage:
    """Provider-side totals of one (day, model)."""

    amount: Decimal | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    requests: int | None = None


@dataclass(frozen=True, slots=True)
class Export:
    """Provider totals per (day, model key), and every day the export covers."""

    table: dict[tuple[str, str], Usage]
    days: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VarianceLine:
    day: str
    model: str
    ledger_calls: int
    ledger_amount: Decimal
    ledger_input_tokens: int
    ledger_output_tokens: int
    export: Usage

    @property
    def variance(self) -> Decimal | None:
        """Ledger minus export, in money when the export has amounts, else in tokens."""
        if self.export.amount is not None:
            return self.ledger_amount - self.export.amount
        if self.export.input_tokens is None and self.export.output_tokens is None:
            return None
        theirs = (self.export.input_tokens or 0) + (self.export.output_tokens or 0)
        return Decimal(self.ledger_input_tokens + self.ledger_output_tokens - theirs)

    @property
    def variance_pct(self) -> Decimal | None:
        variance = self.variance
        if variance is None:
            return None
        if self.export.amount is not None:
            base = self.export.amount
        else:
            base = Decimal((self.export.input_tokens or 0) + (self.export.output_tokens or 0))
        if base == 0:
            return None if variance == 0 else Decimal(100)
        return (variance / base * 100).quantize(Decimal("0.01"))


def model_key(model: str, exact: bool) -> str:
    """A model name for matching: dated snapshots (``-2024-08-06``, ``-20250929``) fold to the base."""
    return model if exact else _DATED.sub("", model.strip().lower())


def _day_of(value: object) -> str:
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value), tz=UTC).strftime("%Y-%m-%d")
    text = str(value).strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    else:
        if (
            moment.tzinfo is None
        ):  # no offset: UTC, as the ledger's days are (astimezone would use local time)
            return moment.strftime("%Y-%m-%d")
        return moment.astimezone(UTC).strftime("%Y-%m-%d")
    try:
        return datetime.fromisoformat(text[:10]).strftime("%Y-%m-%d")
    except ValueError:
        raise ExportError(f"not a date: {value!r}") from None


def _decimal(value: object, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ExportError(f"{what} is not a number: {value!r}") from None


def _add(table: dict[tuple[str, str], Usage], day: str, model: str, usage: Usage) -> None:
    current = table.setdefault((day, model), Usage())
    for name in ("amount", "input_tokens", "output_tokens", "requests"):
        value = getattr(usage, name)
        if value is not None:
            setattr(current, name, (getattr(current, name) or 0) + value)


def _json_rows(doc: Mapping[str, Any], provider: str, days: set[str]) -> Iterable[tuple[str, str, Usage]]:
    pages: list[Mapping[str, Any]] = doc.get("pages", [doc])  # several pages saved as a list
    for page in pages:
        for bucket in page.get("data", []):
            day = _day_of(bucket.get("start_time", bucket.get("starting_at")))
            days.add(day)  # a bucket without results still says the provider saw nothing that day
            for r in bucket.get("results", []):
                yield day, *_json_result(r, provider)


def _json_result(r: Mapping[str, Any], provider: str) -> tuple[str, Usage]:
    if provider == "openai":
        if isinstance(r.get("amount"), Mapping):  # costs API
            line_item = str(r.get("line_item") or "(no line item: use group_by=line_item)")
            amount = _decimal(r["amount"].get("value"), "amount.value")
            return line_item.split(", ", maxsplit=1)[0], Usage(amount=amount)
        return str(r.get("model") or "(no model: use group_by=model)"), Usage(
            input_tokens=int(r.get("input_tokens") or 0),
            output_tokens=int(r.get("output_tokens") or 0),
            requests=int(r.get("num_model_requests") or 0),
        )
    model = str(r.get("model") or "(no model)")
    if "amount" in r:  # cost report: lowest currency unit (cents for USD)
        return model, Usage(amount=_decimal(r["amount"], "amount") / 100)
    nested = r.get("cache_creation") or {}
    writes = int(r.get("cache_creation_5m_input_tokens") or nested.get("ephemeral_5m_input_tokens") or 0)
    writes += int(r.get("cache_creation_1h_input_tokens") or nested.get("ephemeral_1h_input_tokens") or 0)
    reads = int(r.get("cache_read_input_tokens") or 0)
    return model, Usage(
        input_tokens=int(r.get("uncached_input_tokens") or 0) + reads + writes,
        output_tokens=int(r.get("output_tokens") or 0),
    )


def _pick(row: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = row.get(name)
        if value not in (None, ""):
            return value
    return None


def _csv_rows(text: str) -> Iterable[tuple[str, str, Usage]]:
    reader = csv.DictReader(io.StringIO(text))
    for n, raw in enumerate(reader, start=2):
        row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        day = _pick(row, "date", "day", "start_time", "starting_at", "usage_date")
        model = _pick(row, "model", "line_item", "model_name")
        if day is None or model is None:
            raise ExportError(f"CSV line {n}: needs a date column and a model column, got {sorted(row)}")
        amount = _pick(row, "amount", "cost", "amount_value", "cost_usd")
        tokens_in, tokens_out = _pick(row, "input_tokens"), _pick(row, "output_tokens")
        requests = _pick(row, "num_model_requests", "requests")
        yield (
            _day_of(day),
            model.split(", ")[0],
            Usage(
                amount=None if amount is None else _decimal(amount, f"CSV line {n} amount"),
                input_tokens=None if tokens_in is None else int(tokens_in),
                output_tokens=None if tokens_out is None else int(tokens_out),
                requests=None if requests is None else int(requests),
            ),
        )


def load_export(path: str | Path, provider: str, *, exact_models: bool = False) -> Export:
    """Provider totals per (day, model key) from an export file (JSON or CSV, by content)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ExportError(f"{path}: cannot read: {exc}") from exc
    table: dict[tuple[str, str], Usage] = {}
    days: set[str] = set()
    try:
        if text.lstrip().startswith(("{", "[")):
            doc = json.loads(text)
            doc = {"pages": doc} if isinstance(doc, list) else doc
            rows = list(_json_rows(doc, provider, days))
        else:
            rows = list(_csv_rows(text))
    except (ExportError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ExportError(f"{path}: not a {provider} usage or cost export: {exc}") from exc
    for day, model, usage in rows:
        days.add(day)
        _add(table, day, model_key(model, exact_models), usage)
    return Export(table, tuple(sorted(days)))


def reconcile(
    ledger: Ledger,
    provider: str,
    export: Export,
    *,
    since: str | None = None,
    until: str | None = None,
    exact_models: bool = False,
) -> list[VarianceLine]:
    """One line per (day, model) on either side, sorted; the ledger side filtered to ``provider``."""
    since = since or (export.days[0] if export.days else None)
    until = until or (export.days[-1] if export.days else None)
    ours: dict[tuple[str, str], list[Any]] = {}
    for row in ledger.spend(["day", "model"], since=since, until=until, where={"provider": provider}):
        key = (str(row.key[0]), model_key(row.key[1] or "(no model)", exact_models))
        acc = ours.setdefault(key, [0, Decimal(0), 0, 0])
        acc[0] += row.calls
        acc[1] += row.amount
        acc[2] += row.input_tokens
        acc[3] += row.output_tokens
    # A cost export that lacks a (day, model) says the provider charged nothing for it.
    has_amounts = any(u.amount is not None for u in export.table.values())
    missing = Usage(amount=Decimal(0)) if has_amounts else Usage(input_tokens=0, output_tokens=0, requests=0)
    in_range = {
        k for k in export.table if (since is None or k[0] >= since) and (until is None or k[0] <= until)
    }
    lines: list[VarianceLine] = []
    for day, model in sorted(in_range | set(ours)):
        calls, amount, tokens_in, tokens_out = ours.get((day, model), [0, Decimal(0), 0, 0])
        usage = export.table.get((day, model), missing)
        lines.append(VarianceLine(day, model, calls, amount, tokens_in, tokens_out, usage))
    return lines
