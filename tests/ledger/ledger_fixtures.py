"""Record builders shared by the ledger and report tests (plain functions, not fixtures)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from otel_cost.ledger import open_ledger
from otel_cost.pricing.types import CostResult, TokenUsage
from otel_cost.record import CostRecord

REPO = Path(__file__).resolve().parents[2]


class PassThroughBackend:
    """A real ledger backend behind a subclass's hook: every call goes to ``inner``, so tests that
    override a method to act between statements still run every statement on the real database."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.dialect = inner.dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._inner.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._inner.executemany(sql, rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._inner.insert_rows(table, columns, rows)

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 5000) -> Iterator[tuple[Any, ...]]:
        return self._inner.stream(sql, params, size)

    def write_transaction(self) -> Any:
        return self._inner.write_transaction()

    def read_transaction(self) -> Any:
        return self._inner.read_transaction()

    def close(self) -> None:
        self._inner.close()


# 2025-11-23T00:00:00Z in Unix nanoseconds.
DAY0_NS = 1_763_856_000 * 10**9
DAY_NS = 86_400 * 10**9


def make_record(
    n: int,
    *,
    amount: str = "0.0015",
    day: int = 0,
    attribution: Mapping[str, str] | None = None,
    model: str = "gpt-4o",
    provider: str = "openai",
    status: str = "priced",
    service: str = "checkout",
    input_tokens: int = 100,
    output_tokens: int = 50,
    trace_seed: int | None = None,
) -> CostRecord:
    """A priced chat call; ``n`` makes the (trace id, span id) unique, ``day`` offsets from DAY0."""
    seed = n if trace_seed is None else trace_seed
    start = DAY0_NS + day * DAY_NS + n * 1_000_000
    priced = status != "unpriced"
    result = CostResult(
        status=status,  # type: ignore[arg-type]
        amount=Decimal(amount) if priced else Decimal(0),
        breakdown={"input": Decimal(amount)} if priced else {},
        reason=None if priced else "unknown_model",
        price_ref=f"{provider}:{model}@test" if priced else None,
        provider=provider,
        model=model,
    )
    return CostRecord(
        trace_id=seed.to_bytes(16, "big"),
        span_id=n.to_bytes(8, "big"),
        start_time_ns=start,
        end_time_ns=start + 500_000_000,
        kind="llm",
        result=result,
        service_name=service,
        provider=provider,
        model=model,
        operation="chat",
        usage=TokenUsage(input_tokens=input_tokens, output_tokens=output_tokens),
        attribution=dict(attribution or {}),
    )


WRITER_SCRIPT = """
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
"""A writer process (``python -c WRITER_SCRIPT URL OFFSET``): 40 batches of 5 own records and 2
shared ones (the same in every writer, as a span sent to two receivers); prints how many of its
records the ledger reported as new."""


def two_writers_share(url: str) -> None:
    """Run two ``WRITER_SCRIPT`` processes on the ledger at ``url`` at once and check what they
    left: every span stored once, reported new once, and a chain that verifies."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER_SCRIPT, url, str(offset)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for offset in (100_000, 200_000)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    with open_ledger(url) as ledger:
        # 2 writers x 40 batches x 5 own spans = 400, plus 40 x 2 = 80 shared spans once each.
        assert ledger.count() == 480
        assert sum(json.loads(out)["new"] for out in outs) == 480
        (row,) = ledger.spend()
        assert row.amount == Decimal("40.4")  # 400 x 0.001 + 80 x 0.5 = 0.4 + 40
        report = ledger.verify()
        assert report.ok, report.problems
        assert report.rows == 480
