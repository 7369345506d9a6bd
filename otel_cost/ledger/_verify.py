"""Walk the hash chain and re-hash every stored row; name the first broken link.

What is checked, in chain order:
- each batch's ``prev_hash`` is the previous batch's ``hash`` and batch ids have no gaps;
- each batch's ``hash`` recomputes from its stored fields (a changed batch record breaks it);
- each live row re-hashes to its ``row_hash`` (a changed value names the row), the row count and
  the digest of row hashes match the batch (a deleted, inserted or re-hashed row breaks it), and the
  normalised ``call_attribution`` rows equal the row's hashed attribution;
- a compaction checkpoint's roll-up rows re-hash to its digest, and its payload's digest of the
  batches it replaced matches those batches' (still chained) digests; every roll-up belongs to a
  checkpoint.
Anyone who can rewrite the whole database can rebuild a consistent chain: publish ``head`` (the
newest hash) elsewhere and pass it as ``expect_head`` to pin history.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from otel_cost.ledger._backend import Backend
from otel_cost.ledger._rows import (
    CALL_COLUMNS,
    GENESIS_HASH,
    Row,
    batch_hash,
    normalise_row,
    row_hash,
    rows_digest,
)
from otel_cost.ledger._schema import ROLLUP_COLUMNS, ROLLUP_TEXT_COLUMNS

_BATCH_COLUMNS = (
    "batch_id, kind, created_ns, row_count, first_row, last_row, rows_digest, payload, prev_hash, hash,"
    " compacted_in"
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken link: which batch (and row, when one is to blame) and what is wrong."""

    batch_id: int | None
    row_id: int | None
    message: str

    def __str__(self) -> str:
        where = f"batch {self.batch_id}" if self.batch_id is not None else "ledger"
        if self.row_id is not None:
            where += f", row {self.row_id}"
        return f"{where}: {self.message}"


@dataclass(slots=True)
class VerifyReport:
    batches: int = 0
    rows: int = 0
    rollups: int = 0
    head: str = GENESIS_HASH
    problems: list[Problem] = field(default_factory=list[Problem])

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class _Batch:
    batch_id: int
    kind: str
    created_ns: int
    row_count: int
    first_row: int
    last_row: int
    digest: str
    payload: str | None
    prev_hash: str
    hash: str
    compacted_in: int | None


class _Peek:
    """An iterator of (row_id, ...) tuples that can be looked at before it is consumed."""

    def __init__(self, it: Iterator[tuple[Any, ...]]) -> None:
        self._it = it
        self.next: tuple[Any, ...] | None = next(it, None)

    def pop(self) -> tuple[Any, ...]:
        assert self.next is not None
        current, self.next = self.next, next(self._it, None)
        return current


def _attribution(text: object) -> object:
    try:
        return json.loads(str(text))
    except ValueError:
        return None


def verify_chain(
    db: Backend, *, expect_head: str | None = None, progress: Callable[[int], None] | None = None
) -> VerifyReport:
    """Check the whole ledger; ``report.problems[0]`` is the first broken link (chain order)."""
    report = VerifyReport()
    batches = [_Batch(*r) for r in db.execute(f"SELECT {_BATCH_COLUMNS} FROM batches ORDER BY batch_id")]
    compacted: dict[int, int] = {}
    for b in batches:
        if b.kind == "compact" and b.payload:
            try:
                for lo, hi in json.loads(b.payload)["batches"]:
                    for bid in range(int(lo), int(hi) + 1):
                        compacted[bid] = b.batch_id
            except (ValueError, KeyError, TypeError):
                pass  # reported below as a hash/payload mismatch of that checkpoint
    rows = _Peek(db.stream(f"SELECT {', '.join(CALL_COLUMNS)}, row_hash FROM calls ORDER BY row_id"))
    attrs = _Peek(db.stream("SELECT row_id, key, value FROM call_attribution ORDER BY row_id, key"))
    by_id: dict[int, _Batch] = {}
    prev = GENESIS_HASH
    expected_id = 1
    for b in batches:
        report.batches += 1
        if b.batch_id != expected_id:
            report.problems.append(Problem(b.batch_id, None, f"batch ids jump from {expected_id - 1}"))
        expected_id = b.batch_id + 1
        if b.prev_hash != prev:
            report.problems.append(Problem(b.batch_id, None, "prev_hash is not the previous batch's hash"))
        recomputed = batch_hash(
            b.prev_hash, b.batch_id, b.kind, created_ns=b.created_ns, digest=b.digest, payload=b.payload
        )
        if recomputed != b.hash:
            report.problems.append(
                Problem(b.batch_id, None, "batch record altered (hash does not recompute)")
            )
        if b.kind == "append":
            _check_rows(b, rows, attrs, compacted=compacted, report=report, progress=progress)
        elif b.kind == "compact":
            _check_checkpoint(db, b, by_id, report)
        else:
            report.problems.append(Problem(b.batch_id, None, f"unknown batch kind {b.kind!r}"))
        if b.compacted_in != compacted.get(b.batch_id):
            report.problems.append(Problem(b.batch_id, None, "compaction mark does not match any checkpoint"))
        by_id[b.batch_id] = b
        prev = b.hash
    while rows.next is not None:
        stray = rows.pop()
        report.problems.append(Problem(None, int(stray[0]), "row belongs to no batch (inserted)"))
    while attrs.next is not None:
        stray = attrs.pop()
        report.problems.append(Problem(None, int(stray[0]), "attribution row of no stored call"))
    # Reports read every roll-up; one that no checkpoint hashed would count unverified money.
    for rollup_id, batch_id in db.execute(
        "SELECT rollup_id, batch_id FROM rollups WHERE batch_id NOT IN"
        " (SELECT batch_id FROM batches WHERE kind = 'compact') ORDER BY rollup_id"
    ):
        report.problems.append(
            Problem(None, None, f"roll-up {rollup_id} claims batch {batch_id}, no checkpoint (inserted)")
        )
    report.head = prev
    if expect_head is not None and expect_head != prev:
        report.problems.append(Problem(None, None, f"chain head is {prev}, expected {expect_head}"))
    return report


def _check_rows(
    b: _Batch,
    rows: _Peek,
    attrs: _Peek,
    *,
    compacted: dict[int, int],
    report: VerifyReport,
    progress: Callable[[int], None] | None,
) -> None:
    # Rows before this batch's range that were not consumed belong to no batch.
    while rows.next is not None and int(rows.next[0]) < b.first_row:
        report.problems.append(Problem(None, int(rows.pop()[0]), "row belongs to no batch (inserted)"))
    hashes: list[str] = []
    while rows.next is not None and int(rows.next[0]) <= b.last_row:
        raw = rows.pop()
        report.rows += 1
        row_id, stored = int(raw[0]), str(raw[-1])
        row: Row = raw[:-1]
        try:  # drivers return str/int/None as stored; coerce only what they do not
            recomputed = row_hash(row)
        except TypeError:
            row = normalise_row(row)
            recomputed = row_hash(row)
        if row[1] != b.batch_id:
            report.problems.append(Problem(b.batch_id, row_id, f"row claims batch {row[1]}"))
        if recomputed != stored:
            report.problems.append(Problem(b.batch_id, row_id, "row altered (hash does not recompute)"))
        while attrs.next is not None and int(attrs.next[0]) < row_id:
            report.problems.append(Problem(None, int(attrs.pop()[0]), "attribution row of no stored call"))
        found: dict[str, str] = {}
        while attrs.next is not None and int(attrs.next[0]) == row_id:
            _, key, value = attrs.pop()
            found[str(key)] = str(value)
        if found != _attribution(row[-1]):
            report.problems.append(Problem(b.batch_id, row_id, "attribution index differs from the row"))
        hashes.append(stored)
        if progress is not None and report.rows % 10000 == 0:
            progress(report.rows)
    if b.batch_id in compacted:
        if hashes:
            report.problems.append(Problem(b.batch_id, None, "rows of a compacted batch are still stored"))
        return
    if len(hashes) != b.row_count:
        report.problems.append(
            Problem(b.batch_id, None, f"{b.row_count} rows committed, {len(hashes)} stored (rows deleted?)")
        )
    elif rows_digest(hashes) != b.digest:
        report.problems.append(Problem(b.batch_id, None, "rows do not match the committed digest"))


def _check_checkpoint(db: Backend, b: _Batch, by_id: dict[int, _Batch], report: VerifyReport) -> None:
    hashes: list[str] = []
    for raw in db.execute(
        f"SELECT {', '.join(ROLLUP_COLUMNS)}, row_hash FROM rollups WHERE batch_id = ? ORDER BY rollup_id",
        (b.batch_id,),
    ):
        report.rollups += 1
        row = tuple(
            None if v is None else (str(v) if name in ROLLUP_TEXT_COLUMNS else int(v))
            for name, v in zip(ROLLUP_COLUMNS, raw[:-1], strict=True)
        )
        if row_hash(row) != raw[-1]:
            report.problems.append(Problem(b.batch_id, None, f"roll-up {row[0]} altered"))
        hashes.append(str(raw[-1]))
    if len(hashes) != b.row_count or rows_digest(hashes) != b.digest:
        report.problems.append(Problem(b.batch_id, None, "roll-up rows do not match the checkpoint digest"))
    try:
        payload = json.loads(b.payload or "{}")
        ranges: list[list[int]] = payload["batches"]
        replaced = [by_id[bid].digest for lo, hi in ranges for bid in range(lo, hi + 1)]
    except (ValueError, KeyError, TypeError):
        report.problems.append(
            Problem(b.batch_id, None, "checkpoint payload unreadable or names unknown batches")
        )
        return
    if rows_digest(replaced) != payload.get("replaced_digest"):
        report.problems.append(
            Problem(b.batch_id, None, "replaced batches differ from the checkpoint's record")
        )
    for lo, hi in ranges:
        for bid in range(lo, hi + 1):
            if by_id[bid].kind != "append":
                report.problems.append(
                    Problem(b.batch_id, None, f"checkpoint replaces non-append batch {bid}")
                )
