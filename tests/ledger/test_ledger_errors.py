"""Database errors reach the caller as themselves, and leave the ledger as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from otel_cost.ledger import open_ledger
from tests.ledger.ledger_fixtures import make_record


def test_a_full_sqlite_disk_raises_the_full_error_and_stores_nothing(tmp_path: Path) -> None:
    """SQLite rolls a transaction back by itself on SQLITE_FULL; rolling back again failed with
    "cannot rollback - no transaction is active" and hid why the append failed."""
    ledger = open_ledger(str(tmp_path / "l.sqlite"))
    try:
        ledger.append([make_record(1, amount="1")])
        pages = ledger.db.execute("PRAGMA page_count")[0][0]
        ledger.db.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: a full disk
        with pytest.raises(sqlite3.OperationalError, match="full"):
            ledger.append([make_record(n, amount="1") for n in range(2, 2000)])
        ledger.db.execute(f"PRAGMA max_page_count = {pages * 100}")
        assert ledger.count() == 1
        assert ledger.verify().ok
        assert len(ledger.append([make_record(2, amount="1")])) == 1  # the ledger still works
    finally:
        ledger.close()
