"""Tamper evidence and retention: verify names the first broken link; compaction stays verifiable."""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

from otel_cost.ledger import Ledger, open_ledger
from tests.ledger.ledger_fixtures import make_record


def _three_batches(path: Path) -> Ledger:
    ledger = open_ledger(str(path))
    ledger.append(
        [make_record(1, amount="1.25", attribution={"project": "search"}), make_record(2)]
    )  # rows 1-2
    ledger.append([make_record(3, amount="2", day=1), make_record(4, day=1)])  # batch 2: rows 3-4
    ledger.append([make_record(5, day=5, attribution={"project": "ads"})])  # batch 3: row 5
    return ledger


def _raw(path: Path, sql: str, params: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(path)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def test_intact_ledger_verifies(tmp_path: Path) -> None:
    ledger = _three_batches(tmp_path / "l.db")
    report = ledger.verify()
    assert report.ok, report.problems
    assert (report.batches, report.rows) == (3, 5)
    assert report.head == ledger.head().hash
    assert not ledger.verify(expect_head="0" * 64).ok


def test_edited_amount_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    ledger = _three_batches(path)
    _raw(path, "UPDATE calls SET amount = '0.01', amount_nano = 10000000 WHERE row_id = 3")
    report = ledger.verify()
    assert not report.ok
    first = report.problems[0]
    assert (first.batch_id, first.row_id) == (2, 3)
    assert "row altered" in first.message


def test_rehashed_row_breaks_the_batch_digest(tmp_path: Path) -> None:
    """A forger who also rewrites row_hash still breaks the batch's committed digest."""
    path = tmp_path / "l.db"
    ledger = _three_batches(path)
    _raw(path, "UPDATE calls SET amount = '0.01' WHERE row_id = 4")
    conn = sqlite3.connect(path)
    from otel_cost.ledger._rows import CALL_COLUMNS, normalise_row, row_hash

    (values,) = conn.execute(f"SELECT {', '.join(CALL_COLUMNS)} FROM calls WHERE row_id = 4").fetchall()
    conn.execute("UPDATE calls SET row_hash = ? WHERE row_id = 4", (row_hash(normalise_row(values)),))
    conn.commit()
    conn.close()
    first = ledger.verify().problems[0]
    assert first.batch_id == 2
    assert "digest" in first.message


def test_deleted_row_and_edited_attribution_are_found(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    ledger = _three_batches(path)
    _raw(path, "UPDATE call_attribution SET value = 'ads' WHERE row_id = 1")
    _raw(path, "DELETE FROM calls WHERE row_id = 5")
    problems = ledger.verify().problems
    assert (problems[0].batch_id, problems[0].row_id) == (1, 1)
    assert "attribution index" in problems[0].message
    assert problems[1].batch_id == 3
    assert "rows deleted" in problems[1].message


def test_edited_batch_record_breaks_the_link(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    ledger = _three_batches(path)
    _raw(path, "UPDATE batches SET created_ns = created_ns + 1 WHERE batch_id = 2")
    first = ledger.verify().problems[0]
    assert first.batch_id == 2
    assert "batch record altered" in first.message


def test_compaction_keeps_totals_and_verifies(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    ledger = _three_batches(path)
    total_before = ledger.spend(["project"])
    # today = day 5 (2025-11-28), keep 2 days: cutoff 2025-11-26; batches 1 and 2 (days 0, 1) go.
    result = ledger.compact(2, today=date(2025, 11, 28))
    assert (result.cutoff_day, result.batches, result.rows) == ("2025-11-26", 2, 4)
    assert ledger.count() == 1
    report = ledger.verify()
    assert report.ok, report.problems
    assert report.rollups == result.rollups
    # Roll-ups keep every cent and the attribution: the same report as before.
    assert ledger.spend(["project"]) == total_before
    by_day = {r.key: r.amount for r in ledger.spend(["day"])}
    # day 0: 1.25 + 0.0015; day 1: 2 + 0.0015; day 5: 0.0015
    assert by_day == {
        ("2025-11-23",): Decimal("1.2515"),
        ("2025-11-24",): Decimal("2.0015"),
        ("2025-11-28",): Decimal("0.0015"),
    }
    # Drill-down still reaches compacted days, as roll-up lines without ids.
    search = list(ledger.calls(where={"project": "search"}))
    assert [(c.trace_id, c.day, c.calls, c.amount) for c in search] == [
        (None, "2025-11-23", 1, Decimal("1.25"))
    ]
    # Nothing more to compact: a second run is a no-op and adds no link.
    head = ledger.head()
    assert ledger.compact(2, today=date(2025, 11, 28)).checkpoint is None
    assert ledger.head() == head
    # A later append still chains after the checkpoint.
    ledger.append([make_record(6, day=6)])
    assert ledger.verify().ok


def test_edited_rollup_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    ledger = _three_batches(path)
    checkpoint = ledger.compact(2, today=date(2025, 11, 28)).checkpoint
    _raw(path, "UPDATE rollups SET amount = '0' WHERE rollup_id = 1")
    first = ledger.verify().problems[0]
    assert first.batch_id == checkpoint
    assert "roll-up 1 altered" in first.message


def test_inserted_rollup_is_detected(tmp_path: Path) -> None:
    """A roll-up row no checkpoint hashed (here a copy of a real one under an append batch's id)
    would add its amount to every report: verify names it."""
    from otel_cost.ledger._schema import ROLLUP_COLUMNS

    path = tmp_path / "l.db"
    ledger = _three_batches(path)
    ledger.compact(2, today=date(2025, 11, 28))
    assert ledger.verify().ok
    before = {r.key: r.amount for r in ledger.spend(["day"])}
    others = [c for c in ROLLUP_COLUMNS if c not in ("rollup_id", "batch_id")]
    _raw(
        path,
        f"INSERT INTO rollups (rollup_id, batch_id, {', '.join(others)}, row_hash)"
        f" SELECT 99, 3, {', '.join(others)}, row_hash FROM rollups WHERE rollup_id = 1",
    )
    assert {r.key: r.amount for r in ledger.spend(["day"])} != before  # the forgery counts in reports
    report = ledger.verify()
    assert [str(p) for p in report.problems] == [
        "ledger: roll-up 99 claims batch 3, no checkpoint (inserted)"
    ]
