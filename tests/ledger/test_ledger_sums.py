"""Ledger sums never overflow: every amount the ledger accepts can be summed with any other, on
SQLite and PostgreSQL, in reports, drill-downs and compaction (the ledger is append-only, so a
sum that failed once would fail every report covering those rows forever)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext
from pathlib import Path

import pytest

from otel_cost.ledger import open_ledger
from otel_cost.ledger._rows import EXACT, storable_amount
from tests.ledger.ledger_fixtures import make_record

MAX = "9223372036.854775807"
"""The largest amount a row holds (``amount_nano`` is a signed 64-bit integer)."""
MIN = "-9223372036.854775808"


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    return str(request.getfixturevalue("postgres_url"))


def test_amounts_at_the_limit_sum_exactly(ledger_url: str) -> None:
    assert storable_amount(Decimal(MAX)) and storable_amount(Decimal(MIN))
    ledger = open_ledger(ledger_url)
    big = [make_record(n, amount=MAX, attribution={"project": "p"}) for n in range(1, 4)]
    fine = make_record(4, amount="0.000000000000000000001", attribution={"project": "p"})  # 1e-21
    ledger.append([*big, fine])
    # 3 x 9223372036.854775807 = 27670116110.564327421, plus 1e-21 (kept exactly from the text).
    expected = Decimal("27670116110.564327421000000000001")
    assert [(r.key, r.amount, r.calls) for r in ledger.spend(["project"])] == [(("p",), expected, 4)]
    assert [r.amount for r in ledger.spend(["model"], view=None)] == [expected]
    with localcontext(EXACT):  # the test's own sum, exact as the ledger's
        assert sum(c.amount for c in ledger.calls()) == expected
    ledger.close()


def test_negative_amounts_at_the_limit_sum_exactly(ledger_url: str) -> None:
    ledger = open_ledger(ledger_url)
    ledger.append([make_record(n, amount=MIN) for n in range(1, 3)] + [make_record(3, amount=MAX)])
    # 2 x -9223372036.854775808 + 9223372036.854775807 = -9223372036.854775809
    assert [r.amount for r in ledger.spend()] == [Decimal("-9223372036.854775809")]
    ledger.close()


def test_compaction_of_amounts_at_the_limit(ledger_url: str) -> None:
    """A day whose calls sum past what one row's integer columns hold compacts, and its roll-ups
    report the same exact total."""
    ledger = open_ledger(ledger_url)
    ledger.append([make_record(n, amount=MAX, day=0) for n in range(1, 4)])
    ledger.append([make_record(9, amount="1", day=4)])
    before = ledger.spend(["day"])
    result = ledger.compact(1, today=date(2025, 11, 27))
    assert result.rows == 3
    after = ledger.spend(["day"])
    assert [(r.key, r.amount, r.calls) for r in after] == [(r.key, r.amount, r.calls) for r in before]
    assert after[0].amount == Decimal("27670116110.564327421")  # 3 x MAX
    assert ledger.verify().ok
    ledger.close()


def test_token_counts_past_the_limit_are_refused(tmp_path: Path) -> None:
    """Token sums cannot overflow either: a count above ``MAX_TOKEN_COUNT`` (the most usage read from
    a span may hold) is a data error, so the receiver rejects that record alone."""
    from otel_cost.ledger._rows import MAX_TOKEN_COUNT
    from otel_cost.receiver.pipeline import _is_data_error

    ledger = open_ledger(str(tmp_path / "ledger.sqlite"))
    ledger.append([make_record(n, input_tokens=MAX_TOKEN_COUNT) for n in (1, 2)])
    with pytest.raises(ValueError, match="token counts") as caught:
        ledger.append([make_record(3, input_tokens=2**62)])
    assert _is_data_error(caught.value)
    assert [r.input_tokens for r in ledger.spend()] == [2 * MAX_TOKEN_COUNT]
    ledger.close()
