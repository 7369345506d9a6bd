"""The append contract the receiver relies on: one durable transaction, duplicates counted once."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from otel_cost.ledger import LedgerError, open_ledger
from tests.ledger.ledger_fixtures import make_record


def test_append_returns_only_new_records(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "l.db"))
    a, b = make_record(1), make_record(2)
    # b twice in one batch: stored once, returned once.
    assert ledger.append([a, b, b]) == [a, b]
    # A retried export (a again) plus one new span: only the new one comes back.
    c = make_record(3)
    assert ledger.append([a, c]) == [c]
    assert ledger.append([a, b, c]) == []
    assert ledger.append([]) == []
    assert ledger.count() == 3
    ledger.close()


def test_amounts_are_exact_decimals(tmp_path: Path) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path}/l.db")
    # 0.1 + 0.2 is not 0.3 in floats; the ledger keeps and adds Decimals exactly.
    # A 1e-20 amount is finer than the integer columns (1e-18) and is added from its text.
    ledger.append(
        [make_record(1, amount="0.1"), make_record(2, amount="0.2"), make_record(3, amount="1E-20")]
    )
    (row,) = ledger.spend()
    assert row.amount == Decimal("0.30000000000000000001")
    assert row.calls == 3
    ledger.close()


def test_append_is_visible_to_another_process_after_return(tmp_path: Path) -> None:
    """Committed before return: a fresh process (a reader beside the writer) sees the batch."""
    path = tmp_path / "l.db"
    ledger = open_ledger(str(path))
    ledger.append([make_record(1, amount="0.25", attribution={"project": "search"})])
    code = (
        "from otel_cost.ledger import open_ledger;"
        f"l = open_ledger({str(path)!r});"
        "print(l.spend(['project'])[0].amount)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0.25"
    ledger.close()


def test_spend_by_attribution_and_columns(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "l.db"))
    ledger.append(
        [
            make_record(1, amount="1.5", attribution={"project": "search", "user": "ann"}),
            make_record(2, amount="2.25", attribution={"project": "search"}, model="gpt-4o-mini"),
            make_record(3, amount="4", attribution={"project": "ads"}, day=1),
            make_record(4, amount="8"),
        ]
    )
    rows = {r.key: r.amount for r in ledger.spend(["project"])}
    assert rows == {("ads",): Decimal(4), ("search",): Decimal("3.75"), (None,): Decimal(8)}
    today = ledger.spend(["model"], since="2025-11-23", until="2025-11-23", where={"project": "search"})
    assert [(r.key, r.amount) for r in today] == [
        (("gpt-4o",), Decimal("1.5")),
        (("gpt-4o-mini",), Decimal("2.25")),
    ]
    unattributed = ledger.spend([], where={"project": None})
    assert [r.amount for r in unattributed] == [Decimal(8)]
    ledger.close()


def test_bad_url_is_a_clear_error() -> None:
    with pytest.raises(LedgerError, match="unsupported ledger URL"):
        open_ledger("mysql://x")
