"""Database connections: SQLite (WAL, default) and PostgreSQL (psycopg 3, imported lazily).

SQL elsewhere is written once with ``?`` placeholders; the PostgreSQL backend rewrites them to
``%s``. Chain writes are serialised per ledger: SQLite by ``BEGIN IMMEDIATE`` (one writer at a time
across processes), PostgreSQL by a transaction-scoped advisory lock every writer takes first.
``read_transaction`` inside another transaction joins it (one snapshot for the outermost caller).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Protocol

from otel_cost.ledger._schema import SCHEMA_VERSION, ddl

_PG_LOCK_KEY = 0x6F74656C636F7374  # "otelcost": the advisory lock every chain writer takes


class LedgerError(Exception):
    """A ledger cannot be opened or used (bad URL, missing driver, wrong schema)."""


class Backend(Protocol):
    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None: ...

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 5000) -> Iterator[tuple[Any, ...]]: ...

    def write_transaction(self) -> Any: ...

    def read_transaction(self) -> Any: ...

    def close(self) -> None: ...


_BUSY_TIMEOUT_S = 60
"""How long a SQLite statement waits for another process's lock before 'database is locked'."""


def _enable_wal(conn: sqlite3.Connection, timeout_s: float) -> tuple[Any, ...] | None:
    """``PRAGMA journal_mode = WAL``, waiting for other processes as any statement does: SQLite
    answers this pragma 'database is locked' at once, without its busy handler, while another
    connection switches the mode or creates the schema (``serve --workers N`` starting on a new
    ledger file)."""
    deadline = time.monotonic() + timeout_s
    pause = 0.005
    while True:
        try:
            return conn.execute("PRAGMA journal_mode = WAL").fetchone()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


class SqliteBackend:
    """One SQLite file in WAL mode with ``synchronous=FULL``: a commit survives kill -9 and power loss."""

    dialect = "sqlite"

    def __init__(self, path: str, *, create: bool = True) -> None:
        if path != ":memory:":
            if not create and not Path(path).is_file():
                raise LedgerError(f"no ledger at {path!r}")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=_BUSY_TIMEOUT_S
        )
        self._conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_S * 1000}")
        mode = _enable_wal(self._conn, _BUSY_TIMEOUT_S)
        if path != ":memory:" and (mode is None or str(mode[0]).lower() != "wal"):
            raise LedgerError(f"SQLite ledger {path!r}: could not enable WAL mode (got {mode!r})")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA cache_size = -65536")
        self._conn.execute("PRAGMA temp_store = MEMORY")
        with self.write_transaction():
            for stmt in ddl("sqlite"):
                self._conn.execute(stmt)
            _check_version(self)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Bulk insert: one prepared INSERT stepped per row (measured faster here than multi-row
        VALUES statements, whose parameter binding and parsing cost more than the steps saved)."""
        marks = ", ".join("?" * len(columns))
        self._conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 5000) -> Iterator[tuple[Any, ...]]:
        cursor = self._conn.execute(sql, tuple(params))
        try:
            while batch := cursor.fetchmany(size):
                yield from batch
        finally:
            cursor.close()

    @contextmanager
    def write_transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            # SQLite rolls back by itself on some errors (SQLITE_FULL, SQLITE_IOERR): a ROLLBACK
            # then would fail and hide the error that matters.
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def read_transaction(self) -> Iterator[None]:
        """One snapshot for several reads (WAL readers never block the writer); inside an open
        transaction (``Ledger.snapshot()``), that transaction's snapshot."""
        if self._conn.in_transaction:
            yield
            return
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()


class PostgresBackend:
    """A PostgreSQL database shared by several writers (receivers) and readers.

    A lost connection (server restarted, backend terminated) fails the statement or transaction
    that finds it lost; the next one, outside any transaction, runs on a new connection. A
    transaction whose BEGIN finds the connection lost is begun once more on a new one (nothing of
    it had reached the server); one lost later fails, and the caller's retry re-sends it.
    """

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise LedgerError(
                "a postgresql:// ledger needs psycopg 3: pip install 'otel-cost[postgres]'"
            ) from exc
        self._url = url
        self._conn = self._connect()
        self._cursor_seq = 0
        self._depth = 0
        """Open ``write_transaction``/``read_transaction`` scopes: no reconnect inside one."""
        with self.write_transaction():
            for stmt in ddl("postgresql"):
                self._conn.execute(stmt)  # type: ignore[arg-type]
            _check_version(self)

    def _connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(self._url, autocommit=True)
        except psycopg.Error as exc:
            raise LedgerError(f"cannot connect to PostgreSQL ledger: {exc}") from exc

    def _live(self) -> Any:
        """The connection; outside a transaction, a lost one is replaced by a new one (a
        connection closed by ``close()`` is not ``broken`` and stays closed)."""
        if self._depth == 0 and self._conn.broken:
            self._conn.close()
            self._conn = self._connect()
        return self._conn

    def _begin(self, stack: ExitStack) -> None:
        """Enter a transaction on ``stack``. When BEGIN finds the connection lost, begin once
        more on a new connection: no statement of the transaction had been sent."""
        import psycopg

        for attempt in (1, 2):
            conn = self._live()
            try:
                stack.enter_context(conn.transaction())
                return
            except psycopg.OperationalError:
                if attempt == 2 or not conn.broken:
                    raise

    @staticmethod
    def _sql(sql: str) -> Any:
        return sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._live().execute(self._sql(sql), tuple(params))
        return cur.fetchall() if cur.description is not None else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._live().cursor() as cur:
            cur.executemany(self._sql(sql), [tuple(r) for r in rows])

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Bulk insert as one ``COPY ... FROM STDIN`` (one statement for the whole batch: psycopg's
        ``executemany`` costs ~100 us of Python per row, COPY a few)."""
        with (
            self._live().cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 5000) -> Iterator[tuple[Any, ...]]:
        from psycopg.pq import TransactionStatus

        self._live()
        self._cursor_seq += 1
        # A server-side cursor needs a transaction. Inside one already (verify reads several
        # streams at once under read_transaction), opening a savepoint per stream would nest them
        # in the order the streams start, and they end in another order.
        in_transaction = self._conn.info.transaction_status != TransactionStatus.IDLE
        scope = nullcontext() if in_transaction else self._conn.transaction()
        with scope, self._conn.cursor(name=f"otel_cost_{self._cursor_seq}") as cur:
            cur.execute(self._sql(sql), tuple(params))
            while batch := cur.fetchmany(size):
                yield from batch

    @contextmanager
    def write_transaction(self) -> Iterator[None]:
        with ExitStack() as stack:
            if self._depth:
                stack.enter_context(self._conn.transaction())  # a savepoint
            else:
                self._begin(stack)
            self._depth += 1
            try:
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK_KEY,))
                yield
            finally:
                self._depth -= 1

    @contextmanager
    def read_transaction(self) -> Iterator[None]:
        """One REPEATABLE READ snapshot for several reads; inside an open transaction, that one's."""
        from psycopg.pq import TransactionStatus

        conn = self._conn
        if self._depth or (not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE):
            yield
            return
        with ExitStack() as stack:
            self._begin(stack)
            self._depth += 1
            try:
                self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                yield
            finally:
                self._depth -= 1

    def close(self) -> None:
        self._conn.close()


def _check_version(db: Backend) -> None:
    found = db.execute("SELECT value FROM ledger_meta WHERE key = ?", ("schema_version",))
    if not found:
        db.execute("INSERT INTO ledger_meta (key, value) VALUES (?, ?)", ("schema_version", SCHEMA_VERSION))
    elif found[0][0] != SCHEMA_VERSION:
        raise LedgerError(f"ledger schema version {found[0][0]!r}, this otel-cost reads {SCHEMA_VERSION!r}")


def connect(url: str, *, create: bool = True) -> SqliteBackend | PostgresBackend:
    """A backend for ``url``: ``postgresql://`` / ``postgres://``, ``sqlite:///path``, or a plain path.
    With ``create=False`` a SQLite file that does not exist is an error, not a new empty ledger."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresBackend(url)
    if url.startswith("sqlite://"):
        # SQLAlchemy's form: sqlite:///relative.db, sqlite:////absolute.db, sqlite:// = in memory.
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else url[len("sqlite://") :]
        return SqliteBackend(path or ":memory:", create=create)
    if "://" in url:
        raise LedgerError(f"unsupported ledger URL {url!r}: use a path, sqlite:///path or postgresql://...")
    return SqliteBackend(url, create=create)
