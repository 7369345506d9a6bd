"""The enriched copy a processor exports: the SDK's dropped-attribute count, corrected token counts.

Real SDK pipelines (TracerProvider with span limits, Simple and Batch span processors, the OTLP
protobuf encoder), once behind a plain exporter and once behind ``CostSpanProcessor``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from processor_support import Setup  # pyright: ignore[reportImplicitRelativeImport]

from otel_cost import CostSpanProcessor
from otel_cost import semconv as sc
from otel_cost.pricing import PriceCatalog, default_catalog

LIMIT = 8
FILLER = 10
"""Ten filler attributes, then four gen_ai ones, on a span limited to 8: the SDK evicts the six
oldest (fillers) and keeps the call, so it is still priced."""


def _record(provider: TracerProvider) -> None:
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("chat gpt-4o") as span:
        for i in range(FILLER):
            span.set_attribute(f"app.filler.{i}", i)
        span.set_attribute(sc.GEN_AI_PROVIDER_NAME, "openai")
        span.set_attribute(sc.GEN_AI_REQUEST_MODEL, "gpt-4o")
        span.set_attribute(sc.GEN_AI_USAGE_INPUT_TOKENS, 1_000_000)
        span.set_attribute(sc.GEN_AI_USAGE_OUTPUT_TOKENS, 0)


def _export(export_mode: str, wrap: Callable[[SpanProcessor], SpanProcessor]) -> ReadableSpan:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(span_limits=SpanLimits(max_span_attributes=LIMIT))
    inner: SpanProcessor = (
        SimpleSpanProcessor(exporter)
        if export_mode == "simple"
        else BatchSpanProcessor(exporter, schedule_delay_millis=60_000)
    )
    provider.add_span_processor(wrap(inner))
    try:
        _record(provider)
        provider.force_flush()
        (span,) = exporter.get_finished_spans()
        return span
    finally:
        provider.shutdown()


def test_the_copy_exports_the_sdks_dropped_attribute_count(catalog: PriceCatalog, export_mode: str) -> None:
    plain = _export(export_mode, lambda inner: inner)
    enriched = _export(export_mode, lambda inner: CostSpanProcessor(inner, catalog=catalog))
    # 14 attributes set, 8 kept: the SDK counts 6 dropped.
    assert plain.dropped_attributes == FILLER + 4 - LIMIT == 6
    assert enriched.dropped_attributes == 6
    attrs = enriched.attributes or {}
    # Everything the SDK kept is still there (our attributes evict none of it) ...
    assert (plain.attributes or {}).items() <= attrs.items()
    # ... and the call is priced: 1,000,000 input tokens x $2.50/1M (gpt-4o, openai.com/api/pricing,
    # tests/processor/catalog.yaml) = $2.50.
    assert attrs[sc.COST_AMOUNT] == 2.5
    # The OTLP protobuf carries the count.
    request = encode_spans([enriched])
    (otlp,) = request.resource_spans[0].scope_spans[0].spans
    assert otlp.dropped_attributes_count == 6
    assert len(otlp.attributes) == len(attrs)


@pytest.fixture(scope="module")
def real_catalog() -> PriceCatalog:
    return default_catalog()


@pytest.fixture
def anthropic_setup(real_catalog: PriceCatalog, export_mode: str) -> Iterator[Setup]:
    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    provider = TracerProvider()
    inner: SpanProcessor = (
        SimpleSpanProcessor(exporter)
        if export_mode == "simple"
        else BatchSpanProcessor(exporter, schedule_delay_millis=60_000)
    )
    processor = CostSpanProcessor(
        inner, catalog=real_catalog, meter_provider=MeterProvider(metric_readers=[reader])
    )
    provider.add_span_processor(processor)
    yield Setup(provider, exporter, reader, processor)
    provider.shutdown()


def test_anthropic_raw_input_is_corrected_on_the_exported_span(anthropic_setup: Setup) -> None:
    """A source in Anthropic's raw convention: ``input_tokens`` (1,000) excludes the 100,000 cache
    reads. The exported span carries the semconv count, 101,000, which is what was priced."""
    tracer = anthropic_setup.provider.get_tracer("test")
    with tracer.start_as_current_span("chat claude-sonnet-4-5") as span:
        span.set_attribute(sc.GEN_AI_OPERATION_NAME, "chat")
        span.set_attribute(sc.GEN_AI_PROVIDER_NAME, "anthropic")
        span.set_attribute(sc.GEN_AI_REQUEST_MODEL, "claude-sonnet-4-5")
        span.set_attribute(sc.GEN_AI_USAGE_INPUT_TOKENS, 1_000)
        span.set_attribute(sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 100_000)
        span.set_attribute(sc.GEN_AI_USAGE_OUTPUT_TOKENS, 1_000)
    attrs = anthropic_setup.spans()["chat claude-sonnet-4-5"].attributes or {}
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 101_000
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 100_000
    # Claude Sonnet 4.5 (https://www.anthropic.com/pricing#api; 101,000 input tokens, under the
    # 200,000 long-context threshold): 1,000 uncached x $3/1M = $0.003; 100,000 cache reads x
    # $0.30/1M = $0.03; 1,000 output x $15/1M = $0.015; total $0.048.
    assert attrs[sc.COST_STATUS] == "priced"
    assert attrs[sc.COST_AMOUNT] == 0.048
