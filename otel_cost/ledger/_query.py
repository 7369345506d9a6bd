"""Read side of the ledger: exact spend per group, and the calls behind a group (drill-down).

Aggregation runs in SQL over the integer ``amount_nano``/``amount_atto`` columns (exact, fast on
millions of rows, never overflowing: see ``nano_sums_sql``); the rare ``amount_fine`` rows get
their residual added from the exact text.
Compacted days are read from ``rollups`` and merged in Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext
from typing import Any

from otel_cost.ledger._backend import Backend
from otel_cost.ledger._rows import (
    EXACT,
    amount_residual,
    attribution_of,
    group_order,
    join_amount,
    join_nano_sums,
    nano_sums_sql,
)

COLUMN_KEYS: Mapping[str, str] = {
    "provider": "{t}.provider",
    "model": "{t}.model",
    "service": "{t}.service",
    "operation": "{t}.operation",
    "kind": "{t}.kind",
    "status": "{s}.status",
    "source": "{t}.source",
    "day": "{t}.day",
    "month": "substr({t}.day, 1, 7)",
    "currency": "{s}.currency",
    "price_ref": "{s}.price_ref",
}
"""Keys that name a column; any other key is an attribution key."""

ATTR_PREFIX = "attr:"


def is_column(key: str) -> bool:
    return key in COLUMN_KEYS


def attribution_key(key: str) -> str:
    return key[len(ATTR_PREFIX) :] if key.startswith(ATTR_PREFIX) else key


@dataclass(frozen=True, slots=True)
class SpendRow:
    """Spend of one group (one ``key`` value per ``by`` key; ``None`` = not attributed)."""

    key: tuple[str | None, ...]
    currency: str
    amount: Decimal
    calls: int
    unpriced_calls: int
    error_calls: int
    input_tokens: int
    output_tokens: int


@dataclass(slots=True)
class _Acc:
    nano: int = 0
    atto: int = 0
    residual: Decimal = field(default_factory=Decimal)
    calls: int = 0
    unpriced: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


def day_conditions(since: str | None, until: str | None, column: str = "day") -> tuple[list[str], list[Any]]:
    """SQL conditions (and their parameters) keeping ``column`` in the inclusive day range."""
    conds: list[str] = []
    params: list[Any] = []
    if since:
        conds.append(f"{column} >= ?")
        params.append(since)
    if until:
        conds.append(f"{column} <= ?")
        params.append(until)
    return conds, params


def day_text(value: date | str | None) -> str | None:
    """A ``--since``/``--until`` day as ``YYYY-MM-DD`` (a date, or text starting with one)."""
    if value is None:
        return None
    text = value.isoformat() if isinstance(value, date) else str(value)
    date.fromisoformat(text[:10])  # a clear ValueError for a malformed day
    return text[:10]


def _priced(column: str, view: str | None) -> str:
    """SQL for a per-call price column (status, currency, price_ref, amount...): with a view, the
    view's value where the view has the call, else the call's own."""
    return f"COALESCE(v.{column}, c.{column})" if view else f"c.{column}"


def _column_expr(key: str, view: str | None) -> str:
    """SQL for a column key; with a view, its per-call price columns where the view has the call."""
    template = COLUMN_KEYS[key]
    if template.startswith("{s}."):
        return _priced(template.removeprefix("{s}."), view)
    return template.format(t="c")


def _sql_parts(
    by: Sequence[str],
    since: str | None,
    until: str | None,
    where: Mapping[str, str | None],
    view: str | None,
) -> tuple[list[str], str, str, list[Any]]:
    """(select expressions for ``by``, FROM+JOIN clause, WHERE clause, params) over ``calls``."""
    joins: list[str] = []
    join_params: list[Any] = []
    if view:
        joins.append("LEFT JOIN view_prices v ON v.view = ? AND v.row_id = c.row_id")
        join_params.append(view)
    exprs: list[str] = []
    for i, key in enumerate(by):
        if is_column(key):
            exprs.append(_column_expr(key, view))
        else:
            joins.append(f"LEFT JOIN call_attribution a{i} ON a{i}.row_id = c.row_id AND a{i}.key = ?")
            join_params.append(attribution_key(key))
            exprs.append(f"a{i}.value")
    conds, params = day_conditions(since, until, "c.day")
    for i, (key, value) in enumerate(sorted(where.items())):
        if is_column(key):
            expr = _column_expr(key, view)  # the view's status/currency/price_ref, as ``by`` groups them
            if value is None:
                conds.append(f"{expr} IS NULL")
            else:
                conds.append(f"{expr} = ?")
                params.append(value)
        elif value is None:
            joins.append(f"LEFT JOIN call_attribution w{i} ON w{i}.row_id = c.row_id AND w{i}.key = ?")
            join_params.append(attribution_key(key))
            conds.append(f"w{i}.value IS NULL")
        else:
            joins.append(
                f"JOIN call_attribution w{i} ON w{i}.row_id = c.row_id AND w{i}.key = ? AND w{i}.value = ?"
            )
            join_params.extend((attribution_key(key), value))
    from_clause = "FROM calls c " + " ".join(joins)
    where_clause = ("WHERE " + " AND ".join(conds)) if conds else ""
    return exprs, from_clause, where_clause, join_params + params


def _amount_cols(view: str | None) -> tuple[str, str, str, str, str]:
    nano, atto, fine = (_priced(c, view) for c in ("amount_nano", "amount_atto", "amount_fine"))
    return nano, atto, fine, _column_expr("status", view), _column_expr("currency", view)


def spend(
    db: Backend,
    by: Sequence[str],
    *,
    since: date | str | None,
    until: date | str | None,
    where: Mapping[str, str | None] | None,
    view: str | None,
) -> list[SpendRow]:
    since_s, until_s, filters = day_text(since), day_text(until), dict(where or {})
    with localcontext(EXACT):  # sums of amounts never round
        return _spend(db, by, since_s=since_s, until_s=until_s, filters=filters, view=view)


def _spend(
    db: Backend,
    by: Sequence[str],
    *,
    since_s: str | None,
    until_s: str | None,
    filters: dict[str, str | None],
    view: str | None,
) -> list[SpendRow]:
    exprs, from_clause, where_clause, params = _sql_parts(by, since_s, until_s, filters, view)
    nano, atto, fine, status, currency = _amount_cols(view)
    keys = [*exprs, currency]
    group = ", ".join(str(i + 1) for i in range(len(keys)))
    sql = (
        f"SELECT {', '.join(keys)}, {nano_sums_sql(nano)}, SUM({atto}), SUM({fine}), COUNT(*),"
        f" SUM(CASE WHEN {status} = 'unpriced' THEN 1 ELSE 0 END), SUM(c.error),"
        f" SUM(c.input_tokens), SUM(c.output_tokens) {from_clause} {where_clause} GROUP BY {group}"
    )
    accs: dict[tuple[Any, ...], _Acc] = {}
    any_fine = False
    n = len(keys)
    for row in db.execute(sql, params):
        acc = accs.setdefault(tuple(row[:n]), _Acc())
        acc.nano += join_nano_sums(row[n], row[n + 1])
        acc.atto += int(row[n + 2])
        any_fine = any_fine or int(row[n + 3]) > 0
        acc.calls += int(row[n + 4])
        acc.unpriced += int(row[n + 5])
        acc.errors += int(row[n + 6])
        acc.input_tokens += int(row[n + 7])
        acc.output_tokens += int(row[n + 8])
    if any_fine:
        amount_text = _priced("amount", view)
        fine_where = f"{where_clause} AND {fine} = 1" if where_clause else f"WHERE {fine} = 1"
        for row in db.execute(f"SELECT {', '.join(keys)}, {amount_text} {from_clause} {fine_where}", params):
            accs[tuple(row[:n])].residual += amount_residual(str(row[n]))
    _merge_rollups(db, accs, by, since=since_s, until=until_s, where=filters)
    out = [
        SpendRow(
            key=tuple(None if k is None else str(k) for k in key[:-1]),
            currency=str(key[-1]),
            amount=join_amount(acc.nano, acc.atto) + acc.residual,
            calls=acc.calls,
            unpriced_calls=acc.unpriced,
            error_calls=acc.errors,
            input_tokens=acc.input_tokens,
            output_tokens=acc.output_tokens,
        )
        for key, acc in accs.items()
    ]
    out.sort(key=lambda r: (group_order(r.key), r.currency))
    return out


_ROLLUP_SELECT = (
    "SELECT day, kind, service, provider, model, operation, status, source, currency, attribution,"
    " amount, calls, input_tokens, output_tokens, error FROM rollups"
)


def _rollup_value(key: str, row: Mapping[str, Any], attribution: Mapping[str, str]) -> str | None:
    if is_column(key):
        if key == "month":
            return str(row["day"])[:7]
        value = row.get(key)
        return None if value is None else str(value)
    return attribution.get(attribution_key(key))


def iter_rollups(
    db: Backend, since: str | None, until: str | None, where: Mapping[str, str | None]
) -> Iterator[tuple[dict[str, Any], Mapping[str, str]]]:
    """Roll-up rows (as dicts) and their attribution, filtered like calls."""
    conds: list[str] = []
    params: list[Any] = []
    if since:
        conds.append("day >= ?")
        params.append(since)
    if until:
        conds.append("day <= ?")
        params.append(until)
    sql = _ROLLUP_SELECT + ((" WHERE " + " AND ".join(conds)) if conds else "") + " ORDER BY rollup_id"
    names = [c.strip() for c in _ROLLUP_SELECT[len("SELECT ") : _ROLLUP_SELECT.index(" FROM")].split(",")]
    for values in db.execute(sql, params):
        row = dict(zip(names, values, strict=True))
        attribution = attribution_of(row["attribution"])
        if all(_rollup_value(k, row, attribution) == v for k, v in where.items()):
            yield row, attribution


def _merge_rollups(
    db: Backend,
    accs: dict[tuple[Any, ...], _Acc],
    by: Sequence[str],
    *,
    since: str | None,
    until: str | None,
    where: Mapping[str, str | None],
) -> None:
    for row, attribution in iter_rollups(db, since, until, where):
        key = (*(_rollup_value(k, row, attribution) for k in by), row["currency"])
        acc = accs.setdefault(key, _Acc())
        acc.residual += Decimal(row["amount"])
        acc.calls += int(row["calls"])
        acc.unpriced += int(row["calls"]) if row["status"] == "unpriced" else 0
        acc.errors += int(row["error"])
        acc.input_tokens += int(row["input_tokens"])
        acc.output_tokens += int(row["output_tokens"])


@dataclass(frozen=True, slots=True)
class CallRow:
    """One stored call as listed by a drill-down (or one roll-up line, ``calls > 1``, no ids)."""

    row_id: int | None
    trace_id: str | None
    span_id: str | None
    start_ns: int | None
    day: str
    service: str
    provider: str | None
    model: str | None
    operation: str | None
    status: str
    currency: str
    amount: Decimal
    price_ref: str | None
    input_tokens: int
    output_tokens: int
    attribution: Mapping[str, str]
    calls: int = 1


def iter_calls(
    db: Backend,
    since: date | str | None,
    until: date | str | None,
    where: Mapping[str, str | None] | None,
    view: str | None,
) -> Iterator[CallRow]:
    """Calls matching the filters, by start time then row id; then matching roll-up lines."""
    since_s, until_s, filters = day_text(since), day_text(until), dict(where or {})
    _, from_clause, where_clause, params = _sql_parts((), since_s, until_s, filters, view)
    amount = _priced("amount", view)
    status, currency, price_ref = (_column_expr(k, view) for k in ("status", "currency", "price_ref"))
    sql = (
        f"SELECT c.row_id, c.trace_id, c.span_id, c.start_ns, c.day, c.service, c.provider, c.model,"
        f" c.operation, {status}, {currency}, {amount}, {price_ref}, c.input_tokens, c.output_tokens,"
        f" c.attribution {from_clause} {where_clause} ORDER BY c.start_ns, c.row_id"
    )
    for r in db.stream(sql, params):
        yield CallRow(
            row_id=int(r[0]),
            trace_id=str(r[1]),
            span_id=str(r[2]),
            start_ns=int(r[3]),
            day=str(r[4]),
            service=str(r[5]),
            provider=r[6],
            model=r[7],
            operation=r[8],
            status=str(r[9]),
            currency=str(r[10]),
            amount=Decimal(str(r[11])),
            price_ref=r[12],
            input_tokens=int(r[13]),
            output_tokens=int(r[14]),
            attribution=attribution_of(str(r[15])),
        )
    for row, attribution in iter_rollups(db, since_s, until_s, filters):
        yield CallRow(
            row_id=None,
            trace_id=None,
            span_id=None,
            start_ns=None,
            day=str(row["day"]),
            service=str(row["service"]),
            provider=row["provider"],
            model=row["model"],
            operation=row["operation"],
            status=str(row["status"]),
            currency=str(row["currency"]),
            amount=Decimal(str(row["amount"])),
            price_ref=None,
            input_tokens=int(row["input_tokens"]),
            output_tokens=int(row["output_tokens"]),
            attribution=attribution,
            calls=int(row["calls"]),
        )
