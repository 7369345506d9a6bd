"""Retention: replace calls older than N days by daily roll-ups, as a recorded chain event.

A compaction is one transaction that appends a ``compact`` checkpoint to the chain. The checkpoint's
rows are the roll-ups (hashed like calls); its payload names the batches it replaced and the digest
of their row digests. The replaced batches stay in the chain (their stored digests still link it),
only their rows go, so ``verify`` passes after compaction and still detects an edited roll-up.
A batch is compacted only when all of its calls are older than the cutoff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

from otel_cost.ledger._rows import (
    EXACT,
    GROUP_COLUMNS,
    TOKEN_COLUMNS,
    amount_residual,
    canonical_amount,
    canonical_json,
    group_order,
    join_amount,
    join_nano_sums,
    nano_sums_sql,
    row_hash,
    rows_digest,
    split_amount,
    storable_parts,
)
from otel_cost.ledger._schema import ROLLUP_COLUMNS
from otel_cost.ledger._store import Ledger, NewBatch, chunked

_GROUP = GROUP_COLUMNS
_GROUP_ALL = (*_GROUP, "attribution")
_COMPACTED_ROWS = (
    "SELECT row_id FROM calls WHERE batch_id IN (SELECT batch_id FROM batches WHERE compacted_in = ?)"
)


@dataclass(frozen=True, slots=True)
class CompactResult:
    cutoff_day: str
    """Calls on days before this were compacted."""
    checkpoint: int | None
    """Batch id of the checkpoint, ``None`` when nothing was old enough."""
    batches: int
    rows: int
    rollups: int


def _ranges(ids: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for bid in ids:
        if out and out[-1][1] == bid - 1:
            out[-1][1] = bid
        else:
            out.append([bid, bid])
    return out


def compact(
    ledger: Ledger,
    keep_days: int,
    *,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> CompactResult:
    """Roll up calls older than ``keep_days`` full UTC days before ``today`` (default: now)."""
    if keep_days < 0:
        raise ValueError(f"keep_days must be >= 0, got {keep_days}")
    day = today or datetime.now(UTC).date()
    cutoff = (day - timedelta(days=keep_days)).isoformat()
    db = ledger.db
    with ledger.lock, db.write_transaction():
        head = ledger.head()
        candidates = [
            int(r[0])
            for r in db.execute(
                "SELECT c.batch_id FROM calls c JOIN batches b ON b.batch_id = c.batch_id"
                " WHERE b.compacted_in IS NULL GROUP BY c.batch_id HAVING MAX(c.day) < ? ORDER BY c.batch_id",
                (cutoff,),
            )
        ]
        if not candidates:
            return CompactResult(cutoff, None, 0, 0, 0)
        checkpoint = head.batch_id + 1
        for chunk in chunked(candidates, 400):
            db.execute(
                f"UPDATE batches SET compacted_in = ? WHERE batch_id IN ({', '.join('?' * len(chunk))})",
                (checkpoint, *chunk),
            )
        replaced = [
            str(r[0])
            for r in db.execute(
                "SELECT rows_digest FROM batches WHERE compacted_in = ? ORDER BY batch_id", (checkpoint,)
            )
        ]
        with localcontext(EXACT):  # sums of amounts never round
            groups = _roll_up(ledger, checkpoint)
        next_id = int(db.execute("SELECT COALESCE(MAX(rollup_id), 0) FROM rollups")[0][0]) + 1
        rows: list[tuple[Any, ...]] = []
        removed = 0
        for key in sorted(groups, key=group_order):
            amount, sums = groups[key]
            removed += sums["calls"]
            # A group whose calls sum past what one row holds takes more rows: the first carries
            # the counts, the others only the rest of the amount.
            for part_no, part in enumerate(storable_parts(amount)):
                nano, atto, fine = split_amount(part)
                values: dict[str, Any] = dict(zip(_GROUP_ALL, key, strict=True))
                values.update(sums if part_no == 0 else dict.fromkeys(sums, 0))
                values.update(
                    rollup_id=next_id + len(rows),
                    batch_id=checkpoint,
                    amount=canonical_amount(part),
                    amount_nano=nano,
                    amount_atto=atto,
                    amount_fine=fine,
                )
                rows.append(tuple(values[c] for c in ROLLUP_COLUMNS))
        hashes = [row_hash(r) for r in rows]
        db.executemany(
            f"INSERT INTO rollups ({', '.join(ROLLUP_COLUMNS)}, row_hash)"
            f" VALUES ({', '.join('?' * (len(ROLLUP_COLUMNS) + 1))})",
            [(*r, h) for r, h in zip(rows, hashes, strict=True)],
        )
        for table in ("view_prices", "call_attribution"):
            db.execute(f"DELETE FROM {table} WHERE row_id IN ({_COMPACTED_ROWS})", (checkpoint,))
        db.execute(f"DELETE FROM calls WHERE row_id IN ({_COMPACTED_ROWS})", (checkpoint,))
        payload = canonical_json(
            {
                "cutoff_day": cutoff,
                "batches": _ranges(candidates),
                "replaced_digest": rows_digest(replaced),
                "rows_removed": removed,
            }
        )
        ledger.write_link(head, NewBatch("compact", len(rows), 0, rows_digest(hashes), payload))
        if progress is not None:
            progress(removed)
    return CompactResult(cutoff, checkpoint, len(candidates), removed, len(rows))


def _roll_up(ledger: Ledger, checkpoint: int) -> dict[tuple[Any, ...], tuple[Decimal, dict[str, int]]]:
    """Exact sums per (day, dimensions, attribution) of the calls being compacted."""
    db = ledger.db
    cols = ", ".join(_GROUP_ALL)
    token_sums = ", ".join(f"SUM({c})" for c in TOKEN_COLUMNS)
    where = f"WHERE row_id IN ({_COMPACTED_ROWS})"
    out: dict[tuple[Any, ...], tuple[Decimal, dict[str, int]]] = {}
    n = len(_GROUP_ALL)
    for r in db.execute(
        f"SELECT {cols}, {nano_sums_sql('amount_nano')}, SUM(amount_atto), COUNT(*), {token_sums},"
        f" SUM(usage_estimated), SUM(error) FROM calls {where} GROUP BY {cols}",
        (checkpoint,),
    ):
        sums = {"calls": int(r[n + 3])}
        sums.update(
            {c: int(v) for c, v in zip(TOKEN_COLUMNS, r[n + 4 : n + 4 + len(TOKEN_COLUMNS)], strict=True)}
        )
        sums["usage_estimated"] = int(r[-2])
        sums["error"] = int(r[-1])
        out[tuple(r[:n])] = (join_amount(join_nano_sums(r[n], r[n + 1]), int(r[n + 2])), sums)
    for r in db.execute(f"SELECT {cols}, amount FROM calls {where} AND amount_fine = 1", (checkpoint,)):
        amount, sums = out[tuple(r[:n])]
        out[tuple(r[:n])] = (amount + amount_residual(str(r[n])), sums)
    return out
