"""Two ``otel-cost serve`` processes sharing one PostgreSQL ledger (issue 6 acceptance): a span
sent to both receivers is stored and counted once, and the shared hash chain verifies.

Real processes, a real PostgreSQL server (Debian package, started on loopback by
``tests/ledger/pg_server.py``) and the real OTLP gRPC exporter.

Price used (published list price, as carried by genai-prices 0.2.3): OpenAI ``gpt-4o``,
$2.50 per 1M input tokens and $10.00 per 1M output tokens (https://openai.com/api/pricing).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

from otel_cost.ledger import open_ledger
from tests.ledger.pg_server import fresh_database, postgres_server
from tests.receiver.harness import ReceiverProcess, export_until_ok, ledger_total, record_spans
from tests.receiver.otlp_builders import GPT4O_CALL


@pytest.fixture
def postgres_ledger_url() -> Iterator[str]:
    with postgres_server() as server_url:
        yield fresh_database(server_url, "two_receivers")


def test_two_receivers_share_one_postgres_ledger_and_count_a_span_sent_to_both_once(
    tmp_path: Path, postgres_ledger_url: str
):
    url = postgres_ledger_url
    first = ReceiverProcess(tmp_path, ledger=url)  # type: ignore[arg-type]  # a URL, not a path
    second = ReceiverProcess(tmp_path, ledger=url)  # type: ignore[arg-type]
    try:
        first.start()
        second.start()
        only_first = record_spans("checkout", [("openai", "gpt-4o", 1000, 200)] * 4)
        only_second = record_spans("search", [("openai", "gpt-4o", 1000, 200)] * 3)
        both = record_spans("billing", [("openai", "gpt-4o", 1000, 200)] * 5)

        def send(receiver: ReceiverProcess, batches: list[list[object]]) -> None:
            exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{receiver.grpc_port}", insecure=True, timeout=30)
            for batch in batches:
                export_until_ok(exporter, batch)  # type: ignore[arg-type]
            exporter.shutdown()

        # Both receivers write at the same time; the 'both' batch reaches each of them.
        threads = [
            threading.Thread(target=send, args=(first, [only_first, both])),
            threading.Thread(target=send, args=(second, [both, only_second])),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)

        # Billable spans: 4 + 3 + 5 = 12 (the agent spans record_spans adds cost nothing);
        # 12 * 0.0045 = 0.054 USD. Had the shared batch counted twice: 17 calls, 0.0765 USD.
        expected = 12 * GPT4O_CALL
        assert expected == Decimal("0.054")
        assert ledger_total(url) == (expected, 12)  # type: ignore[arg-type]
    finally:
        first.terminate()
        second.terminate()

    ledger = open_ledger(url)
    try:
        report = ledger.verify()
        assert report.ok, report
    finally:
        ledger.close()
