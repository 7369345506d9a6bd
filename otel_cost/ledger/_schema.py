"""Table definitions, written once for SQLite and PostgreSQL (``{int}`` and ``{norowid}`` differ)."""

from __future__ import annotations

from otel_cost.ledger._rows import AMOUNT_COLUMNS, CALL_COLUMNS, GROUP_COLUMNS, TEXT_COLUMNS, TOKEN_COLUMNS

SCHEMA_VERSION = "1"

ROLLUP_COLUMNS: tuple[str, ...] = (
    "rollup_id",
    "batch_id",
    *GROUP_COLUMNS,
    *AMOUNT_COLUMNS,
    "calls",
    *TOKEN_COLUMNS,
    "usage_estimated",
    "error",
    "attribution",
)
"""Daily roll-up rows that replace compacted calls, hashed like calls (``row_hash`` follows)."""

ROLLUP_TEXT_COLUMNS = TEXT_COLUMNS & frozenset(ROLLUP_COLUMNS)

_NOT_NULL_TEXT = frozenset(
    {"trace_id", "span_id", "day", "kind", "service", "status", "source", "currency", "amount", "attribution"}
)


def _column_defs(columns: tuple[str, ...], text: frozenset[str], key: str) -> str:
    defs: list[str] = []
    for name in columns:
        if name == key:
            defs.append(f"{name} {{int}} PRIMARY KEY")
        elif name in text:
            defs.append(f"{name} TEXT" + (" NOT NULL" if name in _NOT_NULL_TEXT else ""))
        else:
            defs.append(f"{name} {{int}} NOT NULL")
    return ",\n  ".join(defs)


_DDL = f"""
CREATE TABLE IF NOT EXISTS ledger_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
  batch_id {{int}} PRIMARY KEY,
  kind TEXT NOT NULL,
  created_ns {{int}} NOT NULL,
  row_count {{int}} NOT NULL,
  first_row {{int}} NOT NULL,
  last_row {{int}} NOT NULL,
  rows_digest TEXT NOT NULL,
  payload TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  compacted_in {{int}}
);
CREATE TABLE IF NOT EXISTS calls (
  {_column_defs(CALL_COLUMNS, TEXT_COLUMNS, "row_id")},
  row_hash TEXT NOT NULL,
  UNIQUE (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS calls_day ON calls (day);
CREATE INDEX IF NOT EXISTS calls_batch ON calls (batch_id);
CREATE TABLE IF NOT EXISTS call_attribution (
  row_id {{int}} NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (row_id, key)
){{norowid}};
CREATE INDEX IF NOT EXISTS call_attribution_kv ON call_attribution (key, value);
CREATE TABLE IF NOT EXISTS rollups (
  {_column_defs(ROLLUP_COLUMNS, ROLLUP_TEXT_COLUMNS, "rollup_id")},
  row_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rollups_day ON rollups (day);
CREATE TABLE IF NOT EXISTS price_views (
  name TEXT PRIMARY KEY,
  created_ns {{int}} NOT NULL,
  catalog TEXT NOT NULL,
  from_day TEXT NOT NULL,
  to_day TEXT NOT NULL,
  row_count {{int}} NOT NULL
);
CREATE TABLE IF NOT EXISTS view_prices (
  view TEXT NOT NULL,
  row_id {{int}} NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  currency TEXT NOT NULL,
  amount TEXT NOT NULL,
  amount_nano {{int}} NOT NULL,
  amount_atto {{int}} NOT NULL,
  amount_fine {{int}} NOT NULL,
  price_ref TEXT,
  breakdown TEXT NOT NULL,
  PRIMARY KEY (view, row_id)
){{norowid}};
"""


def ddl(dialect: str) -> list[str]:
    """The schema's statements for ``sqlite`` or ``postgresql``."""
    if dialect == "sqlite":
        text = _DDL.replace("{int}", "INTEGER").replace("{norowid}", " WITHOUT ROWID")
    else:
        text = _DDL.replace("{int}", "BIGINT").replace("{norowid}", "")
    return [stmt.strip() for stmt in text.split(";") if stmt.strip()]
