"""Attribution set in one service reaches the LLM span of another over a real loopback HTTP call,
carried by W3C baggage through the standard propagators (tracecontext + baggage).

Service "a" (its own TracerProvider) sets ``otel_cost.attribution(...)`` and calls service "b"
over HTTP; service "b" (another TracerProvider, with CostSpanProcessor) extracts the context and
calls OpenAI (real SDK, openai-v2 instrumentation) against the replayed recording.
(This file sorts before test_e2e_openai.py on purpose: see the ``instrument`` fixture.)"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import openai
import pytest
from opentelemetry import context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from otel_cost import CostSpanProcessor, attribution
from otel_cost import semconv as sc
from otel_cost.replay import ReplayServer, load_cassette

PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])


@pytest.fixture
def service_b(cassettes_dir: Path) -> Iterator[tuple[str, InMemorySpanExporter]]:
    """Service b: an HTTP server whose handler calls OpenAI inside the extracted context."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "b"}))
    provider.add_span_processor(CostSpanProcessor(SimpleSpanProcessor(exporter)))
    tracer = provider.get_tracer("service-b")
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    interactions = load_cassette(cassettes_dir / "openai-v2" / "test_chat_completion_with_content.yaml")
    replay = ReplayServer(interactions).start()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            ctx = PROPAGATOR.extract(dict(self.headers.items()))
            token = context.attach(ctx)
            try:
                with (
                    tracer.start_as_current_span("POST /ask", kind=SpanKind.SERVER),
                    openai.OpenAI(base_url=replay.url + "/v1", api_key="k", max_retries=0) as client,
                ):
                    client.chat.completions.create(**json.loads(interactions[0].request_body))
            finally:
                context.detach(token)
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", exporter
    finally:
        server.shutdown()
        server.server_close()
        replay.stop()
        instrumentor.uninstrument()
        provider.shutdown()


def test_attribution_crosses_services(service_b: tuple[str, InMemorySpanExporter]) -> None:
    url, exporter_b = service_b
    provider_a = TracerProvider(resource=Resource.create({"service.name": "a"}))
    exporter_a = InMemorySpanExporter()
    provider_a.add_span_processor(SimpleSpanProcessor(exporter_a))
    tracer_a = provider_a.get_tracer("service-a")
    with (
        attribution(project="search", cost_center="cc-42", user="u-1", tenant="acme"),
        tracer_a.start_as_current_span("handle", kind=SpanKind.SERVER) as root,
    ):
        headers: dict[str, str] = {}
        PROPAGATOR.inject(headers)
        assert "baggage" in headers and "traceparent" in headers
        assert httpx.post(f"{url}/ask", headers=headers, content=b"{}").status_code == 200
    provider_a.shutdown()

    llm = [s for s in exporter_b.get_finished_spans() if (s.attributes or {}).get(sc.COST_STATUS)]
    assert len(llm) == 1
    attrs = llm[0].attributes or {}
    assert attrs[f"{sc.COST_ATTRIBUTION}.project"] == "search"
    assert attrs[f"{sc.COST_ATTRIBUTION}.cost_center"] == "cc-42"
    assert attrs[f"{sc.COST_ATTRIBUTION}.user"] == "u-1"
    assert attrs[f"{sc.COST_ATTRIBUTION}.tenant"] == "acme"
    assert attrs[f"{sc.COST_ATTRIBUTION}.service"] == "b"  # the service that made the call
    # 12 prompt + 5 completion tokens of gpt-4o-mini at $0.15/$0.60 per 1M (openai.com/api/pricing)
    assert attrs[sc.COST_AMOUNT] == pytest.approx(0.0000048, rel=1e-12)
    # Same trace across both services (tracecontext travelled too).
    assert llm[0].context is not None and root.get_span_context().trace_id == llm[0].context.trace_id
