"""One record the ledger cannot store must not fail anything else: not the rest of its request, not
other clients' requests committed in the same group commit. Real in-process receiver (gRPC) and
real SQLite ledger.

Prices: gpt-4o (genai-prices 0.2.3, https://openai.com/api/pricing): $2.50 / 1M input, $10.00 / 1M
output; 1000 input + 200 output tokens = 0.0025 + 0.0020 = 0.0045 USD (``GPT4O_CALL``).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from otel_cost import semconv
from otel_cost.ledger import Ledger
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
