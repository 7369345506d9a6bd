"""``Ledger``: the append-only, hash-chained store of ``CostRecord``s."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from otel_cost.ledger._backend import Backend, connect
from otel_cost.ledger._query import CallRow, SpendRow, iter_calls, spend
from otel_cost.ledger._rows import (
    CALL_COLUMNS,
    GENESIS_HASH,
    Row,
    batch_hash,
    chained_row_hash,
    record_tail,
    rows_digest,
    tail_json,
)
from otel_cost.ledger._unpriced import UnpricedGroup, unpriced_groups
from otel_cost.ledger._verify import VerifyReport, verify_chain
from otel_cost.ledger._views import Repricer, ViewInfo, list_views, view_info, write_view
from otel_cost.record import CostRecord

if TYPE_CHECKING:
    from otel_cost.ledger._compact import CompactResult

_CALL_ROW = (*CALL_COLUMNS, "row_hash")
_ATTRIBUTION_ROW = ("row_id", "key", "value")
_INSERT_ATTRIBUTION_FROM_ROWS = (
    "INSERT INTO call_attribution (row_id, key, value)"
    " SELECT c.row_id, j.key, j.value FROM calls c, json_each(c.attribution) j WHERE c.batch_id = ?"
)
_INSERT_BATCH = (
    "INSERT INTO batches (batch_id, kind, created_ns, row_count, first_row, last_row, rows_digest,"
    " payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_KEY_CHUNK = 400


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The newest link of the chain: publish ``hash`` elsewhere to pin the ledger's history."""

    batch_id: int
    hash: str
    last_row: int


@dataclass(frozen=True, slots=True)
class NewBatch:
    """A chain link to write: rows are already hashed."""

    kind: str
    row_count: int
    first_row: int
    digest: str
    payload: str | None


class Ledger:
    """An append-only ledger of priced calls in SQLite or PostgreSQL.

    Safe to share between threads (calls are serialised) and between processes (chain writes are
    serialised by the database). Open with ``open_ledger(url)``.
    """

    def __init__(self, db: Backend, url: str) -> None:
        self._db = db
        self._lock = threading.RLock()
        self.url = url
        self._json_each = db.dialect == "sqlite" and _has_json_each(db)

    @property
    def db(self) -> Backend:
        """The connection (for this package's modules and tests)."""
        return self._db

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    # -- writing ---------------------------------------------------------------------------------

    def append(self, records: Sequence[CostRecord]) -> list[CostRecord]:
        """Store ``records`` as one batch in one transaction, durably committed before returning.

        Returns the records that were new, in input order. A record whose (trace id, span id) is
        already stored (or repeated earlier in ``records``) is neither stored nor returned, so a
        caller counts each span once. Raises on database errors: nothing is then stored, and the
        caller must not acknowledge the records.
        """
        if not records:
            return []
        # Everything that does not depend on the chain's head is built before the write lock is
        # taken, so other writers (``serve --workers N``) wait only for the inserts and the hash
        # of each row's position.
        prepared: list[tuple[tuple[str, str], CostRecord, Row, str]] = []
        for record in records:
            tail = record_tail(record)
            prepared.append(((tail[0], tail[1]), record, tail, tail_json(tail)))  # type: ignore[arg-type]
        with self._lock, self._db.write_transaction():
            head = self.head()
            existing = self._existing_keys([key for key, _, _, _ in prepared])
            fresh: list[CostRecord] = []
            batch_id = head.batch_id + 1
            row_id = head.last_row
            rows: list[Row] = []
            hashes: list[str] = []
            for key, record, tail, text in prepared:
                if key in existing:
                    continue
                existing.add(key)
                fresh.append(record)
                row_id += 1
                digest = chained_row_hash(row_id, batch_id, text)
                hashes.append(digest)
                rows.append((row_id, batch_id, *tail, digest))
            if not fresh:
                return []
            self._db.insert_rows("calls", _CALL_ROW, rows)
            first_row = head.last_row + 1
            self._insert_attribution(batch_id, first_row, rows)
            self.write_link(head, NewBatch("append", len(rows), first_row, rows_digest(hashes), None))
        return fresh

    def _insert_attribution(self, batch_id: int, first_row: int, rows: Sequence[Row]) -> None:
        """The batch's ``call_attribution`` rows, from the attribution JSON stored in each row (so
        the two always agree, NUL replaced as in the row). SQLite builds them in one statement (a
        third cheaper than binding each key); PostgreSQL copies them in with the batch's rows."""
        if self._json_each:
            self._db.execute(_INSERT_ATTRIBUTION_FROM_ROWS, (batch_id,))
            return
        attributions = [
            (first_row + i, key, value)
            for i, row in enumerate(rows)
            for key, value in json.loads(str(row[-2])).items()
        ]
        if attributions:
            self._db.insert_rows("call_attribution", _ATTRIBUTION_ROW, attributions)

    def write_link(self, head: ChainHead, batch: NewBatch) -> ChainHead:
        """Append one chain link after ``head`` (inside the caller's write transaction)."""
        batch_id = head.batch_id + 1
        created_ns = time.time_ns()
        last_row = head.last_row + (batch.row_count if batch.kind == "append" else 0)
        first_row = batch.first_row if batch.kind == "append" else head.last_row + 1
        link = batch_hash(
            head.hash, batch_id, batch.kind, created_ns=created_ns, digest=batch.digest, payload=batch.payload
        )
        self._db.execute(
            _INSERT_BATCH,
            (
                batch_id,
                batch.kind,
                created_ns,
                batch.row_count,
                first_row,
                last_row,
                batch.digest,
                batch.payload,
                head.hash,
                link,
            ),
        )
        return ChainHead(batch_id, link, last_row)

    def _existing_keys(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        wanted = set(keys)
        found: set[tuple[str, str]] = set()
        trace_ids = sorted({t for t, _ in wanted})
        for i in range(0, len(trace_ids), _KEY_CHUNK):
            chunk = trace_ids[i : i + _KEY_CHUNK]
            marks = ", ".join("?" * len(chunk))
            for trace_id, span_id in self._db.execute(
                f"SELECT trace_id, span_id FROM calls WHERE trace_id IN ({marks})", chunk
            ):
                if (trace_id, span_id) in wanted:
                    found.add((trace_id, span_id))
        return found

    # -- reading ---------------------------------------------------------------------------------

    def head(self) -> ChainHead:
        """The newest chain link (``batch_id`` 0 and the genesis hash for an empty ledger)."""
        rows = self._db.execute("SELECT batch_id, hash, last_row FROM batches ORDER BY batch_id DESC LIMIT 1")
        if not rows:
            return ChainHead(0, GENESIS_HASH, 0)
        batch_id, link, last_row = rows[0]
        return ChainHead(int(batch_id), str(link), int(last_row))

    def count(self, since: str | None = None, until: str | None = None) -> int:
        """Raw call rows currently stored, of the inclusive UTC day range when given (compacted
        calls are in roll-ups, not counted here)."""
        conds = [c for c, day in (("day >= ?", since), ("day <= ?", until)) if day is not None]
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        params = [day for day in (since, until) if day is not None]
        with self._lock, self._db.read_transaction():
            return int(self._db.execute(f"SELECT COUNT(*) FROM calls{where}", params)[0][0])

    def spend(
        self,
        by: Sequence[str] = (),
        since: date | str | None = None,
        until: date | str | None = None,
        where: Mapping[str, str | None] | None = None,
        view: str | None = None,
    ) -> list[SpendRow]:
        """Spend per group, exact: e.g. ``spend(["project"], since="2025-11-23", where={"project": "x"})``.

        ``by`` and ``where`` keys are columns (provider, model, service, operation, kind, status,
        source, day, month, price_ref) or attribution keys (project, user, ...; prefix ``attr:``
        when an attribution key shares a column's name). ``since``/``until`` are inclusive UTC days.
        A ``where`` value of ``None`` selects calls without that attribution key. Returns
        ``SpendRow``s sorted by key; compacted days come from roll-ups. ``view`` uses a repriced
        view's amounts where it has them. Calls and roll-ups are read in one snapshot, so a
        compaction committed meanwhile (by any process) neither hides nor double-counts a call.
        """
        with self._lock, self._db.read_transaction():
            return spend(self._db, by, since=since, until=until, where=where, view=view)

    def calls(
        self,
        since: date | str | None = None,
        until: date | str | None = None,
        where: Mapping[str, str | None] | None = None,
        view: str | None = None,
    ) -> Iterator[CallRow]:
        """The stored calls matching the filters, in time order (for drill-down)."""
        return iter_calls(self._db, since, until, where, view)

    def unpriced(
        self, since: date | str | None = None, until: date | str | None = None
    ) -> list[UnpricedGroup]:
        """The calls whose stored (original, not repriced) status is ``unpriced`` or ``partial``,
        per (service, provider, model, status, reason), most calls first; compacted days included
        (roll-ups keep status and reason). ``since``/``until`` are inclusive UTC days."""
        with self._lock, self._db.read_transaction():
            return unpriced_groups(self._db, since=since, until=until)

    def verify(
        self, *, expect_head: str | None = None, progress: Callable[[int], None] | None = None
    ) -> VerifyReport:
        """Re-hash the chain and every row; ``report.problems[0]`` is the first broken link."""
        with self._lock, self._db.read_transaction():
            return verify_chain(self._db, expect_head=expect_head, progress=progress)

    def compact(
        self, keep_days: int, *, today: date | None = None, progress: Callable[[int], None] | None = None
    ) -> CompactResult:
        """Replace calls older than ``keep_days`` by daily roll-ups, as a chained checkpoint."""
        from otel_cost.ledger._compact import compact

        return compact(self, keep_days, today=today, progress=progress)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Hold one consistent read snapshot (and this object's lock) for several reads."""
        with self._lock, self._db.read_transaction():
            yield

    def view_info(self, name: str) -> ViewInfo | None:
        """A price view's description, or ``None`` when there is no view of that name."""
        with self._lock:
            return view_info(self._db, name)

    def views(self) -> list[ViewInfo]:
        """Every price view, by name."""
        with self._lock:
            return list_views(self._db)

    def write_view(
        self,
        name: str,
        *,
        catalog: str,
        from_day: str,
        to_day: str,
        reprice: Repricer,
        progress: Callable[[int], None] | None = None,
    ) -> ViewInfo:
        """Reprice the calls of a day range into view ``name``; original rows stay as they are."""
        with self._lock:
            return write_view(
                self._db,
                name,
                catalog=catalog,
                from_day=from_day,
                to_day=to_day,
                reprice=reprice,
                progress=progress,
            )

    def close(self) -> None:
        """Close the connection; appended batches are already durable."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _has_json_each(db: Backend) -> bool:
    """Whether this SQLite has the JSON functions (built in since 3.38; an option before)."""
    try:
        return db.execute('SELECT COUNT(*) FROM json_each(\'{"a":"b"}\')')[0][0] == 1
    except Exception:
        return False


def open_ledger(url: str, *, create: bool = True) -> Ledger:
    """Open (creating if needed, unless ``create=False``) the ledger at ``url``.

    ``url``: a file path or ``sqlite:///relative.db`` / ``sqlite:////absolute.db`` for SQLite in WAL
    mode (the default; readers in other processes run beside the writer), or
    ``postgresql://user@host:port/db`` for a ledger several receivers share (needs psycopg 3).
    Raises ``LedgerError`` for an unsupported URL, an unreachable database, or (``create=False``,
    for commands that only read) a SQLite file that does not exist.
    """
    return Ledger(connect(url, create=create), url)


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
