"""One record the ledger cannot store must not fail anything else: not the rest of its request, not
other clients' requests committed in the same group commit. Real in-process receiver (gRPC) and
real SQLite ledger.

Prices: gpt-4o (genai-prices 0.2.3, https://openai.com/api/pricing): $2.50 / 1M input, $10.00 / 1M
output; 1000 input + 200 output tokens = 0.0025 + 0.0020 = 0.0045 USD (``GPT4O_CALL``).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_cost import semconv
from otel_cost.ledger import Ledger, open_ledger
from otel_cost.pricing import PriceCatalog, load_catalog
from otel_cost.receiver.pipeline import CommitFailed, ExportResult, Pipeline
from otel_cost.receiver.spans import SpanPipeline
from otel_cost.record import CostRecord
from tests.receiver.otlp_builders import GPT4O_CALL, chat_attrs, grpc_export, request, running_receiver, span


def _stored(ledger: object) -> list[tuple[str, str, str | None, Decimal]]:
    """(span id, status, reason, amount) of every stored call, in row order."""
    assert isinstance(ledger, Ledger)
    rows = ledger.db.execute("SELECT span_id, status, reason, amount FROM calls ORDER BY row_id")
    return [(str(s), str(st), r, Decimal(a)) for s, st, r, a in rows]


def test_a_span_ending_after_int64_nanoseconds_is_rejected_and_the_rest_is_stored(tmp_path: Path) -> None:
    """OTLP times are fixed64, so 2^64-1 is legal on the wire; the ledger's columns are int64. The
    span is a malformed span (partial success, with why), the nine others are stored."""
    bad = span(100, chat_attrs())
    bad.end_time_unix_nano = 2**64 - 1
    with running_receiver(tmp_path) as (receiver, ledger):
        good = [span(i, chat_attrs()) for i in range(9)]
        response = grpc_export(receiver.ports.grpc, request([*good, bad]))
        stored = _stored(ledger)
    assert response.partial_success.rejected_spans == 1
    assert "at most 2^63-1" in response.partial_success.error_message
    assert "18446744073709551615" in response.partial_success.error_message
    assert [s for s, *_ in stored] == [(i + 1).to_bytes(8, "big").hex() for i in range(9)]
    assert {(st, amount) for _, st, _, amount in stored} == {("priced", GPT4O_CALL)}


def test_the_last_int64_nanosecond_is_still_a_valid_time(tmp_path: Path) -> None:
    """The bound is 2^63-1 itself (2262-04-11T23:47:16Z), not below it."""
    late = span(1, chat_attrs())
    late.start_time_unix_nano = 2**63 - 2
    late.end_time_unix_nano = 2**63 - 1
    with running_receiver(tmp_path) as (receiver, ledger):
        response = grpc_export(receiver.ports.grpc, request([late]))
        stored = _stored(ledger)
    assert response.partial_success.rejected_spans == 0
    assert [(st, amount) for _, st, _, amount in stored] == [("priced", GPT4O_CALL)]


def test_an_upstream_cost_the_ledger_cannot_hold_is_invalid_upstream_cost(tmp_path: Path) -> None:
    """``cost.amount = "1e30"`` is a finite number, but amount_nano (an int64 column) cannot hold
    1e39: the span is stored unpriced (``invalid_upstream_cost``, amount 0) and the others of the
    request are priced. A storable upstream amount (0.25) is kept as given."""
    huge = {**chat_attrs(), semconv.COST_AMOUNT: "1e30", semconv.COST_CURRENCY: "USD"}
    fine = {**chat_attrs(), semconv.COST_AMOUNT: "1e-40", semconv.COST_CURRENCY: "USD"}
    kept = {**chat_attrs(), semconv.COST_AMOUNT: "0.25", semconv.COST_CURRENCY: "USD"}
    spans = [span(1, chat_attrs()), span(2, huge), span(3, kept), span(4, fine), span(5, chat_attrs())]
    with running_receiver(tmp_path) as (receiver, ledger):
        response = grpc_export(receiver.ports.grpc, request(spans))
        stored = _stored(ledger)
    assert response.partial_success.rejected_spans == 0
    assert [(st, reason, amount) for _, st, reason, amount in stored] == [
        ("priced", None, GPT4O_CALL),
        ("unpriced", "invalid_upstream_cost", Decimal(0)),
        ("priced", None, Decimal("0.25")),
        ("unpriced", "invalid_upstream_cost", Decimal(0)),
        ("priced", None, GPT4O_CALL),
    ]


class _GatedLedger:
    """The real SQLite ledger, with a gate on its first ``append``: the committer is held there
    until the test has queued the requests it wants committed together, so the group commit is
    deterministic. Every ``append`` goes to the real ledger; the sizes are kept."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.entered = threading.Event()
        self.release = threading.Event()
        self.sizes: list[int] = []

    def append(self, records: Sequence[CostRecord]) -> list[CostRecord]:
        self.sizes.append(len(records))
        if len(self.sizes) == 1:
            self.entered.set()
            assert self.release.wait(10)
        return self.ledger.append(records)

    def close(self) -> None:
        self.ledger.close()


def _api_catalog(tmp_path: Path) -> PriceCatalog:
    """``GET maps.example/geocode/*`` at $0.005 a call, and a typo: ``GET search.example/v1/*``
    at $10^20 a call, an amount whose amount_nano (10^29) no int64 column holds."""
    rules = tmp_path / "apis.yaml"
    rules.write_text(
        "version: 1\napis:\n"
        "  - {id: geocode, host: maps.example, path: /geocode/*, per_call: '0.005'}\n"
        "  - {id: search, host: search.example, path: /v1/*, per_call: '100000000000000000000'}\n",
        encoding="utf-8",
    )
    return load_catalog([rules])


def _call(n: int, host: str) -> Span:
    path = "/geocode/json" if host == "maps.example" else "/v1/q"
    return span(
        n, {"http.request.method": "GET", "url.full": f"https://{host}{path}", "server.address": host}
    )


def _export_in_thread(pipeline: Pipeline, req: ExportTraceServiceRequest, out: dict[str, object], key: str):
    def run() -> None:
        try:
            out[key] = pipeline.export(req)
        except Exception as exc:
            out[key] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _queue_together(
    gated: _GatedLedger, pipeline: Pipeline, requests: Mapping[str, ExportTraceServiceRequest]
) -> dict[str, object]:
    """Export one gate request, then ``requests`` while the committer is held, so that they are
    committed in one group commit; return each export's result (or exception)."""
    out: dict[str, object] = {}
    threads = [_export_in_thread(pipeline, request([_call(1, "maps.example")]), out, "gate")]
    assert gated.entered.wait(10)
    threads += [_export_in_thread(pipeline, req, out, key) for key, req in requests.items()]
    deadline = time.monotonic() + 10
    while pipeline.queue_depth < len(requests) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert pipeline.queue_depth == len(requests)
    gated.release.set()
    for thread in threads:
        thread.join(15)
    return out


def test_a_poisoned_request_does_not_fail_another_clients_request_in_the_same_group_commit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two clients' requests are committed in one group commit; one carries a span priced at
    $10^20 (a catalog typo) that the ledger cannot store. The clean request is acknowledged in
    full; the poisoned one gets a partial success rejecting just that span (not retryable: it
    would fail forever), and its other span is stored."""
    ledger = open_ledger(str(tmp_path / "ledger.sqlite"))
    gated = _GatedLedger(ledger)
    pipeline = Pipeline(SpanPipeline(_api_catalog(tmp_path)), gated, None, commit_timeout_s=15.0)
    try:
        with caplog.at_level(logging.WARNING, logger="otel_cost.receiver.pipeline"):
            out = _queue_together(
                gated,
                pipeline,
                {
                    "clean": request([_call(2, "maps.example"), _call(3, "maps.example")]),
                    "poisoned": request([_call(10, "search.example"), _call(11, "maps.example")]),
                },
            )
        clean, poisoned = out["clean"], out["poisoned"]
        assert isinstance(clean, ExportResult) and clean.rejected_spans == 0, clean
        assert isinstance(poisoned, ExportResult), poisoned
        assert poisoned.rejected_spans == 1
        assert f"the ledger cannot store span {(11).to_bytes(8, 'big').hex()}" in poisoned.error_message
        assert "OverflowError" in poisoned.error_message
        # The gate alone; the group (2 + 2) fails; each request alone; the poisoned one split.
        assert gated.sizes == [1, 4, 2, 2, 1, 1]
        stored = _stored(ledger)
        assert [s for s, *_ in stored] == [(n + 1).to_bytes(8, "big").hex() for n in (1, 2, 3, 11)]
        assert {amount for *_, amount in stored} == {Decimal("0.005")}
        assert ledger.verify().ok
    finally:
        pipeline.close(5.0)
        ledger.close()


def test_a_ledger_outage_still_fails_every_request_of_the_group_retryably(tmp_path: Path) -> None:
    """A full disk (SQLite's own SQLITE_FULL, from ``max_page_count`` at the file's current size)
    is not the records' fault: every request of the group gets ``CommitFailed`` (503/UNAVAILABLE,
    the client retries), with no per-request retries hammering the ledger."""
    ledger = open_ledger(str(tmp_path / "ledger.sqlite"))
    gated = _GatedLedger(ledger)
    pipeline = Pipeline(SpanPipeline(_api_catalog(tmp_path)), gated, None, commit_timeout_s=15.0)
    try:
        pages = ledger.db.execute("PRAGMA page_count")[0][0]
        ledger.db.execute(f"PRAGMA max_page_count = {pages}")
        out = _queue_together(
            gated,
            pipeline,
            {
                "a": request([_call(n, "maps.example") for n in range(100, 400)]),
                "b": request([_call(n, "maps.example") for n in range(400, 700)]),
            },
        )
        failed = [out["a"], out["b"]]
        assert all(isinstance(exc, CommitFailed) for exc in failed), out
        assert all(isinstance(exc.__cause__, sqlite3.OperationalError) for exc in failed), out  # type: ignore[union-attr]
        assert gated.sizes == [1, 600]
    finally:
        pipeline.close(5.0)
        ledger.close()
