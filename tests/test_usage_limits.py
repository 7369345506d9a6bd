"""Limits on what a span may claim: a provider cost beyond any real call, reasoning reported apart.

Priced with the fixed processor catalog (tests/processor/catalog.yaml): gpt-4o $2.50 per 1M input
tokens (https://openai.com/api/pricing); acme-chat $1 per 1M input, $2 per 1M output (test
fixture). Real SDK pipeline: TracerProvider, BatchSpanProcessor, InMemoryMetricReader.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_cost import CostSpanProcessor
from otel_cost import semconv as sc
from otel_cost import usage as usage_module
from otel_cost.pricing import PriceCatalog, load_catalog
from otel_cost.usage import read_call

CATALOG_FILE = Path(__file__).parent / "processor" / "catalog.yaml"
GPT4O_MILLION_INPUT = {
    sc.GEN_AI_OPERATION_NAME: "chat",
    sc.GEN_AI_PROVIDER_NAME: "openai",
    sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
    sc.GEN_AI_USAGE_INPUT_TOKENS: 1_000_000,
    sc.GEN_AI_USAGE_OUTPUT_TOKENS: 0,
}
"""1,000,000 input tokens x $2.50 per 1M = $2.50."""


class Pipeline:
    def __init__(self, catalog: PriceCatalog) -> None:
        self.exporter = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        self.provider = TracerProvider()
        inner = BatchSpanProcessor(self.exporter, schedule_delay_millis=60_000)
        meters = MeterProvider(metric_readers=[self.reader])
        self.provider.add_span_processor(CostSpanProcessor(inner, catalog=catalog, meter_provider=meters))

    def call(self, name: str, attrs: dict[str, object]) -> None:
        with self.provider.get_tracer("test").start_as_current_span(name, attributes=attrs):  # type: ignore[arg-type]
            pass

    def spans(self) -> dict[str, ReadableSpan]:
        self.provider.force_flush()
        return {s.name: s for s in self.exporter.get_finished_spans()}

    def spend(self) -> list[float]:
        self.provider.force_flush()
        data = self.reader.get_metrics_data()
        assert data is not None
        return [
            point.value
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
            if metric.name == sc.METRIC_COST_SPEND
            for point in metric.data.data_points
            if isinstance(point, NumberDataPoint)
        ]


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    made = Pipeline(load_catalog([CATALOG_FILE], include_defaults=False))
    yield made
    made.provider.shutdown()


@pytest.fixture(autouse=True)
def _fresh_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(usage_module, "_invalid_cost_warned", False)


def _reported(amount: object) -> dict[str, object]:
    return {
        **GPT4O_MILLION_INPUT,
        sc.GEN_AI_USAGE_COST_AMOUNT: amount,
        sc.GEN_AI_USAGE_COST_SOURCE: "provider",
    }


def test_a_cost_past_float_range_is_priced_from_usage_and_loses_no_other_spend(
    pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    """``"1e400"`` is a finite Decimal but ``inf`` as a float: it was exported as cost.amount=inf,
    and the batch's summed cost.spend became inf, which the SDK counter drops, losing the ten
    valid calls too."""
    with caplog.at_level(logging.WARNING, logger="otel_cost.usage"):
        for i in range(10):
            pipeline.call(f"ok-{i}", GPT4O_MILLION_INPUT)
        pipeline.call("bogus", _reported("1e400"))
        pipeline.call("bogus-again", _reported(1e300))
    spans = pipeline.spans()
    for name in ("bogus", "bogus-again"):
        attrs = spans[name].attributes or {}
        assert attrs[sc.COST_STATUS] == "priced"
        assert attrs[sc.COST_SOURCE] == "local"
        assert attrs[sc.COST_AMOUNT] == 2.5
    assert all((spans[f"ok-{i}"].attributes or {})[sc.COST_AMOUNT] == 2.5 for i in range(10))
    # 12 calls x $2.50 = $30.00, every one priced from its usage.
    assert pipeline.spend() == [30.0]
    warnings = [r for r in caplog.records if r.name == "otel_cost.usage"]
    assert len(warnings) == 1 and "'1e400'" in warnings[0].getMessage()


@pytest.mark.parametrize("amount", ["1e400", 1e300, "1000000.01", float("inf"), "-0.01"])
def test_a_provider_cost_out_of_range_is_not_a_cost(amount: object) -> None:
    facts = read_call(_reported(amount))
    assert facts is not None and facts.provider_cost is None
    assert facts.usage is not None and facts.usage.input_tokens == 1_000_000


@pytest.mark.parametrize("amount", ["1000000", "1e6", 0, "0.0042"])
def test_a_provider_cost_up_to_the_bound_is_used_as_reported(amount: object) -> None:
    facts = read_call(_reported(amount))
    assert facts is not None and facts.provider_cost == Decimal(str(amount))


def test_reasoning_reported_apart_from_output_is_added_to_it(pipeline: Pipeline) -> None:
    """A source that reports reasoning apart from output (200 output, 300 reasoning): output is
    taken as 500, as the usage guard documents. Without the guard the reasoning subset exceeds its
    total and the call is invalid_usage, unpriced."""
    attrs: dict[str, object] = {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "acme",
        sc.GEN_AI_REQUEST_MODEL: "acme-chat",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 1_000_000,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 200_000,
        sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 300_000,
    }
    facts = read_call(attrs)
    assert facts is not None and facts.usage is not None and facts.usage_error is None
    assert (facts.usage.output_tokens, facts.usage.reasoning_tokens) == (500_000, 300_000)
    pipeline.call("reasoning", attrs)
    exported = pipeline.spans()["reasoning"].attributes or {}
    assert exported[sc.COST_STATUS] == "priced"
    # acme-chat: 1,000,000 input x $1/1M = $1.00; 500,000 output (reasoning included) x $2/1M
    # = $1.00; total $2.00.
    assert exported[sc.COST_AMOUNT] == 2.0
    assert pipeline.spend() == [2.0]
