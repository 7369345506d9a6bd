"""Reads of several tables see one snapshot: a compaction committed by another connection between
``spend``'s read of ``calls`` and its read of ``rollups`` neither hides nor double-counts a call.

The compaction runs from a second ``Ledger`` on the same database (its own connection, as another
process would), right after the first statement the reader sends: deterministic, where two
processes racing (what a reviewer saw: a total of 1.0, then 0.5) are not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from otel_cost.ledger import Ledger, open_ledger
from tests.ledger.ledger_fixtures import PassThroughBackend, make_record

TODAY = date(2025, 11, 27)
"""Day 4 after DAY0 (2025-11-23): ``compact(1, today=TODAY)`` rolls up the day-0 batch only."""


class _AfterFirstStatement(PassThroughBackend):
    """The real backend; ``hook`` runs once, right after the next ``execute`` returns. A wrapper,
    not a mock: every statement runs on the real database."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.hook: Callable[[], None] | None = None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows = self._inner.execute(sql, params)
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()
        return rows


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    return str(request.getfixturevalue("postgres_url"))


def _ledgers(url: str) -> tuple[Ledger, _AfterFirstStatement, Ledger]:
    """A reader whose statements can be interleaved, and a second ledger (connection) that
    compacts. Three day-0 calls of 0.25 and one day-4 call of 0.5: total 0.25 * 3 + 0.5 = 1.25."""
    writer = open_ledger(url)
    writer.append([make_record(i, amount="0.25", day=0, attribution={"project": "a"}) for i in (1, 2, 3)])
    writer.append([make_record(4, amount="0.5", day=4, attribution={"project": "b"})])
    db = _AfterFirstStatement(open_ledger(url).db)
    return Ledger(db, url), db, writer


def _compact(writer: Ledger, batches: int, rows: int) -> Callable[[], None]:
    def run() -> None:
        result = writer.compact(1, today=TODAY)
        assert (result.batches, result.rows) == (batches, rows)

    return run


def test_spend_is_one_snapshot(url: str) -> None:
    reader, db, writer = _ledgers(url)
    db.hook = _compact(writer, 1, 3)
    rows = reader.spend(["project"])
    assert db.hook is None  # the compaction ran between the reader's statements
    assert [(r.key, r.amount, r.calls) for r in rows] == [
        (("a",), Decimal("0.75"), 3),  # 3 * 0.25, counted once (calls or roll-up, not both)
        (("b",), Decimal("0.5"), 1),
    ]
    # After it, the roll-up stands in for the three calls: the same figures.
    assert [(r.key, r.amount, r.calls) for r in reader.spend(["project"])] == [
        (("a",), Decimal("0.75"), 3),
        (("b",), Decimal("0.5"), 1),
    ]
    assert reader.count() == 1  # the day-4 call; the day-0 ones are in the roll-up now
    reader.close()
    writer.close()


def test_reads_inside_snapshot_share_it(url: str) -> None:
    """``Ledger.snapshot()`` (what ``otel-cost report`` holds) around ``count``, ``spend`` and
    ``unpriced``: they join its transaction (SQLite cannot nest BEGIN) and all see the ledger as it
    was before a compaction committed after the first of them."""
    reader, db, writer = _ledgers(url)
    writer.append([make_record(5, status="unpriced", day=0)])
    with reader.snapshot():
        db.hook = _compact(writer, 2, 4)  # the day-0 batches: calls 1-3, then 5
        assert reader.count() == 5
        assert db.hook is None
        assert sum((r.amount for r in reader.spend()), Decimal(0)) == Decimal("1.25")
        assert reader.count(until="2025-11-23") == 4  # the day-0 calls, still raw in this snapshot
        assert [(g.status, g.calls) for g in reader.unpriced()] == [("unpriced", 1)]
    assert reader.count() == 1
    assert sum((r.amount for r in reader.spend()), Decimal(0)) == Decimal("1.25")
    assert reader.verify().ok
    reader.close()
    writer.close()
