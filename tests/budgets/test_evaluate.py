"""A budget's state read from a real SQLite ledger: periods in the policy's time zone, money
converted by the configured rate only, tokens, calls, and the unpriced-call rule."""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from otel_cost.budgets import evaluate, policy_from_mapping
from otel_cost.ledger import open_ledger
from otel_cost.pricing.types import CostResult, TokenUsage, unpriced
from otel_cost.record import CostRecord


def _ns(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1_000_000_000)


def _record(
    at: str,
    amount: str | None,
    *,
    currency: str = "USD",
    tokens: tuple[int, int] = (100, 10),
    **attribution: str,
) -> CostRecord:
    result = (
        unpriced("unknown_model", model="m")
        if amount is None
        else CostResult(status="priced", amount=Decimal(amount), currency=currency, model="m")
    )
    start = _ns(at)
    return CostRecord(
        trace_id=os.urandom(16),
        span_id=os.urandom(8),
        start_time_ns=start,
        end_time_ns=start + 1000,
        kind="llm",
        result=result,
        model="m",
        usage=TokenUsage(input_tokens=tokens[0], output_tokens=tokens[1]),
        attribution=attribution,
    )


def test_day_in_berlin_over_the_ledger(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "ledger.sqlite"))
    ledger.append(
        [
            # Berlin (CET, UTC+1) day 2026-12-03 runs 2026-12-02T23:00Z .. 2026-12-03T23:00Z.
            _record("2026-12-02T22:59:59+00:00", "1.00", user="u1"),  # 23:59:59 on the 2nd: not counted
            _record("2026-12-02T23:00:00+00:00", "0.25", user="u1"),  # 00:00 on the 3rd
            _record("2026-12-03T12:00:00+00:00", "0.50", user="u1"),
            _record("2026-12-03T12:00:00+00:00", "0.70", user="u2"),
            _record("2026-12-03T12:00:00+00:00", None, user="u2"),  # unpriced
            _record("2026-12-03T12:00:00+00:00", "9.00"),  # no user: not in a per-user budget
            _record("2026-12-03T22:30:00+00:00", "0.05", user="u1"),  # 23:30 on the 3rd
            _record("2026-12-03T23:00:00+00:00", "3.00", user="u1"),  # the 4th
        ]
    )
    policy = policy_from_mapping(
        {
            "timezone": "Europe/Berlin",
            "unpriced": "0.10 USD",
            "budgets": [
                {
                    "id": "user-daily",
                    "scope": "user",
                    "window": "day",
                    "limit": "1 USD",
                    "alerts": [50, 80, 100],
                },
                {"id": "calls", "window": "day", "limit": "4 calls"},
                {
                    "id": "tokens",
                    "scope": "user",
                    "match": {"user": "u1"},
                    "window": "day",
                    "limit": "1000 tokens",
                },
            ],
        }
    )
    states = evaluate(policy, ledger, at=_ns("2026-12-03T22:45:00+00:00"))
    by = {(s.budget.id, s.scope): s for s in states}
    u1 = by["user-daily", "user=u1"]
    assert u1.period.key == "2026-12-03"
    assert u1.spent == Decimal("0.80")  # 0.25 + 0.50 + 0.05
    assert u1.remaining == Decimal("0.20")
    assert u1.alerts_crossed == (Decimal(50), Decimal(80))
    u2 = by["user-daily", "user=u2"]
    assert u2.spent == Decimal("0.80")  # 0.70 + one unpriced call counted at 0.10
    assert u2.unpriced_calls == 1 and u2.calls == 2
    # Global calls budget: the six calls of the 3rd (Berlin) so far (22:45Z is before the last).
    assert by["calls", "global"].spent == 6
    assert by["calls", "global"].percent == 150
    # Tokens: three u1 calls of 100 + 10 tokens.
    assert by["tokens", "user=u1"].spent == 330
    assert ("tokens", "user=u2") not in by


def test_month_sums_whole_days_and_edges(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "ledger.sqlite"))
    ledger.append(
        [
            _record("2026-11-30T23:59:00+00:00", "5", project="search"),  # November
            _record("2026-12-01T00:00:00+00:00", "1", project="search"),
            _record("2026-12-15T08:00:00+00:00", "2", project="search"),
            _record("2026-12-15T08:00:00+00:00", "4", project="other"),
            _record("2026-12-20T08:00:00+00:00", "3", project="search", currency="EUR"),  # no rate back
            _record("2026-12-20T09:00:00+00:00", "8", project="search"),  # after ``at``
        ]
    )
    policy = policy_from_mapping(
        {
            "rates": {"EUR": "0.5"},
            "budgets": [
                {
                    "id": "search",
                    "scope": "project",
                    "match": {"project": "search"},
                    "window": "month",
                    "limit": "2,000 USD",
                    "alerts": [80],
                    "action": "alert",
                },
                {
                    "id": "search-eur",
                    "scope": "project",
                    "match": {"project": "search"},
                    "window": "month",
                    "limit": "100 EUR",
                },
            ],
        }
    )
    states = evaluate(policy, ledger, at=_ns("2026-12-20T08:30:00+00:00"))
    usd, eur = states
    assert usd.spent == Decimal(3)  # 1 + 2 (the EUR call is not converted to USD: no such rate)
    assert usd.unconverted == {"EUR": Decimal(3)}
    assert eur.spent == Decimal("4.5")  # (1 + 2) USD x 0.5 + 3 EUR
    assert eur.unconverted == {}


def test_rolling_and_session(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "ledger.sqlite"))
    ledger.append(
        [
            _record("2026-12-03T08:00:00+00:00", "1", session="s1"),
            _record("2026-12-03T09:59:00+00:00", "2", session="s1"),
            _record("2026-12-03T10:20:00+00:00", "4", session="s1"),
            _record("2026-12-01T10:20:00+00:00", "8", session="s1"),
        ]
    )
    policy = policy_from_mapping(
        {
            "budgets": [
                {"id": "hour", "scope": "session", "window": "1h", "limit": "10 USD"},
                {"id": "life", "scope": "session", "window": "session", "limit": "100 USD"},
                {"id": "each", "window": "call", "limit": "1 USD"},
            ]
        }
    )
    hour, life = evaluate(policy, ledger, at=_ns("2026-12-03T10:59:30+00:00"))
    # The hour window covers 09:59:00 .. now (60 whole minutes and the current one).
    assert hour.spent == Decimal(6)
    assert life.spent == Decimal(15)
