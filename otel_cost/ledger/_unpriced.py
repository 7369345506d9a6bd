"""Which calls were not (fully) priced, and why: the ``unpriced``/``partial`` calls per group.

Reads the stored (original) pricing of each call, never a price view. Compacted days count too:
a roll-up keeps the status and reason of the calls it replaced, so its calls join the same group.
Calls and roll-ups are read in one statement, so a compaction running meanwhile can neither hide
nor double-count a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from otel_cost.ledger._backend import Backend
from otel_cost.ledger._query import day_conditions, day_text
from otel_cost.ledger._rows import group_order

NOT_PRICED = ("unpriced", "partial")
"""The statuses listed: no amount at all, or an amount missing some components."""

_KEY = "service, provider, model, status, reason"


@dataclass(frozen=True, slots=True)
class UnpricedGroup:
    """The calls of one (service, provider, model, status, reason) not fully priced."""

    service: str
    provider: str | None
    model: str | None
    status: str
    """``unpriced`` or ``partial``."""
    reason: str | None
    """Why (``unknown_model``, ``no_usage``, ``no_price_component``...; see docs/pricing.md)."""
    calls: int
    first_day: str
    """First UTC day (``YYYY-MM-DD``) such a call was seen in the range."""
    last_day: str

    @property
    def key(self) -> tuple[str | None, ...]:
        return (self.service, self.provider, self.model, self.status, self.reason)


def _filter(since: str | None, until: str | None) -> tuple[str, list[Any]]:
    days, params = day_conditions(since, until)
    conds = [f"status IN ({', '.join('?' * len(NOT_PRICED))})", *days]
    return " WHERE " + " AND ".join(conds), [*NOT_PRICED, *params]


def unpriced_groups(
    db: Backend, *, since: date | str | None = None, until: date | str | None = None
) -> list[UnpricedGroup]:
    """Groups of ``unpriced``/``partial`` calls (raw calls and roll-ups) in the inclusive UTC day
    range, sorted by calls (most first), then by key (``None`` after any value)."""
    where, params = _filter(day_text(since), day_text(until))
    sql = (
        f"SELECT {_KEY}, SUM(n), MIN(day), MAX(day) FROM ("
        f"SELECT {_KEY}, 1 AS n, day FROM calls{where}"
        f" UNION ALL SELECT {_KEY}, calls AS n, day FROM rollups{where}"
        f") u GROUP BY {_KEY}"
    )
    out = [
        UnpricedGroup(
            service=str(r[0]),
            provider=None if r[1] is None else str(r[1]),
            model=None if r[2] is None else str(r[2]),
            status=str(r[3]),
            reason=None if r[4] is None else str(r[4]),
            calls=int(r[5]),
            first_day=str(r[6]),
            last_day=str(r[7]),
        )
        for r in db.execute(sql, params + params)
    ]
    out.sort(key=lambda g: (-g.calls, group_order(g.key)))
    return out
