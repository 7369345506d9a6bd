"""Acceptance tests: ``otel-cost serve`` as a real subprocess, fed by the real OTel SDK exporters,
scraped by a real Prometheus (Debian package), checked with PromQL and against the ledger.

Prices used below (published list prices, as carried by genai-prices 0.2.3, which the embedded
catalog compiles):

- OpenAI ``gpt-4o``: $2.50 per 1M input tokens, $10.00 per 1M output tokens
  (https://openai.com/api/pricing).
- Anthropic ``claude-sonnet-4-20250514``: $3.00 per 1M input tokens, $15.00 per 1M output tokens
  (https://www.anthropic.com/pricing#api).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.receiver.harness import (
    Prometheus,
    ReceiverProcess,
    export_until_ok,
    ledger_total,
    prometheus_binary,
    record_spans,
)
from tests.receiver.otlp_builders import GPT4O_CALL

# claude-sonnet-4, 2000 input + 400 output: 2000 * 3.00/1e6 + 400 * 15.00/1e6 = 0.006 + 0.006
SONNET_CALL = Decimal("0.012")

MakeReceiver = Callable[..., ReceiverProcess]


@pytest.fixture
def make_receiver(tmp_path: Path) -> Iterator[MakeReceiver]:
    started: list[ReceiverProcess] = []

    def make(*extra: str, ledger: Path | None = None, env: dict[str, str] | None = None) -> ReceiverProcess:
        receiver = ReceiverProcess(tmp_path, *extra, ledger=ledger, env=env)
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.kill()


def test_prometheus_total_over_grpc_and_http_counts_duplicates_once(
    make_receiver: MakeReceiver, tmp_path: Path
):
    binary = prometheus_binary()
    receiver = make_receiver().start()
    prometheus = Prometheus(binary, tmp_path, [f"127.0.0.1:{receiver.prometheus_port}"])
    try:
        grpc_spans = record_spans("checkout", [("openai", "gpt-4o", 1000, 200)] * 3, extra_spans=2)
        http_spans = record_spans("search", [("anthropic", "claude-sonnet-4-20250514", 2000, 400)] * 2)
        grpc = GrpcSpanExporter(endpoint=f"127.0.0.1:{receiver.grpc_port}", insecure=True, timeout=10)
        http = HttpSpanExporter(endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces", timeout=10)
        assert grpc.export(grpc_spans) is SpanExportResult.SUCCESS
        assert http.export(http_spans) is SpanExportResult.SUCCESS

        # 3 * 0.0045 + 2 * 0.012 = 0.0135 + 0.024 = 0.0375 USD; the agent and step spans cost nothing.
        expected = 3 * GPT4O_CALL + 2 * SONNET_CALL
        assert expected == Decimal("0.0375")
        assert ledger_total(receiver.ledger) == (expected, 5)
        value = prometheus.wait_for("sum(cost_spend_USD_total)", float(expected))
        assert value is not None and abs(value - float(expected)) < 1e-12, value
        by_service = {
            r["metric"]["service_name"]: float(r["value"][1])  # type: ignore[index]
            for r in prometheus.query("sum by (service_name) (cost_spend_USD_total)")
        }
        assert by_service == pytest.approx({"checkout": 0.0135, "search": 0.024}, abs=1e-12)
        assert prometheus.scalar("sum(cost_calls_total)") == 5.0

        # The exporter's retry after a lost response: the same spans again, over the other protocol.
        assert http.export(grpc_spans) is SpanExportResult.SUCCESS
        assert grpc.export(http_spans) is SpanExportResult.SUCCESS
        assert ledger_total(receiver.ledger) == (expected, 5)
        time.sleep(2.5)  # two more scrapes
        assert prometheus.scalar("sum(cost_calls_total)") == 5.0
        value = prometheus.scalar("sum(cost_spend_USD_total)")
        assert value is not None and abs(value - float(expected)) < 1e-12, value

        # Exemplars link the spend series to the received spans' trace ids.
        sent_traces = {format(s.context.trace_id, "032x") for s in grpc_spans + http_spans}
        exemplars = prometheus.exemplars("cost_spend_USD_total")
        seen = {e["labels"]["trace_id"] for series in exemplars for e in series["exemplars"]}  # type: ignore[index]
        assert seen and seen <= sent_traces
        grpc.shutdown()
        http.shutdown()
    finally:
        prometheus.stop()
    assert receiver.terminate() == 0


def test_kill_9_mid_run_then_restart_loses_and_doubles_nothing(make_receiver: MakeReceiver):
    receiver = make_receiver().start()
    batches = [record_spans(f"svc-{i % 3}", [("openai", "gpt-4o", 1000, 200)] * 4) for i in range(40)]
    acknowledged = threading.Event()
    done = [0]
    done_at_kill: list[int] = []
    restarted = threading.Event()

    def killer() -> None:
        acknowledged.wait(60)
        done_at_kill.append(done[0])
        receiver.kill()  # SIGKILL while the client keeps sending: no drain, no shutdown code
        time.sleep(0.5)
        receiver.start()
        restarted.set()

    thread = threading.Thread(target=killer)
    thread.start()
    exporter = HttpSpanExporter(endpoint=f"http://127.0.0.1:{receiver.http_port}/v1/traces", timeout=3)
    for i, batch in enumerate(batches):
        export_until_ok(exporter, batch)
        done[0] = i + 1
        if i == 10:
            acknowledged.set()
    thread.join(60)
    assert restarted.is_set()
    exporter.shutdown()
    # 40 batches * 4 calls * 0.0045 = 0.72 USD, 160 calls, each counted once.
    assert ledger_total(receiver.ledger) == (Decimal("0.72"), 160)
    assert done_at_kill and 10 < done_at_kill[0] < len(batches), done_at_kill
    assert receiver.terminate() == 0
