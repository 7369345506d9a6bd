"""A PostgreSQL ledger outlives its connection: after the server drops it (restart, terminated
backend) the next append runs on a new connection, and the chain stays one chain.

The connection is dropped with ``pg_terminate_backend`` from a second connection: what a server
restart does to every client, but deterministic.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from otel_cost.ledger import Ledger, open_ledger
from tests.ledger.ledger_fixtures import PassThroughBackend, make_record


def _terminate(admin_url: str, pid: int) -> None:
    """End backend ``pid`` and wait until the server has let it go."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        deadline = time.monotonic() + 10
        while conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchall():
            assert time.monotonic() < deadline, f"backend {pid} still there"
            time.sleep(0.02)


def _pid(ledger: Ledger) -> int:
    return int(ledger.db.execute("SELECT pg_backend_pid()")[0][0])


def _total(ledger: Ledger) -> Decimal:
    return sum((r.amount for r in ledger.spend()), Decimal(0))


def test_append_after_the_connection_was_dropped(postgres_url: str) -> None:
    """The append after a dropped connection succeeds (its BEGIN finds the loss; nothing of it was
    sent, so it begins again on a new connection); so do verify, spend, count and unpriced
    (each one read transaction); totals exact."""
    ledger = open_ledger(postgres_url)
    assert ledger.append([make_record(1, amount="0.25")]) == [make_record(1, amount="0.25")]
    old = _pid(ledger)
    _terminate(postgres_url, old)
    assert len(ledger.append([make_record(2, amount="0.5")])) == 1
    assert _pid(ledger) != old
    _terminate(postgres_url, _pid(ledger))
    report = ledger.verify()
    assert report.ok, report.problems
    assert (report.batches, report.rows) == (2, 2)
    _terminate(postgres_url, _pid(ledger))
    assert _total(ledger) == Decimal("0.75")  # 0.25 + 0.5
    _terminate(postgres_url, _pid(ledger))
    assert ledger.count() == 2
    _terminate(postgres_url, _pid(ledger))
    assert ledger.unpriced() == []
    assert ledger.head().batch_id == 2
    ledger.close()


class _DropMidWrite(PassThroughBackend):
    """The real PostgreSQL backend; ``drop_before_insert`` terminates its own connection from a
    second one right before the next ``insert_rows`` (the calls insert), i.e. inside the append's
    transaction. A wrapper, not a mock: every statement runs on the real server."""

    def __init__(self, inner: Any, admin_url: str) -> None:
        super().__init__(inner)
        self._admin_url = admin_url
        self.drop_before_insert = False

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if self.drop_before_insert:
            self.drop_before_insert = False
            pid = int(self._inner.execute("SELECT pg_backend_pid()")[0][0])
            _terminate(self._admin_url, pid)
        self._inner.insert_rows(table, columns, rows)


def test_a_write_whose_connection_drops_fails_and_the_retry_succeeds(postgres_url: str) -> None:
    """Lost inside the transaction, the append raises and stores nothing (no replay inside the
    call). Another writer appends meanwhile; the retry re-reads the head and chains after it."""
    inner = open_ledger(postgres_url).db
    db = _DropMidWrite(inner, postgres_url)
    ledger = Ledger(db, postgres_url)
    other = open_ledger(postgres_url)
    assert len(ledger.append([make_record(1, amount="0.25")])) == 1
    batch = [make_record(2, amount="0.5"), make_record(3, amount="0.125")]
    db.drop_before_insert = True
    import psycopg

    with pytest.raises(psycopg.OperationalError):
        ledger.append(batch)
    assert other.count() == 1 and other.head().batch_id == 1
    assert len(other.append([make_record(4, amount="1")])) == 1  # batch 2, by the other writer
    assert ledger.append(batch) == batch  # the client's retry: batch 3 on a new connection
    assert ledger.head() == other.head() and ledger.head().batch_id == 3
    assert _total(other) == Decimal("1.875")  # 0.25 + 0.5 + 0.125 + 1
    report = other.verify()
    assert report.ok, report.problems
    assert (report.batches, report.rows) == (3, 4)
    ledger.close()
    other.close()


def test_a_closed_ledger_stays_closed(postgres_url: str) -> None:
    """``close()`` is not a lost connection: nothing reopens it."""
    import psycopg

    ledger = open_ledger(postgres_url)
    ledger.close()
    with pytest.raises(psycopg.OperationalError):
        ledger.append([make_record(1)])
