"""Per-span cost of otel-cost's CostSpanProcessor in a real SDK pipeline, with and without it.

Both pipelines run in the same process: TracerProvider -> [CostSpanProcessor ->]
BatchSpanProcessor -> an exporter that drops what it gets (so the export itself costs nothing
and the number is the SDK's in-process work). Each span is a gen_ai chat span as
opentelemetry-instrumentation-openai-v2 writes it (provider, models, operation, token usage,
a dozen attributes), started and ended in the application thread, which is the time the
application pays. Rounds alternate between the two pipelines; the medians of per-span times per
round are compared.

    python benchmarks/bench_processor.py [--spans 2000] [--rounds 15] [--simple] [--encode]

``--simple`` uses SimpleSpanProcessor instead (export work on the application thread);
``--encode`` makes the exporter OTLP-encode each batch as the OTLP exporters do (no network).
Two figures are printed: the application thread's wall time per span, and the process CPU time
per span (the export thread included).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import SpanKind

from otel_cost import CostSpanProcessor
from otel_cost.pricing import default_catalog

ATTRIBUTES: dict[str, str | int | bool] = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.request.temperature": 0,
    "gen_ai.request.max_tokens": 256,
    "server.address": "api.openai.com",
    "server.port": 443,
}
END_ATTRIBUTES: dict[str, str | int | bool] = {
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.response.id": "chatcmpl-ASYMQRl3A3DXL9FWCK9tnGRcKIO7q",
    "gen_ai.response.finish_reasons": "stop",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.cache_read.input_tokens": 1024,
}


class DropExporter(SpanExporter):
    """Accepts and discards spans."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class EncodeExporter(SpanExporter):
    """Encodes spans to OTLP protobuf bytes as the OTLP exporters do, then discards them (no network)."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        encode_spans(spans).SerializeToString()
        return SpanExportResult.SUCCESS


def _provider(with_cost: bool, simple: bool, encode: bool) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    exporter = EncodeExporter() if encode else DropExporter()
    inner: SpanProcessor = (
        SimpleSpanProcessor(exporter)
        if simple
        else BatchSpanProcessor(exporter, max_queue_size=100_000, max_export_batch_size=512)
    )
    provider.add_span_processor(CostSpanProcessor(inner, catalog=default_catalog()) if with_cost else inner)
    return provider


def _round(provider: TracerProvider, spans: int) -> tuple[float, float, float]:
    """Per span, in us: the application thread's wall time and CPU time, and the process CPU time
    (export thread included, up to the end of a flush)."""
    tracer = provider.get_tracer("bench")
    gc.collect()
    cpu0 = time.process_time_ns()
    thread0 = time.thread_time_ns()
    start = time.perf_counter_ns()
    for _ in range(spans):
        with tracer.start_as_current_span(
            "chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=ATTRIBUTES
        ) as span:
            span.set_attributes(END_ATTRIBUTES)
    elapsed = time.perf_counter_ns() - start
    thread = time.thread_time_ns() - thread0
    provider.force_flush()
    cpu = time.process_time_ns() - cpu0
    return elapsed / spans / 1000, thread / spans / 1000, cpu / spans / 1000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--spans", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--simple", action="store_true", help="SimpleSpanProcessor instead of BatchSpanProcessor"
    )
    parser.add_argument("--encode", action="store_true", help="the exporter OTLP-encodes spans (no network)")
    args = parser.parse_args(argv)
    default_catalog()  # build the catalog once, outside the timing
    plain = _provider(False, args.simple, args.encode)
    costed = _provider(True, args.simple, args.encode)
    _round(plain, 500)  # warm up both
    _round(costed, 500)
    without: list[tuple[float, float, float]] = []
    with_cost: list[tuple[float, float, float]] = []
    for _ in range(args.rounds):
        without.append(_round(plain, args.spans))
        with_cost.append(_round(costed, args.spans))
    plain.shutdown()
    costed.shutdown()
    kind = "SimpleSpanProcessor" if args.simple else "BatchSpanProcessor"
    sink = "OTLP-encoding exporter (no network)" if args.encode else "drop exporter"
    print(f"pipeline: TracerProvider -> {kind} -> {sink}")
    print(f"{args.rounds} rounds x {args.spans} gen_ai spans, alternating with and without otel-cost")
    for index, label in (
        (0, "app-thread wall time"),
        (1, "app-thread CPU time "),
        (2, "process CPU time    "),
    ):
        a = statistics.median(r[index] for r in without)
        b = statistics.median(r[index] for r in with_cost)
        print(f"{label}: without {a:6.2f} us/span, with otel-cost {b:6.2f} us/span, ", end="")
        print(f"overhead {b - a:+6.2f} us/span ({(b - a) / a * 100:+.1f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
