"""The processor's life around the spans: force_flush within its timeout, the flush at process
exit before the meter provider's last export, and what one processor keeps between providers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

from otel_cost import CostSpanProcessor, RecordAllSampler
from otel_cost import semconv as sc
from otel_cost.pricing import PriceCatalog

# acme-chat (tests/processor/catalog.yaml): $1 per million input tokens, $2 per million output.
ACME = {sc.GEN_AI_PROVIDER_NAME: "acme", sc.GEN_AI_REQUEST_MODEL: "acme-chat"}


def _sum_points(reader: InMemoryMetricReader, name: str) -> float:
    data = reader.get_metrics_data()
    if data is None:
        return 0
    return sum(
        p.value  # type: ignore[union-attr]
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == name
        for p in m.data.data_points  # type: ignore[union-attr]
    )


@pytest.fixture
def providers() -> Iterator[list[TracerProvider]]:
    made: list[TracerProvider] = []
    yield made
    for provider in made:
        provider.shutdown()


def test_force_flush_keeps_to_its_timeout_with_a_long_backlog(
    catalog: PriceCatalog, providers: list[TracerProvider]
) -> None:
    """200 unsampled calls wait in the backlog (its thread held back, as between two wakes under
    load) and each takes 5 ms to price: a catalog wrapper sleeps, standing in for slow work such
    as counting the tokens of long prompts. ``force_flush(timeout_millis=50)`` must return False
    at about 50 ms, not after the whole second; a later flush prices the rest, none is lost."""
    reader = InMemoryMetricReader()
    processor = CostSpanProcessor(
        BatchSpanProcessor(InMemorySpanExporter()),
        catalog=catalog,
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    price_tokens = catalog.price_tokens

    def slow(*args: object, **kwargs: object) -> object:
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.005)
        return price_tokens(*args, **kwargs)  # type: ignore[arg-type]

    processor._catalog = type("Slow", (), {"price_tokens": staticmethod(slow)})()  # pyright: ignore[reportPrivateUsage, reportAttributeAccessIssue]
    backlog = processor._backlog  # pyright: ignore[reportPrivateUsage]
    backlog._delay_s = 3600  # pyright: ignore[reportPrivateUsage]
    backlog._wake_at = 10**9  # pyright: ignore[reportPrivateUsage]
    provider = TracerProvider(sampler=RecordAllSampler(TraceIdRatioBased(0.0)))
    provider.add_span_processor(processor)
    providers.append(provider)
    tracer = provider.get_tracer("t")
    for _ in range(200):
        with tracer.start_as_current_span("chat", attributes={**ACME, sc.GEN_AI_USAGE_INPUT_TOKENS: 1000}):
            pass
    started = time.monotonic()
    flushed = processor.force_flush(timeout_millis=50)
    elapsed = time.monotonic() - started
    assert flushed is False
    assert elapsed < 0.5  # 50 ms and the span being priced then; 1 s if the timeout is ignored
    assert 0 < len(backlog._queue) < 200  # pyright: ignore[reportPrivateUsage]
    assert processor.force_flush() is True
    assert _sum_points(reader, sc.METRIC_COST_CALLS) == 200
    assert _sum_points(reader, sc.METRIC_COST_SPEND) == pytest.approx(0.2, rel=1e-12)  # 200 x 1000 x $1/M
