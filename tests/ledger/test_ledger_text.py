"""Text the two backends would store differently: a NUL character (U+0000), which SQLite keeps and
PostgreSQL refuses ("text fields cannot contain NUL"). The ledger stores it as U+FFFD on both, so
a record is accepted by both and its row hash is the same."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from otel_cost.ledger import Ledger, open_ledger
from otel_cost.ledger._rows import CALL_COLUMNS, normalise_row
from otel_cost.pricing import default_catalog
from otel_cost.receiver.pipeline import Pipeline
from otel_cost.receiver.spans import SpanPipeline
from otel_cost.record import CostRecord
from tests.ledger.ledger_fixtures import make_record
from tests.receiver.otlp_builders import chat_attrs, request, span

_COLUMNS = ", ".join(CALL_COLUMNS)


def _nul_record(n: int, *, attribution: dict[str, str] | None = None) -> CostRecord:
    """A priced call whose model, service, provider, price_ref and breakdown key carry a NUL (an
    instrumentation that passed a C string through, or a hostile client)."""
    record = make_record(
        n, model="gpt-4o\x00", service="check\x00out", provider="open\x00ai", attribution=attribution
    )
    return replace(record, result=replace(record.result, breakdown={"in\x00put": record.result.amount}))


def _rows(ledger: Ledger) -> list[tuple[object, ...]]:
    """Every stored call, as hashed (normalised), with its row hash."""
    return [
        (*normalise_row(row[:-1]), row[-1])
        for row in ledger.db.execute(f"SELECT {_COLUMNS}, row_hash FROM calls ORDER BY row_id")
    ]


def test_nul_is_stored_as_the_replacement_character_on_sqlite(tmp_path: Path) -> None:
    """Every text column and the attribution index hold U+FFFD where the record had NUL; the chain
    verifies; a clean record beside it is stored as given."""
    ledger = open_ledger(str(tmp_path / "ledger.sqlite"))
    nul = _nul_record(1, attribution={"pro\x00ject": "search\x00"})
    assert ledger.append([nul, make_record(2, attribution={"project": "search"})]) == [
        nul,
        make_record(2, attribution={"project": "search"}),
    ]
    stored = ledger.db.execute(
        "SELECT service, provider, model, price_ref, price_model, breakdown, attribution"
        " FROM calls ORDER BY row_id"
    )
    assert stored == [
        (
            "check\ufffdout",
            "open\ufffdai",
            "gpt-4o\ufffd",
            "open\x00ai:gpt-4o\x00@test".replace("\x00", "\ufffd"),
            "gpt-4o\ufffd",
            '{"in\ufffdput":"0.0015"}',
            '{"pro\ufffdject":"search\ufffd"}',
        ),
        (
            "checkout",
            "openai",
            "gpt-4o",
            "openai:gpt-4o@test",
            "gpt-4o",
            '{"input":"0.0015"}',
            '{"project":"search"}',
        ),
    ]
    index = ledger.db.execute("SELECT row_id, key, value FROM call_attribution ORDER BY row_id")
    assert index == [(1, "pro\ufffdject", "search\ufffd"), (2, "project", "search")]
    assert ledger.verify().ok
    ledger.close()


def test_nul_gives_the_same_rows_and_hashes_on_postgresql_as_on_sqlite(
    postgres_url: str, tmp_path: Path
) -> None:
    """The same records appended to a real PostgreSQL server and to SQLite: accepted by both (no
    "text fields cannot contain NUL"), with equal stored values and row hashes, and both chains
    verify."""
    records = [make_record(1), _nul_record(2), make_record(3, model="o3\x00mini")]
    sqlite = open_ledger(str(tmp_path / "ledger.sqlite"))
    postgres = open_ledger(postgres_url)
    try:
        assert sqlite.append(records) == records
        assert postgres.append(records) == records
        on_sqlite, on_postgres = _rows(sqlite), _rows(postgres)
        assert on_postgres == on_sqlite
        models = [row[CALL_COLUMNS.index("model")] for row in on_postgres]
        assert models == ["gpt-4o", "gpt-4o\ufffd", "o3\ufffdmini"]
        assert sqlite.verify().ok and postgres.verify().ok
    finally:
        sqlite.close()
        postgres.close()


def test_a_receiver_on_postgresql_stores_nul_in_attribution_replaced_like_sqlite(
    postgres_url: str,
) -> None:
    """NUL in an attribution value (``user.id``), which PostgreSQL's ``call_attribution`` would
    refuse: the per-key rows are built from the row's stored attribution JSON, NUL already
    replaced, so every span of the request is stored, and the key reads back as stored."""
    ledger = open_ledger(postgres_url)
    pipeline = Pipeline(SpanPipeline(default_catalog()), ledger, None, commit_timeout_s=15.0)
    try:
        result = pipeline.export(
            request(
                [
                    span(1, chat_attrs()),
                    span(2, {**chat_attrs(), "user.id": "bob\x00"}),
                    span(3, chat_attrs(model="gpt-4o\x00")),
                ]
            )
        )
        assert result.rejected_spans == 0
        spans = ledger.db.execute("SELECT span_id, model FROM calls ORDER BY row_id")
        assert spans == [
            ((2).to_bytes(8, "big").hex(), "gpt-4o"),
            ((3).to_bytes(8, "big").hex(), "gpt-4o"),
            ((4).to_bytes(8, "big").hex(), "gpt-4o\ufffd"),
        ]
        users = ledger.db.execute("SELECT value FROM call_attribution WHERE key = 'user' ORDER BY row_id")
        assert users == [("bob\ufffd",)]
        assert [row.calls for row in ledger.spend(["user"], where={"user": "bob\ufffd"})] == [1]
        assert ledger.verify().ok
    finally:
        pipeline.close(5.0)
        ledger.close()
