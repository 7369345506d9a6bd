"""``otel-cost ledger unpriced`` and ``Ledger.unpriced``: which calls were not priced, and why.

Every ledger here is a real one (SQLite file, or a real PostgreSQL server) filled through
``Ledger.append``; nothing is mocked.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from otel_cost.cli import main
from otel_cost.commands.ledger import UNPRICED_HINT
from otel_cost.ledger import Ledger, UnpricedGroup, open_ledger
from otel_cost.pricing.types import CostResult
from otel_cost.record import CostRecord
from tests.ledger.ledger_fixtures import make_record

# make_record's day 0 is 2025-11-23.
D0, D1, D2 = "2025-11-23", "2025-11-24", "2025-11-25"


def _not_priced(
    n: int,
    *,
    day: int,
    reason: str,
    status: str = "unpriced",
    service: str = "checkout",
    provider: str | None = "openai",
    model: str | None = "gpt-4o",
) -> CostRecord:
    record = make_record(n, day=day, status=status, service=service, amount="0.002")
    result = dataclasses.replace(record.result, reason=reason, provider=provider, model=model)
    usage = None if reason == "no_usage" else record.usage
    return dataclasses.replace(record, result=result, provider=provider, model=model, usage=usage)


def _batches() -> list[list[CostRecord]]:
    """Day 0 in a batch of its own (so ``compact`` can take it alone), then days 1 and 2.

    Not priced, per group: checkout/openai/gpt-9 unknown_model x3 (days 0, 0, 2); checkout/openai/
    gpt-4o no_usage x2 (day 1); search/anthropic/claude-x partial no_price_component x2 (days 1, 2);
    search/openai/gpt-4o no_usage x2 (day 0); search with no provider nor model, unknown_model x1
    (day 2). Priced calls (n 1-3, 30) must not appear.
    """
    return [
        [
            make_record(1, day=0),
            make_record(2, day=0, service="search"),
            _not_priced(10, day=0, reason="unknown_model", model="gpt-9"),
            _not_priced(11, day=0, reason="unknown_model", model="gpt-9"),
            _not_priced(20, day=0, reason="no_usage", service="search"),
            _not_priced(21, day=0, reason="no_usage", service="search"),
        ],
        [
            make_record(3, day=1),
            _not_priced(12, day=2, reason="unknown_model", model="gpt-9"),
            _not_priced(22, day=1, reason="no_usage"),
            _not_priced(23, day=1, reason="no_usage"),
            _not_priced(
                24,
                day=1,
                reason="no_price_component",
                status="partial",
                service="search",
                provider="anthropic",
                model="claude-x",
            ),
            _not_priced(
                25,
                day=2,
                reason="no_price_component",
                status="partial",
                service="search",
                provider="anthropic",
                model="claude-x",
            ),
            _not_priced(26, day=2, reason="unknown_model", service="search", provider=None, model=None),
            make_record(30, day=2, status="priced"),
        ],
    ]


EXPECTED = [
    UnpricedGroup("checkout", "openai", "gpt-9", "unpriced", "unknown_model", 3, D0, D2),
    # three groups of 2 calls, in key order
    UnpricedGroup("checkout", "openai", "gpt-4o", "unpriced", "no_usage", 2, D1, D1),
    UnpricedGroup("search", "anthropic", "claude-x", "partial", "no_price_component", 2, D1, D2),
    UnpricedGroup("search", "openai", "gpt-4o", "unpriced", "no_usage", 2, D0, D0),
    UnpricedGroup("search", None, None, "unpriced", "unknown_model", 1, D2, D2),
]


def _fill(url: str) -> Ledger:
    ledger = open_ledger(url)
    for batch in _batches():
        assert len(ledger.append(batch)) == len(batch)
    return ledger


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["ledger", "unpriced", *argv])
    captured = capsys.readouterr()
    assert captured.err == ""
    return code, captured.out


def test_groups_sorted_by_calls_then_key(tmp_path: Path) -> None:
    with _fill(str(tmp_path / "l.db")) as ledger:
        assert ledger.unpriced() == EXPECTED


def test_table_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "l.db"
    _fill(str(path)).close()
    code, out = _run(capsys, "--ledger", str(path))
    assert code == 0
    assert out == (
        "unpriced or partial calls, start..end (stored prices, not price views):\n"
        "service   provider   model     status    reason              calls  first_day   last_day\n"
        "checkout  openai     gpt-9     unpriced  unknown_model           3  2025-11-23  2025-11-25\n"
        "checkout  openai     gpt-4o    unpriced  no_usage                2  2025-11-24  2025-11-24\n"
        "search    anthropic  claude-x  partial   no_price_component      2  2025-11-24  2025-11-25\n"
        "search    openai     gpt-4o    unpriced  no_usage                2  2025-11-23  2025-11-23\n"
        "search    -          -         unpriced  unknown_model           1  2025-11-25  2025-11-25\n"
        "total: 10 calls in 5 groups\n"
        f"{UNPRICED_HINT}\n"
    )
    assert UNPRICED_HINT.startswith("hint: unknown_model, no_price: add the model")
    assert "docs/pricing.md" in UNPRICED_HINT and "no_usage" in UNPRICED_HINT


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "l.db"
    _fill(str(path)).close()
    code, out = _run(capsys, "--ledger", f"sqlite:///{path}", "--format", "json", "--since", D1)
    assert code == 0
    # From day 1 on, gpt-9 keeps only its day-2 call and search/openai/gpt-4o (day 0) drops out.
    assert json.loads(out) == {
        "since": D1,
        "until": None,
        "pricing": "stored",
        "calls": 6,
        "groups": [
            {
                "service": "checkout",
                "provider": "openai",
                "model": "gpt-4o",
                "status": "unpriced",
                "reason": "no_usage",
                "calls": 2,
                "first_day": D1,
                "last_day": D1,
            },
            {
                "service": "search",
                "provider": "anthropic",
                "model": "claude-x",
                "status": "partial",
                "reason": "no_price_component",
                "calls": 2,
                "first_day": D1,
                "last_day": D2,
            },
            {
                "service": "checkout",
                "provider": "openai",
                "model": "gpt-9",
                "status": "unpriced",
                "reason": "unknown_model",
                "calls": 1,
                "first_day": D2,
                "last_day": D2,
            },
            {
                "service": "search",
                "provider": None,
                "model": None,
                "status": "unpriced",
                "reason": "unknown_model",
                "calls": 1,
                "first_day": D2,
                "last_day": D2,
            },
        ],
    }


def test_since_until_clip_counts_and_days(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _fill(str(tmp_path / "l.db")) as ledger:
        assert ledger.unpriced(since=D1, until=D1) == [
            UnpricedGroup("checkout", "openai", "gpt-4o", "unpriced", "no_usage", 2, D1, D1),
            UnpricedGroup("search", "anthropic", "claude-x", "partial", "no_price_component", 1, D1, D1),
        ]
        assert ledger.unpriced(until=date(2025, 11, 23)) == [
            UnpricedGroup("checkout", "openai", "gpt-9", "unpriced", "unknown_model", 2, D0, D0),
            UnpricedGroup("search", "openai", "gpt-4o", "unpriced", "no_usage", 2, D0, D0),
        ]
        assert ledger.unpriced(since="2025-11-26") == []
    path = str(tmp_path / "l.db")
    code, out = _run(capsys, "--ledger", path, "--from", D2, "--to", D2)
    assert code == 0
    assert out.splitlines()[0] == f"unpriced or partial calls, {D2}..{D2} (stored prices, not price views):"
    assert out.splitlines()[-2] == "total: 3 calls in 3 groups"  # gpt-9, claude-x and the nameless one


def test_empty_listing_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "l.db")
    with open_ledger(path) as ledger:
        ledger.append([make_record(1), make_record(2, status="priced")])
    assert _run(capsys, "--ledger", path) == (
        0,
        "no unpriced or partial calls in start..end (stored prices)\n",
    )
    code, out = _run(capsys, "--ledger", path, "--format", "json", "--until", D0)
    assert code == 0
    assert json.loads(out) == {"since": None, "until": D0, "pricing": "stored", "calls": 0, "groups": []}


def test_reversed_range_and_missing_ledger_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(tmp_path / "l.db")
    _fill(path).close()
    assert main(["ledger", "unpriced", "--ledger", path, "--since", D2, "--until", D0]) == 2
    assert capsys.readouterr().err == (f"otel-cost ledger unpriced: --since {D2} is after --until {D0}\n")
    assert main(["ledger", "unpriced", "--ledger", str(tmp_path / "absent.db")]) == 2
    assert capsys.readouterr().err.startswith("otel-cost ledger unpriced: ")


def test_compacted_days_keep_their_reasons(tmp_path: Path) -> None:
    """Day 0's batch becomes roll-ups (which keep status and reason): the listing is unchanged."""
    with _fill(str(tmp_path / "l.db")) as ledger:
        result = ledger.compact(1, today=date(2025, 11, 25))  # cutoff 2025-11-24: only batch 1
        assert (result.batches, result.rows) == (1, 6)
        assert ledger.count(until=D0) == 0  # day 0 is now only in roll-ups
        assert ledger.unpriced() == EXPECTED
        assert ledger.unpriced(until=D0) == [
            UnpricedGroup("checkout", "openai", "gpt-9", "unpriced", "unknown_model", 2, D0, D0),
            UnpricedGroup("search", "openai", "gpt-4o", "unpriced", "no_usage", 2, D0, D0),
        ]


def test_price_views_do_not_change_the_listing(tmp_path: Path) -> None:
    """A reprice that prices every call leaves the stored statuses, which are what is listed."""
    with _fill(str(tmp_path / "l.db")) as ledger:
        ledger.write_view(
            "all-priced",
            catalog="test",
            from_day=D0,
            to_day=D2,
            reprice=lambda call: CostResult(status="priced", amount=Decimal("0.01")),
        )
        (row,) = ledger.spend(["status"], view="all-priced")
        assert (row.key, row.unpriced_calls) == (("priced",), 0)  # the view did price them all
        assert ledger.unpriced() == EXPECTED


def test_postgresql_groups_like_sqlite(postgres_url: str, tmp_path: Path) -> None:
    """The same records, with day 0 compacted, list the same groups on PostgreSQL as on SQLite."""
    listings: list[list[UnpricedGroup]] = []
    for url in (postgres_url, str(tmp_path / "l.db")):
        with _fill(url) as ledger:
            ledger.compact(1, today=date(2025, 11, 25))
            listings.append(ledger.unpriced())
            assert ledger.unpriced(since=D1, until=D1)[1].calls == 1  # claude-x's day-1 call
    assert listings[0] == listings[1] == EXPECTED
