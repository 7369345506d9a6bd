"""Several processes opening one new SQLite ledger at once (``serve --workers N`` on first start)."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from otel_cost.ledger import open_ledger
from otel_cost.ledger._backend import _enable_wal  # pyright: ignore[reportPrivateUsage]


def _open(path: str, barrier: Any, errors: Any) -> None:
    barrier.wait()
    try:
        open_ledger(path).close()
    except Exception as exc:
        errors.put(f"{type(exc).__name__}: {exc}")


def test_workers_opening_a_new_ledger_together_all_start(tmp_path: Path) -> None:
    """Real processes (fork), released together by a barrier, each opening the same new file.
    Before the fix, a worker failed with 'database is locked' (SQLite answers the journal-mode
    pragma without waiting) in 3 of 5 runs of this test; a race, so it can pass by luck, and the
    next test checks the waiting itself."""
    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    for n in range(15):
        path = str(tmp_path / f"ledger-{n}.sqlite")
        barrier = context.Barrier(3)
        workers = [context.Process(target=_open, args=(path, barrier, errors)) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert all(worker.exitcode == 0 for worker in workers)
    found: list[str] = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []


class _BusyTwice:
    """Stands in for a connection whose ``PRAGMA journal_mode`` meets another process's lock twice:
    the lock cannot be made to happen on demand (it lasts microseconds), so a stand-in answers."""

    def __init__(self, message: str = "database is locked") -> None:
        self.calls = 0
        self.message = message

    def execute(self, sql: str) -> Any:
        self.calls += 1
        if self.calls <= 2:
            raise sqlite3.OperationalError(self.message)
        return sqlite3.connect(":memory:").execute("SELECT 'wal'")


def test_the_journal_mode_switch_waits_for_a_lock_like_any_statement() -> None:
    busy = _BusyTwice()
    assert _enable_wal(busy, timeout_s=5) == ("wal",)  # type: ignore[arg-type]
    assert busy.calls == 3
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _enable_wal(_BusyTwice(), timeout_s=0)  # type: ignore[arg-type]
    other = _BusyTwice("disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _enable_wal(other, timeout_s=5)  # type: ignore[arg-type]
    assert other.calls == 1  # not a lock: no waiting
