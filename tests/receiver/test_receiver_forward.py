"""Forwarding enriched traces, and spans the SDK processor already priced.

The downstream "Tempo" is a real OTLP/HTTP endpoint: a second otel-cost receiver, or a loopback
HTTP server that keeps the bodies it receives so the test can decode them.

gpt-4o (genai-prices 0.2.3, https://openai.com/api/pricing): $2.50 / 1M input, $10.00 / 1M
output; 1000 input + 200 output tokens = 0.0025 + 0.0020 = 0.0045 USD.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

from otel_cost.receiver.forward import Forwarder, grpc_sender, http_sender
from tests.receiver.otlp_builders import (
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


def test_forwarded_spans_carry_cost_and_malformed_spans_are_not_forwarded(tmp_path: Path):
    sink = Sink(fail_first=2)  # two retryable failures first: the forwarder retries
    try:
        with running_receiver(tmp_path, forward_traces=sink.url) as (receiver, _):
            tool = span(3, {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"})
            bad = span(4, chat_attrs(), trace_id=b"\x00" * 16)
            answer = grpc_export(receiver.ports.grpc, request([span(1, chat_attrs()), tool, bad]))
            assert answer.partial_success.rejected_spans == 1
            assert sink.received.wait(15)
        forwarded = attributes_of(sink.bodies[0])
        assert len(forwarded) == 2  # the malformed span is not forwarded
        chat, tool_attrs = forwarded
        # chat_attrs(): gpt-4o, 1000 input + 200 output tokens at $2.50 / $10.00 per 1M
        # (openai.com/api/pricing): input 1000 x 2.50/1e6 = 0.0025, output 200 x 10.00/1e6 = 0.002
        assert chat["cost.amount"] == 0.0045
        assert chat["cost.currency"] == "USD"
        assert chat["cost.status"] == "priced"
        assert chat["gen_ai.usage.cost.amount"] == 0.0045
        assert chat["cost.breakdown.input"] == 0.0025
        assert chat["cost.breakdown.output"] == 0.002
        assert str(chat["cost.price.ref"]).startswith("openai/gpt-4o@")
        assert chat["cost.attribution.service"] == "checkout"
        assert chat["gen_ai.usage.input_tokens"] == 1000  # original attributes kept
        assert not any(key.startswith("cost.") for key in tool_attrs)  # tool spans cost nothing
    finally:
        sink.shutdown()
        sink.server_close()


def test_spans_priced_upstream_keep_their_cost_through_a_chain_of_receivers(tmp_path: Path):
    """Edge receiver prices and forwards to a central receiver; the central one keeps the edge's
    cost and attribution instead of pricing again (a custom catalog at the edge would otherwise be
    lost). A span the SDK processor priced (cost.status present) is kept as is at the edge too."""
    (tmp_path / "central").mkdir()
    (tmp_path / "edge").mkdir()
    with running_receiver(tmp_path / "central") as (central, central_ledger):
        url = f"http://127.0.0.1:{central.ports.http}"
        with running_receiver(tmp_path / "edge", forward_traces=url) as (edge, edge_ledger):
            sdk_priced = span(
                2,
                {
                    **chat_attrs(),
                    "cost.status": "priced",
                    "cost.amount": 0.125,
                    "cost.currency": "USD",
                    "cost.source": "local",
                    "cost.price.ref": "custom/gpt-4o@2",
                    "cost.attribution.project": "search",
                },
            )
            grpc_export(edge.ports.grpc, request([span(1, chat_attrs()), sdk_priced]))
            wait_for_calls(central_ledger, 2, timeout_s=15)
            edge_rows = {row.span_id: row for row in edge_ledger.calls()}  # type: ignore[attr-defined]
        central_rows = {row.span_id: row for row in central_ledger.calls()}  # type: ignore[attr-defined]
    assert set(central_rows) == set(edge_rows) == {"0000000000000002", "0000000000000003"}
    for rows in (edge_rows, central_rows):
        assert rows["0000000000000002"].amount == GPT4O_CALL  # priced at the edge, as above
        assert rows["0000000000000003"].amount == Decimal("0.125")  # the SDK's cost.amount, kept
        assert rows["0000000000000003"].price_ref == "custom/gpt-4o@2"
        assert rows["0000000000000003"].attribution == {"project": "search"}


def test_forwarder_drops_oldest_when_full_and_gives_up_after_retries():
    sent: list[bytes] = []
    gate = threading.Event()

    def slow(payload: bytes) -> None:
        gate.wait(10)
        sent.append(payload)

    forwarder = Forwarder(slow, max_queue=2)
    for i in range(5):
        forwarder.submit(bytes([i]))
    # One is in flight (0 or none yet), the queue keeps the newest two.
    gate.set()
    assert forwarder.flush(10)
    forwarder.close(5)
    assert sent[-2:] == [b"\x03", b"\x04"]
    assert forwarder.dropped == 5 - len(sent)

    refused = Forwarder(http_sender("http://127.0.0.1:9/"), max_attempts=2, initial_backoff_s=0.01)
    refused.submit(b"x")
    assert refused.flush(10)
    refused.close(5)
    assert refused.dropped == 1 and refused.sent == 0


def test_grpc_forward_sends_the_payload_bytes_as_they_are_and_retries_unavailable():
    """The gRPC sender puts the payload on the wire unchanged (no decode and re-encode), and an
    UNAVAILABLE answer is retried. The downstream is a real gRPC server on loopback that answers
    UNAVAILABLE once, then keeps the raw request bodies.

    The payload is valid OTLP but not in canonical field order (a ResourceSpans with its
    scope_spans, field 2, before its resource, field 1): a message decoded and serialised again
    would come out reordered, so only a verbatim send arrives byte for byte."""
    resource_spans = request([span(1, chat_attrs())]).resource_spans[0]
    scope = ResourceSpans(scope_spans=resource_spans.scope_spans).SerializeToString()
    resource = ResourceSpans(resource=resource_spans.resource).SerializeToString()
    canonical = ExportTraceServiceRequest(resource_spans=[resource_spans]).SerializeToString()
    # Same fields, same length: keep the canonical tag and length prefix, swap the body's order.
    payload = canonical[: -len(scope + resource)] + scope + resource
    assert ExportTraceServiceRequest.FromString(payload).resource_spans[0] == resource_spans
    assert ExportTraceServiceRequest.FromString(payload).SerializeToString() != payload

    received: list[bytes] = []
    answers = ["unavailable"]

    def export(body: bytes, context: grpc.ServicerContext) -> ExportTraceServiceResponse:
        if answers:
            answers.pop()
            context.abort(grpc.StatusCode.UNAVAILABLE, "busy")
        received.append(body)
        return ExportTraceServiceResponse()

    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    method = grpc.unary_unary_rpc_method_handler(
        export, request_deserializer=None, response_serializer=ExportTraceServiceResponse.SerializeToString
    )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "opentelemetry.proto.collector.trace.v1.TraceService", {"Export": method}
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        forwarder = Forwarder(grpc_sender(f"grpc://127.0.0.1:{port}", timeout_s=5), initial_backoff_s=0.01)
        forwarder.submit(payload)
        assert forwarder.flush(15)
        forwarder.close(5)
    finally:
        server.stop(None)
    assert (forwarder.sent, forwarder.dropped) == (1, 0)
    assert answers == []  # the first attempt was refused, the retry got through
    assert received == [payload]
