"""Per-span cost of otel-cost's CostSpanProcessor in a real SDK pipeline, with and without it.

Both pipelines run in the same process: TracerProvider -> [CostSpanProcessor ->]
BatchSpanProcessor -> an exporter that drops what it gets (so the export itself costs nothing
and the number is the SDK's in-process work). Each span is a gen_ai chat span as
opentelemetry-instrumentation-openai-v2 writes it (provider, models, operation, token usage,
a dozen attributes), started and ended in the application thread, which is the time the
application pays. Rounds alternate between the two pipelines; the medians of per-span times per
round are compared.

    python benchmarks/bench_processor.py [--spans 2000] [--rounds 15] [--simple]

``--simple`` uses SimpleSpanProcessor instead (export work on the application thread).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Sequence

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


def _provider(with_cost: bool, simple: bool) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    exporter = DropExporter()
    inner: SpanProcessor = (
        SimpleSpanProcessor(exporter)
        if simple
        else BatchSpanProcessor(exporter, max_queue_size=100_000, max_export_batch_size=512)
    )
    provider.add_span_processor(CostSpanProcessor(inner, catalog=default_catalog()) if with_cost else inner)
    return provider


def _round(provider: TracerProvider, spans: int) -> float:
    tracer = provider.get_tracer("bench")
    gc.collect()
    start = time.perf_counter_ns()
    for _ in range(spans):
        with tracer.start_as_current_span(
            "chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=ATTRIBUTES
        ) as span:
            span.set_attributes(END_ATTRIBUTES)
    elapsed = time.perf_counter_ns() - start
    provider.force_flush()
    return elapsed / spans / 1000  # microseconds per span


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--simple", action="store_true", help="SimpleSpanProcessor instead of BatchSpanProcessor"
    )
    args = parser.parse_args(argv)
    default_catalog()  # build the catalog once, outside the timing
    plain, costed = _provider(False, args.simple), _provider(True, args.simple)
    _round(plain, 500)  # warm up both
    _round(costed, 500)
    without: list[float] = []
    with_cost: list[float] = []
    for _ in range(args.rounds):
        without.append(_round(plain, args.spans))
        with_cost.append(_round(costed, args.spans))
    plain.shutdown()
    costed.shutdown()
    a, b = statistics.median(without), statistics.median(with_cost)
    kind = "SimpleSpanProcessor" if args.simple else "BatchSpanProcessor"
    print(f"pipeline: TracerProvider -> {kind} -> drop exporter")
    print(f"{args.rounds} rounds x {args.spans} gen_ai spans, alternating with and without otel-cost")
    print(f"without otel-cost: median {a:.2f} us/span")
    print(f"with otel-cost:    median {b:.2f} us/span")
    print(f"overhead:          {b - a:+.2f} us/span ({(b - a) / a * 100:+.1f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
