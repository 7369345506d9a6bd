"""Processor test fixtures: a real SDK pipeline and a fixed catalog (tests/processor/catalog.yaml)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Sampler
from processor_support import Setup  # pyright: ignore[reportImplicitRelativeImport]

from otel_cost import CostSpanProcessor
from otel_cost.pricing import PriceCatalog, load_catalog

CATALOG_FILE = Path(__file__).with_name("catalog.yaml")


@pytest.fixture(scope="session")
def catalog() -> PriceCatalog:
    """acme-chat: $1/M input, $0.50/M cached input, $2/M output; gpt-4o: $2.50/$1.25/$10 (openai.com);
    search API $0.005 a call; OCR API $0.01 a page."""
    return load_catalog([CATALOG_FILE], include_defaults=False)


@pytest.fixture(params=["simple", "batch"])
def export_mode(request: pytest.FixtureRequest) -> str:
    """Every processor test runs twice: behind a SimpleSpanProcessor (enriched in on_end) and
    behind a BatchSpanProcessor (enriched in its export thread)."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def make_setup(catalog: PriceCatalog, export_mode: str) -> Iterator[Callable[..., Setup]]:
    made: list[Setup] = []

    def make(sampler: Sampler | None = None, **options: object) -> Setup:
        exporter = InMemorySpanExporter()
        reader = InMemoryMetricReader()
        meter_provider = MeterProvider(metric_readers=[reader])
        provider = TracerProvider(
            sampler=sampler,
            resource=Resource.create({"service.name": "svc", "deployment.environment.name": "test"}),
        )
        inner: SpanProcessor = (
            SimpleSpanProcessor(exporter)
            if export_mode == "simple"
            else BatchSpanProcessor(exporter, max_queue_size=20_000, schedule_delay_millis=60_000)
        )
        processor = CostSpanProcessor(inner, catalog=catalog, meter_provider=meter_provider, **options)  # type: ignore[arg-type]
        provider.add_span_processor(processor)
        setup = Setup(provider, exporter, reader, processor)
        made.append(setup)
        return setup

    yield make
    for setup in made:
        setup.provider.shutdown()


@pytest.fixture
def setup(make_setup: Callable[..., Setup]) -> Setup:
    return make_setup()


@pytest.fixture
def providers() -> Iterator[list[TracerProvider]]:
    """Tracer providers a test makes itself (append them): shut down when it ends."""
    made: list[TracerProvider] = []
    yield made
    for provider in made:
        provider.shutdown()
