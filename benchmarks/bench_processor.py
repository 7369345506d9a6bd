"""Per-span cost of otel-cost's CostSpanProcessor in a real SDK pipeline, with and without it.

All pipelines run in the same process: TracerProvider -> [CostSpanProcessor ->]
BatchSpanProcessor (or SimpleSpanProcessor) -> an exporter that drops what it gets (so the export
itself costs nothing and the number is the SDK's in-process work). Each span is a gen_ai chat
span as opentelemetry-instrumentation-openai-v2 writes it (provider, models, operation, token
usage, a dozen attributes), started and ended in the application thread. Rounds alternate
between the pipelines; the medians of per-span times per round are compared.

Pipelines: ``without`` otel-cost; ``on_end`` (BatchSpanProcessor only): otel-cost with
``defer=False``, all its work in ``on_end`` on the application thread (the behaviour before
deferral); ``otel-cost``: the default, which behind a BatchSpanProcessor prices sampled spans in
its export thread (behind a SimpleSpanProcessor it works in ``on_end``, as before).

    python benchmarks/bench_processor.py [--spans 2000] [--rounds 15] [--processor batch|simple|both]
        [--encode] [--sample 0.01]

Three figures per pipeline: the application thread's wall time per span (what the application
waits; with a BatchSpanProcessor it includes waiting for the GIL while the export thread runs,
which in this tight loop is the whole export work), the application thread's own CPU time, and
the process CPU time (export thread included, up to the end of a flush). ``--encode`` makes the
exporter OTLP-encode each batch as the OTLP exporters do (no network). ``--sample R`` samples
traces at ratio R under ``RecordAllSampler`` with cost metrics on, so unsampled spans are priced
for the metrics.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import SpanKind

from otel_cost import CostSpanProcessor, RecordAllSampler
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


def _provider(
    mode: str, simple: bool, encode: bool, sample_ratio: float | None
) -> tuple[TracerProvider, MeterProvider | None]:
    """``mode``: ``without`` otel-cost, ``on_end`` (otel-cost with ``defer=False``) or ``otel-cost``
    (the default: sampled spans priced in a BatchSpanProcessor's export thread)."""
    sampler = RecordAllSampler(TraceIdRatioBased(sample_ratio)) if sample_ratio is not None else None
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}), sampler=sampler)
    exporter = EncodeExporter() if encode else DropExporter()
    inner: SpanProcessor = (
        SimpleSpanProcessor(exporter)
        if simple
        else BatchSpanProcessor(exporter, max_queue_size=100_000, max_export_batch_size=512)
    )
    if mode == "without":
        provider.add_span_processor(inner)
        return provider, None
    meters = MeterProvider(metric_readers=[InMemoryMetricReader()]) if sample_ratio is not None else None
    processor = CostSpanProcessor(
        inner, catalog=default_catalog(), meter_provider=meters, defer=mode == "otel-cost"
    )
    provider.add_span_processor(processor)
    return provider, meters


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


_Timings = tuple[float, float, float]
_LABELS = ("app-thread wall", "app-thread CPU ", "process CPU    ")


def _compare(args: argparse.Namespace, simple: bool) -> None:
    modes = ("without", "otel-cost") if simple else ("without", "on_end", "otel-cost")
    built = {mode: _provider(mode, simple, args.encode, args.sample) for mode in modes}
    for provider, _ in built.values():
        _round(provider, 500)  # warm up
    results: dict[str, list[_Timings]] = {mode: [] for mode in modes}
    for _ in range(args.rounds):
        for mode in modes:
            results[mode].append(_round(built[mode][0], args.spans))
    for provider, meters in built.values():
        provider.shutdown()
        if meters is not None:
            meters.shutdown()
    kind = "SimpleSpanProcessor" if simple else "BatchSpanProcessor"
    sink = "OTLP-encoding exporter (no network)" if args.encode else "drop exporter"
    sampling = f", RecordAllSampler({args.sample:g}) + cost metrics" if args.sample is not None else ""
    print(f"\npipeline: TracerProvider -> [CostSpanProcessor ->] {kind} -> {sink}{sampling}")
    print(f"{args.rounds} rounds x {args.spans} gen_ai spans, alternating; medians in us/span")
    header = "".join(f"{mode:>12}" for mode in modes)
    overheads = "".join(f"{'+' + m:>18}" for m in modes[1:])
    print(f"{'':16}{header}{overheads}")
    for index, label in enumerate(_LABELS):
        medians = {mode: statistics.median(r[index] for r in results[mode]) for mode in modes}
        base = medians["without"]
        cells = "".join(f"{medians[mode]:12.2f}" for mode in modes)
        extra = "".join(
            f"{medians[m] - base:+9.2f} ({(medians[m] - base) / base * 100:+4.0f}%)" for m in modes[1:]
        )
        print(f"{label} {cells}{extra}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--spans", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--processor", choices=("batch", "simple", "both"), default="both", help="the exporting processor"
    )
    parser.add_argument("--encode", action="store_true", help="the exporter OTLP-encodes spans (no network)")
    parser.add_argument(
        "--sample",
        type=float,
        default=None,
        help="sampling ratio under RecordAllSampler, with cost metrics (default: all sampled, no metrics)",
    )
    args = parser.parse_args(argv)
    default_catalog()  # build the catalog once, outside the timing
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.processor in ("batch", "both"):
        _compare(args, simple=False)
    if args.processor in ("simple", "both"):
        _compare(args, simple=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
