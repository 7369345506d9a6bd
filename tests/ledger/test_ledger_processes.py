"""SQLite ledger shared by processes: concurrent writers (serve --workers N), and kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from otel_cost.ledger import open_ledger
from tests.ledger.ledger_fixtures import two_writers_share

REPO = Path(__file__).resolve().parents[2]


# Appends one-record batches forever, printing each id once append has returned (= acknowledged).
_ENDLESS = """
import sys
from otel_cost.ledger import open_ledger
from tests.ledger.ledger_fixtures import WRITER_SCRIPT, make_record
ledger = open_ledger(sys.argv[1])
n = 0
while True:
    n += 1
    ledger.append([make_record(n, amount="0.01")])
    print(n, flush=True)
"""


def test_two_processes_share_one_sqlite_ledger(tmp_path: Path) -> None:
    url = str(tmp_path / "shared.db")
    open_ledger(url).close()
    two_writers_share(url)


def test_acknowledged_appends_survive_kill_9(tmp_path: Path) -> None:
    url = str(tmp_path / "killed.db")
    proc = subprocess.Popen(
        [sys.executable, "-c", _ENDLESS, url], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    acked = 0
    deadline = time.monotonic() + 60
    while acked < 50 and time.monotonic() < deadline:
        acked = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert acked >= 50
    with open_ledger(url) as ledger:
        stored = ledger.count()
        # Every acknowledged append is there (one more may have committed before its print).
        assert stored in (acked, acked + 1)
        assert ledger.verify().ok
        (row,) = ledger.spend()
        assert row.amount == Decimal("0.01") * stored
