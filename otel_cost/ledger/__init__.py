"""The audit ledger: an append-only, hash-chained record of every priced call.

``open_ledger(url)`` opens SQLite (a path, WAL mode, the default) or PostgreSQL
(``postgresql://...``, shared by several receivers). ``Ledger.append`` commits durably before it
returns and returns only the records that were new ((trace id, span id) is unique), so callers
count each span once. ``Ledger.spend`` answers "what has this project spent" from any process.
See docs/ledger.md.
"""

from __future__ import annotations

from otel_cost.ledger._backend import LedgerError
from otel_cost.ledger._compact import CompactResult
from otel_cost.ledger._query import CallRow, SpendRow
from otel_cost.ledger._rows import group_order
from otel_cost.ledger._store import ChainHead, Ledger, open_ledger
from otel_cost.ledger._unpriced import UnpricedGroup
from otel_cost.ledger._verify import Problem, VerifyReport
from otel_cost.ledger._views import StoredCall, ViewInfo

__all__ = (
    "CallRow",
    "ChainHead",
    "CompactResult",
    "Ledger",
    "LedgerError",
    "Problem",
    "SpendRow",
    "StoredCall",
    "UnpricedGroup",
    "VerifyReport",
    "ViewInfo",
    "group_order",
    "open_ledger",
)
