"""A chargeback report: ledger spend grouped by any keys, with allocation rules applied.

Deterministic by construction: the lines come sorted by key (unattributed last) and currency,
amounts are exact Decimals, and the only identity in the header is the ledger's chain head (data,
not the clock), so the same ledger and rules give the same report, byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from otel_cost.ledger import ChainHead, Ledger, SpendRow, group_order
from otel_cost.report.allocate import even_weights, split_amount
from otel_cost.report.rules import UNATTRIBUTED, AllocationRules

ORIGINAL_VIEW = "original"


class ReportError(ValueError):
    """A report that cannot be built as asked (unknown view, rules key not grouped by, ...)."""


@dataclass(frozen=True, slots=True)
class ReportLine:
    """Spend of one group: charged directly plus allocated from pools."""

    key: tuple[str | None, ...]
    currency: str
    direct: Decimal
    allocated: Decimal = Decimal(0)
    calls: int = 0
    unpriced_calls: int = 0
    error_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def amount(self) -> Decimal:
        return self.direct + self.allocated


@dataclass(frozen=True, slots=True)
class AllocationRecord:
    """How one pool line was split (the trail from an allocated amount back to its calls)."""

    source: tuple[str | None, ...]
    """Key of the pooled line (drill into it to list the calls)."""
    pool: str
    currency: str
    amount: Decimal
    calls: int
    method: str
    shares: tuple[tuple[str, Decimal], ...]
    unpriced_calls: int = 0
    """Calls of the pooled line that could not be (fully) priced: counted, never hidden by pooling."""


@dataclass(frozen=True, slots=True)
class Report:
    by: tuple[str, ...]
    since: str | None
    until: str | None
    view: str
    head: ChainHead
    lines: tuple[ReportLine, ...]
    allocations: tuple[AllocationRecord, ...] = ()
    rules_key: str | None = None
    rules_digest: str | None = None
    daily: tuple[tuple[str, str, Decimal], ...] = ()
    notes: tuple[str, ...] = field(default=())

    def totals(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for line in self.lines:
            out[line.currency] = out.get(line.currency, Decimal(0)) + line.amount
        return dict(sorted(out.items()))

    def calls(self, currency: str | None = None) -> int:
        """Calls behind the report (direct ones and those of allocated pools), per currency or all."""
        direct = sum(line.calls for line in self.lines if currency in (None, line.currency))
        return direct + sum(a.calls for a in self.allocations if currency in (None, a.currency))


def line_sort_key(line: ReportLine) -> tuple[tuple[tuple[bool, str], ...], str]:
    return group_order(line.key), line.currency


def _line(row: SpendRow) -> ReportLine:
    return ReportLine(
        key=row.key,
        currency=row.currency,
        direct=row.amount,
        calls=row.calls,
        unpriced_calls=row.unpriced_calls,
        error_calls=row.error_calls,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
    )


def build_report(
    ledger: Ledger,
    by: Sequence[str],
    *,
    since: date | str | None = None,
    until: date | str | None = None,
    rules: AllocationRules | None = None,
    rules_text: str | None = None,
    view: str | None = None,
    daily: bool = False,
) -> Report:
    """Spend by ``by`` over the inclusive UTC day range, allocated by ``rules`` when given."""
    by = tuple(by)
    _check_rules_key(by, rules)
    spent = read_report(ledger, by, since=since, until=until, view=view, daily=daily)
    return allocate(spent, rules, rules_text)


def read_report(
    ledger: Ledger,
    by: Sequence[str],
    *,
    since: date | str | None = None,
    until: date | str | None = None,
    view: str | None = None,
    daily: bool = False,
) -> Report:
    """Spend by ``by`` as the ledger holds it, read in one snapshot (no rules applied): its
    ``head`` is the chain head every line was read at. ``allocate`` applies rules to it."""
    by = tuple(by)
    notes: list[str] = []
    with ledger.snapshot():
        if view is not None and view != ORIGINAL_VIEW:
            info = ledger.view_info(view)
            if info is None:
                raise ReportError(f"no price view named {view!r} (otel-cost reprice creates one)")
            notes.append(
                f"view {view}: repriced with {info.catalog} for {info.from_day}..{info.to_day}; "
                "calls outside it keep their original price"
            )
        head = ledger.head()
        rows = ledger.spend(by, since=since, until=until, view=_view(view))
        series = tuple(
            (str(r.key[0]), r.currency, r.amount)
            for r in (ledger.spend(["day"], since=since, until=until, view=_view(view)) if daily else [])
        )
    return Report(
        by=by,
        since=None if since is None else str(since),
        until=None if until is None else str(until),
        view=view or ORIGINAL_VIEW,
        head=head,
        lines=tuple(sorted((_line(r) for r in rows), key=line_sort_key)),
        daily=series,
        notes=tuple(notes),
    )


def allocate(report: Report, rules: AllocationRules | None, rules_text: str | None = None) -> Report:
    """``report`` (from ``read_report``) with ``rules`` applied: the same reading, so the same
    head; ``rules_text`` (the file as read) is what the header's digest names."""
    _check_rules_key(report.by, rules)
    digest = hashlib.sha256(rules_text.encode()).hexdigest()[:16] if rules_text else None
    if rules is None:
        return replace(report, rules_digest=digest)
    by = report.by
    key_index = by.index(rules.key) if rules.key in by else by.index(f"attr:{rules.key}")
    lines, allocations, more = _allocate(list(report.lines), rules, key_index)
    lines.sort(key=line_sort_key)
    return replace(
        report,
        lines=tuple(lines),
        allocations=allocations,
        rules_key=rules.key,
        rules_digest=digest,
        notes=(*report.notes, *more),
    )


def _check_rules_key(by: tuple[str, ...], rules: AllocationRules | None) -> None:
    if rules is not None and rules.key not in by and f"attr:{rules.key}" not in by:
        raise ReportError(f"the rules allocate {rules.key!r}: add it to --by")


def _view(view: str | None) -> str | None:
    return None if view in (None, ORIGINAL_VIEW) else view


def _allocate(
    lines: list[ReportLine], rules: AllocationRules, idx: int
) -> tuple[list[ReportLine], tuple[AllocationRecord, ...], list[str]]:
    def group(line: ReportLine) -> tuple[tuple[str | None, ...], str]:
        return (*line.key[:idx], *line.key[idx + 1 :]), line.currency

    direct_in_group: dict[tuple[tuple[str | None, ...], str], dict[str, Decimal]] = {}
    direct_overall: dict[str, dict[str, Decimal]] = {}
    for line in lines:
        value = line.key[idx]
        if value is not None and rules.pool_for(value) is None:
            g = direct_in_group.setdefault(group(line), {})
            g[value] = g.get(value, Decimal(0)) + line.direct
            o = direct_overall.setdefault(line.currency, {})
            o[value] = o.get(value, Decimal(0)) + line.direct
    everyone = sorted({v for per in direct_overall.values() for v in per})
    kept: dict[tuple[tuple[str | None, ...], str], ReportLine] = {}
    pooled: list[ReportLine] = []
    for line in lines:
        value = line.key[idx]
        if rules.pool_for(value) is not None and line.direct != 0:
            pooled.append(line)
        else:
            kept[(line.key, line.currency)] = line
    records: list[AllocationRecord] = []
    notes: list[str] = []
    for line in sorted(pooled, key=line_sort_key):
        pool = rules.pool_for(line.key[idx])
        assert pool is not None
        candidates = list(pool.to) if pool.to is not None else everyone
        if pool.method == "fixed":
            weights = dict(pool.shares or {})
        elif pool.method == "even":
            weights = even_weights(candidates)
        else:
            local = direct_in_group.get(group(line), {})
            weights = {t: local[t] for t in candidates if local.get(t, Decimal(0)) > 0}
            if not weights:
                overall = direct_overall.get(line.currency, {})
                weights = {t: overall[t] for t in candidates if overall.get(t, Decimal(0)) > 0}
        if not any(w > 0 for w in weights.values()):
            notes.append(f"pool {pool.match!r} line {_label(line.key)} kept: no target to allocate it to")
            kept[(line.key, line.currency)] = line
            continue
        shares = split_amount(line.direct, weights, rules.quantum)
        ordered = tuple(sorted(shares.items()))
        records.append(
            AllocationRecord(
                source=line.key,
                pool=pool.match,
                currency=line.currency,
                amount=line.direct,
                calls=line.calls,
                method=pool.method,
                shares=ordered,
                unpriced_calls=line.unpriced_calls,
            )
        )
        for target, share in ordered:
            key = (*line.key[:idx], target, *line.key[idx + 1 :])
            current = kept.get((key, line.currency)) or ReportLine(
                key=key, currency=line.currency, direct=Decimal(0)
            )
            kept[(key, line.currency)] = replace(current, allocated=current.allocated + share)
    return list(kept.values()), tuple(records), notes


def _label(key: tuple[str | None, ...]) -> str:
    return "/".join(UNATTRIBUTED if k is None else k for k in key)
