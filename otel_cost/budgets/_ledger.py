"""A budget's spend read from the ledger: the fleet's view, from any process or language.

:func:`evaluate` answers "where does each scope value of this budget stand in the period that
contains ``at``": spend in the budget's unit (money converted to its currency, tokens, calls),
limit, remaining, and the alert thresholds crossed. The in-process guard seeds its windows
from the same function at start, so a restart does not reset a monthly budget.

How calls are counted (the ledger's own rules apply: one row per call, ``day`` is the UTC day
of the call's start):

* a call counts in the period that contains its start time;
* ledger days that lie wholly inside the period are summed by ``Ledger.spend`` (exact, roll-ups of
  compacted days included); the UTC days the period starts or ends in are read call by call and
  filtered by start time, except compacted days there, whose roll-ups count whole;
* money: each row's amount converted from its currency to the budget's (``Policy.rate``); a row
  in a currency no rate converts is not added but reported in ``BudgetState.unconverted``;
  unpriced calls add ``Policy.unpriced`` each when the policy sets it, and are counted in
  ``BudgetState.unpriced_calls`` either way;
* tokens: input + output tokens; calls: the number of calls.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from otel_cost.budgets._policy import Budget, Policy
from otel_cost.budgets._window import Period
from otel_cost.ledger import CallRow, SpendRow

_NS = 1_000_000_000
_DAY_NS = 86400 * _NS
_HUNDRED = Decimal(100)


class LedgerReader(Protocol):
    """What budgets read of :class:`otel_cost.ledger.Ledger`."""

    def spend(
        self,
        by: Iterable[str] = (),
        since: date | str | None = None,
        until: date | str | None = None,
        where: Mapping[str, str | None] | None = None,
        view: str | None = None,
    ) -> list[SpendRow]: ...

    def calls(
        self,
        since: date | str | None = None,
        until: date | str | None = None,
        where: Mapping[str, str | None] | None = None,
        view: str | None = None,
    ) -> Iterable[CallRow]: ...


@dataclass(slots=True)
class BudgetState:
    """One scope value of one budget in one period."""

    budget: Budget
    scope_values: tuple[str, ...]
    period: Period
    spent: Decimal = Decimal(0)
    """In the limit's unit: money in the limit's currency, tokens, or calls."""
    calls: int = 0
    unpriced_calls: int = 0
    unconverted: dict[str, Decimal] = field(default_factory=dict[str, Decimal])
    """Spend in currencies no configured rate converts, per currency (not in ``spent``)."""

    @property
    def limit(self) -> Decimal:
        return self.budget.limit.amount

    @property
    def remaining(self) -> Decimal:
        """``limit - spent``; negative once the budget is overrun."""
        return self.limit - self.spent

    @property
    def percent(self) -> Decimal:
        """Spent in percent of the limit (a zero limit is 100% used by anything, 0% by nothing)."""
        if self.limit == 0:
            return _HUNDRED if self.spent > 0 else Decimal(0)
        return self.spent * _HUNDRED / self.limit

    @property
    def alerts_crossed(self) -> tuple[Decimal, ...]:
        """The budget's alert thresholds (percent) this spend has reached."""
        percent = self.percent
        return tuple(t for t in self.budget.alerts if percent >= t)

    @property
    def scope(self) -> str:
        """``user=u-1`` / ``global``."""
        return self.budget.describe_scope(self.scope_values)


def convert(amount: Decimal, currency: str, budget_currency: str, policy: Policy) -> Decimal | None:
    """``amount`` of spend in ``currency`` expressed in ``budget_currency``; ``None`` when no
    configured rate converts it (a budget never counts foreign money at a guessed rate)."""
    if currency == budget_currency:
        return amount
    if currency != policy.currency:
        return None
    rate = policy.rate(budget_currency)
    return None if rate is None else amount * rate


def evaluate(
    policy: Policy,
    ledger: LedgerReader,
    *,
    at: datetime | int | None = None,
    budgets: Iterable[Budget] | None = None,
) -> list[BudgetState]:
    """Each budget's state per scope value over the ledger, in the period containing ``at``
    (default now; a datetime or epoch ns). ``call`` windows are skipped (nothing accumulates).
    Sorted by budget (policy order) then scope values."""
    at_ns = _as_ns(at)
    out: list[BudgetState] = []
    for budget in policy.budgets if budgets is None else budgets:
        if not budget.window.accumulates:
            continue
        period = budget.window.period(at_ns)
        states: dict[tuple[str, ...], BudgetState] = {}
        for values, row in _rows(budget, period, at_ns, ledger):
            state = states.get(values)
            if state is None:
                state = states[values] = BudgetState(budget, values, period)
            _add(state, row, policy)
        out.extend(states[k] for k in sorted(states))
    return out


@dataclass(frozen=True, slots=True)
class _Row:
    currency: str
    amount: Decimal
    calls: int
    unpriced: int
    tokens: int
    start_ns: int | None = None


def _add(state: BudgetState, row: _Row, policy: Policy) -> None:
    limit = state.budget.limit
    state.calls += row.calls
    state.unpriced_calls += row.unpriced
    if limit.kind == "calls":
        state.spent += row.calls
    elif limit.kind == "tokens":
        state.spent += row.tokens
    else:
        currency = limit.currency or policy.currency
        amount = row.amount
        if row.unpriced and policy.unpriced is not None:
            extra = convert(policy.unpriced * row.unpriced, policy.currency, currency, policy)
            state.spent += extra or 0
        converted = convert(amount, row.currency, currency, policy)
        if converted is None:
            state.unconverted[row.currency] = state.unconverted.get(row.currency, Decimal(0)) + amount
        else:
            state.spent += converted


def _rows(
    budget: Budget, period: Period, at_ns: int, ledger: LedgerReader
) -> Iterable[tuple[tuple[str, ...], _Row]]:
    """(scope values, row) for every ledger row in the period up to ``at_ns`` the budget covers."""
    keys = list(dict.fromkeys((*budget.scope, *sorted(budget.match))))
    start = period.start_ns
    end = at_ns if period.end_ns is None else min(period.end_ns, at_ns + 1)
    if start is None:  # session: the whole ledger
        full: tuple[date, date] | None = (date.min, _utc_day(end))
        edges: list[date] = []
    else:
        first, last = _utc_day(start), _utc_day(end - 1)
        inner_first = first if _day_start(first) >= start else first + timedelta(days=1)
        inner_last = last if _day_start(last) + _DAY_NS <= end else last - timedelta(days=1)
        full = (inner_first, inner_last) if inner_first <= inner_last else None
        edges = sorted({d for d in (first, last) if full is None or not full[0] <= d <= full[1]})
    if full is not None:
        since = None if full[0] == date.min else full[0]
        for row in ledger.spend(keys, since=since, until=full[1]):
            attribution = {k: v for k, v in zip(keys, row.key, strict=True) if v is not None}
            values = budget.scope_values(attribution)
            if values is not None:
                tokens = row.input_tokens + row.output_tokens
                yield values, _Row(row.currency, row.amount, row.calls, row.unpriced_calls, tokens)
    for day in edges:
        for call in ledger.calls(since=day, until=day):
            if call.start_ns is not None and not (start or 0) <= call.start_ns < end:
                continue
            values = budget.scope_values(call.attribution)
            if values is not None:
                unpriced = call.calls if call.status == "unpriced" else 0
                tokens = call.input_tokens + call.output_tokens
                yield values, _Row(call.currency, call.amount, call.calls, unpriced, tokens, call.start_ns)


def _utc_day(ns: int) -> date:
    return datetime.fromtimestamp(ns / _NS, UTC).date()


def _day_start(day: date) -> int:
    return (day - date(1970, 1, 1)).days * _DAY_NS


def _as_ns(at: datetime | int | None) -> int:
    if at is None:
        return time.time_ns()
    if isinstance(at, int):
        return at
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware (or epoch nanoseconds)")
    delta = at - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * _NS + delta.microseconds * 1000
