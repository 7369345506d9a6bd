"""Price views: a repricing's amounts kept beside the original rows, never over them.

``view_prices`` holds one row per (view name, call row id); ``price_views`` describes a view and is
written last, so a view exists only once it is complete. Views are derived data (reproducible from
the ledger and the catalog); the hash chain protects the original rows they are computed from.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from otel_cost.ledger._backend import Backend
from otel_cost.ledger._rows import (
    TOKEN_COLUMNS,
    attribution_of,
    canonical_amount,
    canonical_json,
    split_amount,
)
from otel_cost.pricing.types import CostResult, TokenUsage

_CHUNK = 10_000


@dataclass(frozen=True, slots=True)
class ViewInfo:
    name: str
    created_ns: int
    catalog: str
    from_day: str
    to_day: str
    row_count: int


@dataclass(frozen=True, slots=True)
class StoredCall:
    """What repricing needs of a stored call."""

    row_id: int
    start_ns: int
    kind: str
    provider: str | None
    model: str | None
    operation: str | None
    usage: TokenUsage | None
    attribution: dict[str, str]
    original_status: str
    original_price_ref: str | None = None
    """The price reference it was priced with (names the service tier, e.g. ``...+batch@...``)."""


Repricer = Callable[[StoredCall], "CostResult | None"]
"""The new price of a call, or ``None`` to leave it out of the view (reports keep its original)."""


def view_info(db: Backend, name: str) -> ViewInfo | None:
    rows = db.execute(
        "SELECT name, created_ns, catalog, from_day, to_day, row_count FROM price_views WHERE name = ?",
        (name,),
    )
    return ViewInfo(*rows[0]) if rows else None


def list_views(db: Backend) -> list[ViewInfo]:
    return [
        ViewInfo(*r)
        for r in db.execute(
            "SELECT name, created_ns, catalog, from_day, to_day, row_count FROM price_views ORDER BY name"
        )
    ]


def _stored_calls(db: Backend, from_day: str, to_day: str) -> Iterator[list[StoredCall]]:
    cols = ", ".join(TOKEN_COLUMNS)
    last = 0
    while True:
        rows = db.execute(
            "SELECT row_id, start_ns, kind, provider, model, operation, has_usage, attribution, status,"
            f" price_ref, {cols} FROM calls"
            " WHERE day >= ? AND day <= ? AND row_id > ? ORDER BY row_id LIMIT ?",
            (from_day, to_day, last, _CHUNK),
        )
        if not rows:
            return
        out: list[StoredCall] = []
        for r in rows:
            tokens: dict[str, Any] = {name: int(v) for name, v in zip(TOKEN_COLUMNS, r[10:], strict=True)}
            out.append(
                StoredCall(
                    row_id=int(r[0]),
                    start_ns=int(r[1]),
                    kind=str(r[2]),
                    provider=r[3],
                    model=r[4],
                    operation=r[5],
                    usage=TokenUsage(**tokens) if int(r[6]) else None,
                    attribution=dict(attribution_of(str(r[7]))),
                    original_status=str(r[8]),
                    original_price_ref=None if r[9] is None else str(r[9]),
                )
            )
        yield out
        last = out[-1].row_id


def write_view(
    db: Backend,
    name: str,
    *,
    catalog: str,
    from_day: str,
    to_day: str,
    reprice: Repricer,
    progress: Callable[[int], None] | None = None,
) -> ViewInfo:
    """Price every stored call of the day range with ``reprice`` into view ``name`` (replacing it)."""
    with db.write_transaction():
        db.execute("DELETE FROM price_views WHERE name = ?", (name,))
        db.execute("DELETE FROM view_prices WHERE view = ?", (name,))
    done = stored = 0
    for chunk in _stored_calls(db, from_day, to_day):
        values: list[tuple[Any, ...]] = []
        for call in chunk:
            result = reprice(call)
            if result is None:
                continue
            amount = result.amount if result.priced else Decimal(0)
            nano, atto, fine = split_amount(amount)
            breakdown = {k: canonical_amount(Decimal(v)) for k, v in result.breakdown.items()}
            values.append(
                (
                    name,
                    call.row_id,
                    result.status,
                    result.reason,
                    result.currency,
                    canonical_amount(amount),
                    nano,
                    atto,
                    fine,
                    result.price_ref,
                    canonical_json(breakdown),
                )
            )
        if values:
            with db.write_transaction():
                db.executemany(
                    "INSERT INTO view_prices (view, row_id, status, reason, currency, amount, amount_nano,"
                    " amount_atto, amount_fine, price_ref, breakdown)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
        done += len(chunk)
        stored += len(values)
        if progress is not None:
            progress(done)
    info = ViewInfo(name, time.time_ns(), catalog, from_day, to_day, stored)
    with db.write_transaction():
        db.execute(
            "INSERT INTO price_views (name, created_ns, catalog, from_day, to_day, row_count)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (info.name, info.created_ns, info.catalog, info.from_day, info.to_day, info.row_count),
        )
    return info
