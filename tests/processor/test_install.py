"""install(): every processor already on a provider (and added later) gets enriched spans."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider

from otel_cost import CostSpanProcessor, install
from otel_cost import semconv as sc
from otel_cost.pricing import PriceCatalog

ATTRS = {
    sc.GEN_AI_PROVIDER_NAME: "acme",
    sc.GEN_AI_REQUEST_MODEL: "acme-chat",
    sc.GEN_AI_USAGE_INPUT_TOKENS: 1000,  # 1000 x $1/M = $0.001
}


def test_install_enriches_existing_and_later_processors(catalog: PriceCatalog) -> None:
    provider = TracerProvider()
    first, second, later = InMemorySpanExporter(), InMemorySpanExporter(), InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(first))
    provider.add_span_processor(BatchSpanProcessor(second))
    tracer = provider.get_tracer("before-install")  # tracers obtained earlier are covered too
    processor = install(provider, catalog=catalog)
    assert install(provider, catalog=catalog) is processor  # idempotent
    provider.add_span_processor(SimpleSpanProcessor(later))
    with tracer.start_as_current_span("chat", attributes=ATTRS):
        pass
    provider.force_flush()
    for exporter in (first, second, later):
        (span,) = exporter.get_finished_spans()
        assert (span.attributes or {})[sc.COST_AMOUNT] == 0.001
    provider.shutdown()


def test_install_needs_an_sdk_provider(catalog: PriceCatalog) -> None:
    with pytest.raises(TypeError, match="SDK TracerProvider"):
        install(NoOpTracerProvider(), catalog=catalog)  # type: ignore[arg-type]


def test_install_uses_the_global_provider(catalog: PriceCatalog, monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry import trace

    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    assert isinstance(install(catalog=catalog), CostSpanProcessor)
    with provider.get_tracer("t").start_as_current_span("chat", attributes=ATTRS):
        pass
    assert (exporter.get_finished_spans()[0].attributes or {})[sc.COST_STATUS] == "priced"
    provider.shutdown()
