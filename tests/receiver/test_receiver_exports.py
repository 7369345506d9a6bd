"""Paid HTTP API spans, OTLP metrics push, gRPC forwarding and the Prometheus exposition, on an
in-process receiver with the real ledger. Downstream endpoints are loopback servers (a second
receiver, or an HTTP server that keeps what it receives).

Prices: a catalog file in the test prices ``GET maps.example.com/geocode/*`` at $5.00 per 1000
calls ($0.005 per call). gpt-4o (genai-prices 0.2.3, https://openai.com/api/pricing): $2.50 / 1M
input, $10.00 / 1M output; 1000 input + 200 output tokens = 0.0025 + 0.0020 = 0.0045 USD.
"""

from __future__ import annotations

import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_cost.pricing import load_catalog
from tests.receiver.otlp_builders import (
    CONTENT_ONLY_CHAT,
    GPT4O_CALL,
    Sink,
    attributes_of,
    chat_attrs,
    grpc_export,
    request,
    running_receiver,
    span,
    wait_for_calls,
)


def test_paid_http_api_calls_are_priced_per_call_and_other_http_spans_are_not_records(tmp_path: Path):
    catalog_file = tmp_path / "apis.yaml"
    catalog_file.write_text(
        "apis:\n  - id: geocode\n    host: maps.example.com\n    method: GET\n"
        "    path: /geocode/*\n    per_1000_calls: 5.00\n"
    )
    geocode = {"http.request.method": "GET", "url.full": "https://maps.example.com/geocode/json?address=x"}
    other_host = {"http.request.method": "GET", "url.full": "https://example.org/"}
    server_span = span(3, geocode)
    server_span.kind = Span.SpanKind.SPAN_KIND_SERVER  # an incoming request is not a paid call
    with running_receiver(tmp_path, catalog=load_catalog([catalog_file])) as (receiver, ledger):
        grpc_export(
            receiver.ports.grpc,
            request([span(1, geocode), span(2, other_host), server_span, span(4, geocode)]),
        )
        rows = list(ledger.calls())  # type: ignore[attr-defined]
    # Two geocode client calls at 5.00 / 1000 = 0.005 each.
    assert [(row.span_id, row.amount, row.model) for row in rows] == [
        ("0000000000000002", Decimal("0.005"), "geocode"),
        ("0000000000000005", Decimal("0.005"), "geocode"),
    ]


def test_metrics_are_pushed_over_otlp(tmp_path: Path):
    sink = Sink()
    try:
        with running_receiver(tmp_path, metrics_endpoint=sink.url, metrics_interval_s=1) as (receiver, _):
            grpc_export(receiver.ports.grpc, request([span(1, chat_attrs()), span(2, chat_attrs())]))
            deadline = time.monotonic() + 10
            while not sink.metric_bodies and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        sink.shutdown()
        sink.server_close()
    assert sink.metric_bodies, "no OTLP metrics push arrived"
    pushed = ExportMetricsServiceRequest.FromString(sink.metric_bodies[-1])
    resource = {kv.key: kv.value.string_value for kv in pushed.resource_metrics[0].resource.attributes}
    assert resource["service.name"] == "otel-cost"
    assert resource["service.instance.id"] == receiver.instance_id
    spend = [
        point.as_double
        for rm in pushed.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name == "cost.spend"
        for point in metric.sum.data_points
    ]
    # 2 gpt-4o calls * 0.0045 = 0.009 USD.
    assert len(spend) == 1 and abs(spend[0] - 0.009) < 1e-12


def test_metrics_are_pushed_as_deltas_when_the_exporter_setting_asks(tmp_path: Path, monkeypatch: Any):
    """``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta``: each push carries what was
    counted since the previous one, as the SDK's periodic reader does."""
    from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")
    sink = Sink()

    def pushed_calls() -> list[tuple[int, int]]:
        out = []
        for body in sink.metric_bodies:
            for rm in ExportMetricsServiceRequest.FromString(body).resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        if metric.name == "cost.calls":
                            for point in metric.sum.data_points:
                                out.append((metric.sum.aggregation_temporality, point.as_int))
        return out

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 10
        while len(pushed_calls()) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    try:
        with running_receiver(tmp_path, metrics_endpoint=sink.url, metrics_interval_s=1) as (receiver, _):
            grpc_export(receiver.ports.grpc, request([span(1, chat_attrs()), span(2, chat_attrs())]))
            wait_for(1)
            grpc_export(receiver.ports.grpc, request([span(3, chat_attrs())]))
            wait_for(2)
    finally:
        sink.shutdown()
        sink.server_close()
    delta = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
    assert pushed_calls()[:2] == [(delta, 2), (delta, 1)]  # pushes without new calls send no point


def test_forward_over_grpc_to_a_second_receiver(tmp_path: Path):
    (tmp_path / "central").mkdir()
    (tmp_path / "edge").mkdir()
    with running_receiver(tmp_path / "central") as (central, central_ledger):
        url = f"grpc://127.0.0.1:{central.ports.grpc}"
        with running_receiver(tmp_path / "edge", forward_traces=url) as (edge, _):
            grpc_export(edge.ports.grpc, request([span(1, chat_attrs()), span(2, chat_attrs())]))
            wait_for_calls(central_ledger, 2, timeout_s=10)
        rows = list(central_ledger.calls())  # type: ignore[attr-defined]
    assert [row.amount for row in rows] == [GPT4O_CALL, GPT4O_CALL]


def test_prometheus_exposition_is_openmetrics_with_exemplars_and_target_info(tmp_path: Path):
    from otel_cost import __version__

    with running_receiver(tmp_path) as (receiver, _):
        grpc_export(receiver.ports.grpc, request([span(1, chat_attrs())]))
        req = urllib.request.Request(
            f"http://127.0.0.1:{receiver.ports.prometheus}/metrics",
            headers={"Accept": "application/openmetrics-text; version=1.0.0"},
        )
        scrapes = []
        for _ in range(2):  # two scrapers (an HA pair of Prometheus servers) get the same exemplars
            with urllib.request.urlopen(req, timeout=5) as response:
                content_type = response.headers["Content-Type"]
                scrapes.append(response.read().decode())
    assert content_type.startswith("application/openmetrics-text")
    for text in scrapes:
        spend = next(line for line in text.splitlines() if line.startswith("cost_spend_USD_total{"))
        # value 0.0045, exemplar with the span's ids (span(1): trace id 2, span id 2)
        assert (
            ' 0.0045 # {span_id="0000000000000002",trace_id="00000000000000000000000000000002"} 0.0045 '
            in spend
        )
        # The OTel Prometheus compatibility spec's scope labels, on every sample.
        assert f'otel_scope_name="otel_cost",otel_scope_version="{__version__}"' in spend
        assert f'service_instance_id="{receiver.instance_id}"' in text
        assert text.rstrip().endswith("# EOF")


def test_llm_span_without_usage_is_estimated_from_its_content(tmp_path: Path):
    """Same fallback as the SDK processor: tokens counted from the content, flagged estimated."""
    attrs = CONTENT_ONLY_CHAT
    sink = Sink()
    try:
        with running_receiver(tmp_path, forward_traces=sink.url) as (receiver, ledger):
            grpc_export(receiver.ports.grpc, request([span(1, attrs)]))
            rows = list(ledger.calls())  # type: ignore[attr-defined]
            assert sink.received.wait(10)
    finally:
        sink.shutdown()
        sink.server_close()
    (row,) = rows
    # tiktoken o200k_base (gpt-4o), OpenAI's chat accounting: input = 3 priming the reply
    # + 3 per message + 1 ("user") + 2 ("Say", " hello") = 9; output = 2 ("Hello", "!").
    assert (row.input_tokens, row.output_tokens) == (9, 2)
    # gpt-4o at $2.50 / 1M input, $10.00 / 1M output (openai.com/api/pricing):
    # 9 x 2.50/1e6 + 2 x 10.00/1e6 = 0.0000225 + 0.0000200 = 0.0000425
    assert row.amount == Decimal("0.0000425")
    forwarded = attributes_of(sink.bodies[0])[0]
    assert forwarded["cost.usage.estimated"] is True
    assert (forwarded["gen_ai.usage.input_tokens"], forwarded["gen_ai.usage.output_tokens"]) == (9, 2)
