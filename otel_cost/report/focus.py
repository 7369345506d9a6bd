"""FinOps FOCUS 1.2 export: the ledger as cost and usage rows FinOps tools ingest.

Every column the FOCUS 1.2 specification marks *Mandatory* is written (``MANDATORY_COLUMNS``, from
the spec's ``specification/columns/*.md`` at tag v1.2), in the spec's alphabetical order, then
otel-cost's own columns prefixed ``x_`` as the spec's column-handling rules ask.

Rows: one ``Usage`` row per (day, provider, model, kind, service, --by keys) with spend or calls,
from the original (or the chosen view's) prices. With allocation rules, each split pool adds
``Adjustment`` rows: minus the pooled amount on the pool's line, plus each target's share, so
allocations move cost without changing the total. docs/reports.md maps each column.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TextIO

from otel_cost.ledger import Ledger
from otel_cost.report.build import Report, allocate, read_report
from otel_cost.report.formats import money
from otel_cost.report.rules import AllocationRules

MANDATORY_COLUMNS: tuple[str, ...] = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
)
"""The 21 Mandatory columns of FOCUS 1.2."""

BASE_KEYS = ("day", "provider", "model", "kind", "service")
_CUSTOM = (
    "x_Service",
    "x_Model",
    "x_Kind",
    "x_Calls",
    "x_UnpricedCalls",
    "x_InputTokens",
    "x_OutputTokens",
    "x_PriceView",
    "x_AllocationPool",
    "x_AllocationMethod",
    "x_LedgerHead",
)


@dataclass(frozen=True, slots=True)
class FocusReport:
    usage: Report
    allocated: Report | None
    extra_keys: tuple[str, ...]


def focus_report(
    ledger: Ledger,
    by: Sequence[str],
    *,
    since: date | str | None = None,
    until: date | str | None = None,
    rules: AllocationRules | None = None,
    rules_text: str | None = None,
    view: str | None = None,
) -> FocusReport:
    extra = tuple(k for k in by if k not in BASE_KEYS)
    keys = (*BASE_KEYS, *extra)
    # One reading for both parts: the Usage and Adjustment rows come from the same ledger state,
    # the one the x_LedgerHead column names.
    usage = read_report(ledger, keys, since=since, until=until, view=view)
    allocated = None if rules is None else allocate(usage, rules, rules_text)
    return FocusReport(usage, allocated, extra)


def _iso_day(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _month_bounds(day: date) -> tuple[str, str]:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return _iso_day(start), _iso_day(end)


def header(extra_keys: Sequence[str]) -> list[str]:
    return [*MANDATORY_COLUMNS, *_CUSTOM, *(f"x_{k.removeprefix('attr:')}" for k in extra_keys)]


def write_focus(report: FocusReport, out: TextIO, *, billing_account: str | None = None) -> None:
    """Write the FOCUS CSV (UTF-8, header row first, nulls as empty cells)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header(report.extra_keys))
    usage = report.usage
    view = usage.view
    head = usage.head.hash
    for line in usage.lines:
        if line.calls == 0 and line.direct == 0:
            continue
        day_s, provider, model, kind, service, *extra = line.key
        quantity, unit = (
            (line.input_tokens + line.output_tokens, "Tokens") if kind == "llm" else (line.calls, "Requests")
        )
        description = f"{line.calls} {kind or 'metered'} calls to {model or 'unknown model'} from {service}"
        writer.writerow(
            _row(
                amount=money(line.direct),
                account=billing_account or provider or "unknown",
                currency=line.currency,
                day_s=str(day_s),
                category="Usage",
                description=description,
                quantity=str(quantity),
                unit=unit,
                provider=provider,
                model=model,
                kind=kind,
            )
            + [service or "", model or "", kind or "", str(line.calls), str(line.unpriced_calls)]
            + [str(line.input_tokens), str(line.output_tokens), view, "", "", head]
            + [e or "" for e in extra]
        )
    if report.allocated is None:
        return
    for a in report.allocated.allocations:
        keys_by = report.allocated.by
        rules_key = report.allocated.rules_key or ""
        idx = keys_by.index(rules_key) if rules_key in keys_by else keys_by.index(f"attr:{rules_key}")
        moves: list[tuple[str | None, Decimal, str]] = [
            (None, -a.amount, f"{a.pool} spend moved out for allocation")
        ]
        moves += [(t, s, f"share of {a.pool} spend allocated to {t}") for t, s in a.shares if s != 0]
        for target, amount, description in moves:
            source = list(a.source)
            if target is not None:
                source[idx] = target  # the rules key may be a base key (service) or a --by key
            day_s, provider, model, kind, service, *keys = source
            writer.writerow(
                _row(
                    amount=money(amount),
                    account=billing_account or provider or "unknown",
                    currency=a.currency,
                    day_s=str(day_s),
                    category="Adjustment",
                    description=f"{description} ({a.method})",
                    quantity="",
                    unit="",
                    provider=provider,
                    model=model,
                    kind=kind,
                )
                + [service or "", model or "", kind or "", "0", "0", "0", "0", view, a.pool, a.method, head]
                + [k or "" for k in keys]
            )


def _row(
    *,
    amount: str,
    account: str,
    currency: str,
    day_s: str,
    category: str,
    description: str,
    quantity: str,
    unit: str,
    provider: str | None,
    model: str | None,
    kind: str | None,
) -> list[str]:
    day = date.fromisoformat(day_s)
    period_start, period_end = _month_bounds(day)
    issuer = provider or "unknown"
    return [
        amount,  # BilledCost
        account,  # BillingAccountId
        "",  # BillingAccountName (nullable; not known to otel-cost)
        currency,  # BillingCurrency
        period_end,  # BillingPeriodEnd
        period_start,  # BillingPeriodStart
        category,  # ChargeCategory
        "",  # ChargeClass (null: not a correction of an invoiced period)
        description,  # ChargeDescription
        _iso_day(day + timedelta(days=1)),  # ChargePeriodEnd
        _iso_day(day),  # ChargePeriodStart
        amount,  # ContractedCost
        amount,  # EffectiveCost
        issuer,  # InvoiceIssuerName
        amount,  # ListCost
        quantity,  # PricingQuantity
        unit,  # PricingUnit
        issuer,  # ProviderName
        issuer,  # PublisherName
        "AI and Machine Learning" if kind == "llm" else "Other",  # ServiceCategory
        model or "unknown",  # ServiceName
    ]
