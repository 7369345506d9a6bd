"""PostgreSQL backend against a real server: several writers share one ledger, a span counts once."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from otel_cost.ledger import open_ledger
from tests.ledger.ledger_fixtures import make_record

REPO = Path(__file__).resolve().parents[2]

# A writer process: appends its own spans and the shared ones (sent to both receivers), batch by
# batch, and prints how many of its records the ledger reported as new.
_WRITER = """
import json, sys
from otel_cost.ledger import open_ledger
from tests.ledger.ledger_fixtures import make_record
url, offset = sys.argv[1], int(sys.argv[2])
ledger = open_ledger(url)
new = 0
for b in range(40):
    own = [make_record(offset + b * 10 + i, amount="0.001") for i in range(5)]
    shared = [make_record(900_000 + b * 10 + i, amount="0.5") for i in range(2)]
    new += len(ledger.append(own + shared))
ledger.close()
print(json.dumps({"new": new}))
"""


def test_append_dedupes_and_verifies(postgres_url: str) -> None:
    ledger = open_ledger(postgres_url)
    a, b = make_record(1, amount="0.1", attribution={"project": "search"}), make_record(2, amount="0.2")
    assert ledger.append([a, b, a]) == [a, b]
    assert ledger.append([a]) == []
    assert [(r.key, r.amount) for r in ledger.spend(["project"])] == [
        (("search",), Decimal("0.1")),
        ((None,), Decimal("0.2")),
    ]
    assert ledger.verify().ok
    ledger.close()


def test_two_writers_share_one_ledger(postgres_url: str) -> None:
    """Two receiver processes append at once; the 80 spans sent to both are stored and reported new once."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, postgres_url, str(offset)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for offset in (100_000, 200_000)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    new_total = sum(json.loads(out)["new"] for out in outs)
    ledger = open_ledger(postgres_url)
    # 2 writers x 40 batches x 5 own spans = 400, plus 40 x 2 = 80 shared spans once each.
    assert ledger.count() == 480
    assert new_total == 480
    (row,) = ledger.spend()
    # 400 x 0.001 + 80 x 0.5 = 0.4 + 40 = 40.4
    assert row.amount == Decimal("40.4")
    report = ledger.verify()
    assert report.ok, report.problems
    assert report.rows == 480
    ledger.close()


def test_tamper_detected_and_compaction_verifies(postgres_url: str) -> None:
    from datetime import date

    import psycopg

    ledger = open_ledger(postgres_url)
    ledger.append([make_record(1, day=0, attribution={"project": "x"}), make_record(2, day=0)])
    ledger.append([make_record(3, day=4)])
    result = ledger.compact(1, today=date(2025, 11, 27))
    assert (result.batches, result.rows) == (1, 2)
    assert ledger.verify().ok
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE calls SET amount = '9' WHERE row_id = 3")
    first = ledger.verify().problems[0]
    assert (first.batch_id, first.row_id) == (2, 3)
    ledger.close()
