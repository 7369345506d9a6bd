"""Build raw OTLP protobuf requests (what a Go/Java SDK or a Collector would send), send them over
gRPC, and an in-process receiver on free loopback ports with the real ledger and the embedded
catalog."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_cost.ledger import open_ledger
from otel_cost.pricing import PriceCatalog, default_catalog
from otel_cost.receiver.app import Receiver
from otel_cost.receiver.config import Endpoint, ReceiverConfig
from otel_cost.receiver.pipeline import LedgerLike
from otel_cost.receiver.spans import any_value

LOOPBACK0 = Endpoint("127.0.0.1", 0)

GPT4O_CALL = Decimal("0.0045")
"""The cost of one :func:`chat_attrs` call (gpt-4o, 1000 input + 200 output tokens), USD.

gpt-4o list prices, as carried by genai-prices 0.2.3 which the embedded catalog compiles
(https://openai.com/api/pricing): $2.50 / 1M input tokens, $10.00 / 1M output tokens, so
1000 x 2.50/1e6 + 200 x 10.00/1e6 = 0.0025 + 0.0020 = 0.0045.
"""


def kv(key: str, value: object) -> KeyValue:
    out = KeyValue(key=key)
    if isinstance(value, bool):
        out.value.bool_value = value
    elif isinstance(value, int):
        out.value.int_value = value
    elif isinstance(value, float):
        out.value.double_value = value
    else:
        out.value.string_value = str(value)
    return out


CONTENT_ONLY_CHAT: dict[str, object] = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.input.messages": '[{"role": "user", "parts": [{"type": "text", "content": "Say hello"}]}]',
    "gen_ai.output.messages": '[{"role": "assistant", "parts": [{"type": "text", "content": "Hello!"}]}]',
}
"""A gpt-4o chat span with its messages and no usage: estimated (tiktoken o200k_base, OpenAI's chat
accounting) at 9 input tokens (3 priming the reply + 3 per message + "user" 1 + "Say hello" 2)
and 2 output ("Hello", "!")."""


def chat_attrs(
    model: str = "gpt-4o", provider: str = "openai", inp: int = 1000, out: int = 200
) -> dict[str, object]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": inp,
        "gen_ai.usage.output_tokens": out,
    }


def span(
    n: int, attrs: Mapping[str, object], *, trace_id: bytes | None = None, span_id: bytes | None = None
) -> Span:
    """A client span with ids derived from ``n`` (unique per n), started 2025-11-23T00:00:00Z."""
    start = 1_763_856_000 * 10**9 + n * 10**6
    return Span(
        trace_id=trace_id if trace_id is not None else (n + 1).to_bytes(16, "big"),
        span_id=span_id if span_id is not None else (n + 1).to_bytes(8, "big"),
        name="chat",
        kind=Span.SpanKind.SPAN_KIND_CLIENT,
        start_time_unix_nano=start,
        end_time_unix_nano=start + 250_000_000,
        attributes=[kv(k, v) for k, v in attrs.items()],
    )


def request(spans: list[Span], service: str = "checkout") -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(kv("service.name", service))
    rs.scope_spans.add().spans.extend(spans)
    return req


def grpc_export(
    port: int, req: ExportTraceServiceRequest, metadata: Sequence[tuple[str, str]] = ()
) -> ExportTraceServiceResponse:
    """Send ``req`` to the OTLP/gRPC trace service on 127.0.0.1:``port``; an error status raises
    ``grpc.RpcError``."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return trace_service_pb2_grpc.TraceServiceStub(channel).Export(req, timeout=10, metadata=metadata)


def wait_for_calls(ledger: object, count: int, timeout_s: float) -> None:
    """Poll until ``ledger`` holds ``count`` calls or ``timeout_s`` passes (the caller asserts what
    arrived); for a receiver that commits what another one forwards to it."""
    deadline = time.monotonic() + timeout_s
    while ledger.count() < count and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.1)


@contextmanager
def running_receiver(
    tmp: Path, *, ledger: LedgerLike | None = None, catalog: PriceCatalog | None = None, **settings: Any
) -> Iterator[tuple[Receiver, LedgerLike]]:
    """A started in-process receiver (gRPC, HTTP, Prometheus on free loopback ports)."""
    config = replace(
        ReceiverConfig(grpc_endpoint=LOOPBACK0, http_endpoint=LOOPBACK0, prometheus_endpoint=LOOPBACK0),
        **settings,
    )
    store = ledger if ledger is not None else open_ledger(os.fspath(tmp / "ledger.sqlite"))
    receiver = Receiver(config, ledger=store, catalog=catalog or default_catalog())
    receiver.start()
    try:
        yield receiver, store
    finally:
        receiver.stop(2.0)


class Sink(ThreadingHTTPServer):
    """Loopback OTLP/HTTP endpoint that stores trace and metric request bodies; answers 503
    ``fail_first`` times first."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[bytes] = []
        self.metric_bodies: list[bytes] = []
        self.fail_first = fail_first
        self.received = threading.Event()
        super().__init__(("127.0.0.1", 0), _SinkHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _SinkHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_POST(self) -> None:
        server = self.server
        assert isinstance(server, Sink)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if server.fail_first > 0:
            server.fail_first -= 1
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        assert self.path in ("/v1/traces", "/v1/metrics")
        (server.bodies if self.path == "/v1/traces" else server.metric_bodies).append(body)
        server.received.set()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()


def attributes_of(body: bytes) -> list[dict[str, object]]:
    req = ExportTraceServiceRequest.FromString(body)
    return [
        {kv.key: any_value(kv.value) for kv in s.attributes}
        for rs in req.resource_spans
        for ss in rs.scope_spans
        for s in ss.spans
    ]
