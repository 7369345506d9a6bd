"""The receiver's metric tables (``MetricTable``) export what the OTel SDK records for the same
calls (``CostMetrics`` on a real ``MeterProvider`` with an ``InMemoryMetricReader``), with exact
spend, bounded labels and series, one stream per currency, and exemplars that survive scrapes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, MetricsData
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest

from otel_cost import semconv as sc
from otel_cost.metrics import MAX_LABEL_LENGTH, CostMetrics, SeriesLabels, provider_label
from otel_cost.pricing.types import CostResult
from otel_cost.receiver.metric_table import OVERFLOW_ATTRIBUTE, MetricTable
from otel_cost.receiver.prometheus import ExemplarCollector
from otel_cost.record import CostRecord
from tests.receiver.test_receiver_metrics_batch import records

Point = tuple[str, str, tuple[tuple[str, object], ...]]


def points(data: MetricsData | None) -> dict[Point, object]:
    """(name, unit, attributes) -> value; histograms as (count, sum, buckets, min, max)."""
    assert data is not None
    out: dict[Point, object] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    key = (metric.name, metric.unit or "", tuple(sorted((point.attributes or {}).items())))
                    if isinstance(point, HistogramDataPoint):
                        value: object = (
                            point.count,
                            round(point.sum, 9),
                            tuple(point.bucket_counts),
                            point.min,
                            point.max,
                        )
                    else:
                        value = round(point.value, 12) if isinstance(point.value, float) else point.value
                    out[key] = value
    return out


def exemplar_ids(
    data: MetricsData, name: str
) -> dict[tuple[tuple[str, object], ...], list[tuple[object, ...]]]:
    out: dict[tuple[tuple[str, object], ...], list[tuple[object, ...]]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        out[tuple(sorted((point.attributes or {}).items()))] = sorted(
                            (e.value, e.trace_id, e.span_id) for e in point.exemplars
                        )
    return out


def both(
    calls: Sequence[tuple[CostRecord, float | None]], **labels: object
) -> tuple[MetricsData, MetricsData]:
    """The SDK's data for ``calls`` recorded one by one, and the table's."""
    reader = InMemoryMetricReader()
    sdk = CostMetrics(MeterProvider(metric_readers=[reader]), **labels)  # type: ignore[arg-type]
    for record, duration in calls:
        sdk.record(record, duration)
    table = MetricTable(SeriesLabels(**labels))  # type: ignore[arg-type]
    table.record_many(calls[:7])
    table.record_many(calls[7:])  # two batches add up as one
    sdk_data = reader.get_metrics_data()
    assert sdk_data is not None
    return sdk_data, table.collect()


def timed(recs: list[CostRecord]) -> list[tuple[CostRecord, float | None]]:
    return [(r, (r.end_time_ns - r.start_time_ns) / 1e9) for r in recs]


def test_table_exports_what_the_sdk_records():
    sdk, table = both(timed(records()), high_cardinality_keys=("user",), cardinality_cap=5)
    expected = points(sdk)
    assert len(expected) > 40
    assert points(table) == expected
    # Histogram exemplars: the last observation of each bucket, as the SDK's aligned reservoir keeps.
    for name in (sc.METRIC_GEN_AI_CLIENT_TOKEN_USAGE, sc.METRIC_GEN_AI_CLIENT_OPERATION_DURATION):
        assert exemplar_ids(table, name) == exemplar_ids(sdk, name)
    # A counter point's exemplar is the last call that added to it: of svc-2's priced gpt-4o calls
    # (odd n, n % 3 == 2) those of users past the cap of 5 (u1..u5 came first) are n = 11, 17, 23,
    # 29; the last is n = 29 (trace and span id 29).
    spend = exemplar_ids(table, sc.METRIC_COST_SPEND)
    last = next(
        v
        for k, v in spend.items()
        if {
            ("service.name", "svc-2"),
            ("gen_ai.request.model", "gpt-4o"),
            ("cost.attribution.user", "_other"),
        }
        <= set(k)
    )
    assert last == [(0.0045, 29, 29)]


def test_spend_is_summed_exactly():
    """10,000 calls of $0.0001 are $1 exactly (a float running sum gives 0.9999999999999062)."""
    base = records()[0]
    calls = [
        (
            replace(
                base,
                span_id=n.to_bytes(8, "big"),
                result=CostResult(status="priced", amount=Decimal("0.0001")),
            ),
            None,
        )
        for n in range(1, 10_001)
    ]
    table = MetricTable(SeriesLabels())
    table.record_many(calls)
    spend = [v for (name, _, _), v in points(table.collect()).items() if name == sc.METRIC_COST_SPEND]
    assert spend == [1.0]


def test_each_currency_has_its_own_stream_and_unit():
    base = records()[0]
    amounts = {"USD": "0.5", "EUR": "0.25", "usd!": "7", "GBP": "1"}
    calls = [
        (
            replace(
                base,
                span_id=n.to_bytes(8, "big"),
                result=CostResult(status="priced", amount=Decimal(a), currency=c),
            ),
            None,
        )
        for n, (c, a) in enumerate(amounts.items(), 1)
    ]
    sdk, table = both(calls)
    spend = {
        (unit, dict(attrs)[sc.COST_CURRENCY]): v
        for (name, unit, attrs), v in points(table).items()
        if name == sc.METRIC_COST_SPEND
    }
    # A code that is not three capital letters is counted under ISO 4217's XXX, never as USD.
    assert spend == {("USD", "USD"): 0.5, ("EUR", "EUR"): 0.25, ("XXX", "XXX"): 7.0, ("GBP", "GBP"): 1.0}
    assert points(table) == points(sdk)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ExemplarCollector(lambda: table))
    text = generate_latest(registry).decode()
    eur = [line for line in text.splitlines() if line.startswith("cost_spend_EUR_total{")]
    usd = [line for line in text.splitlines() if line.startswith("cost_spend_USD_total{")]
    assert len(eur) == 1 and " 0.25 # " in eur[0]
    assert len(usd) == 1 and " 0.5 # " in usd[0]


def test_label_values_are_capped_and_metrics_stay_small():
    """50 calls with 64 KiB model names (and service and attribution values) give labels of at most
    MAX_LABEL_LENGTH characters: the exposition stays small (it was 172 MiB for 50 such spans)."""
    base = records()[0]
    calls = []
    for n in range(1, 51):
        huge = f"{n:02d}" + "m" * 65_536
        calls.append(
            (
                replace(
                    base,
                    span_id=n.to_bytes(8, "big"),
                    model=huge,
                    request_model=huge,
                    response_model=huge,
                    service_name=huge,
                    operation=huge,
                    error_type=huge,
                    attribution={"project": huge, "user": huge},
                    result=CostResult(status="unpriced", reason=huge),
                ),
                0.5,
            )
        )
    table = MetricTable(SeriesLabels(high_cardinality_keys=("user",)))
    table.record_many(calls)
    data = table.collect()
    values = [v for key in points(data) for _, v in key[2]]
    assert values and max(len(str(v)) for v in values) == MAX_LABEL_LENGTH
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ExemplarCollector(lambda: data))
    assert len(generate_latest(registry)) < 8_000_000  # 50 series, every label at the cap: 5.9 MB


def test_series_past_the_limit_count_in_one_overflow_series():
    base = records()[0]
    calls = [
        (replace(base, span_id=n.to_bytes(8, "big"), service_name=f"svc-{n}"), None) for n in range(1, 8)
    ]
    table = MetricTable(SeriesLabels(), max_series=5)
    table.record_many(calls)
    counts = {
        attrs: v for (name, _, attrs), v in points(table.collect()).items() if name == sc.METRIC_COST_CALLS
    }
    assert len(counts) == 6
    assert counts[((OVERFLOW_ATTRIBUTE, True),)] == 2
    assert sum(counts.values()) == 7  # type: ignore[arg-type]


def test_provider_label_is_the_semconv_name():
    base = records()[0]
    cases = {
        ("aws.bedrock", "aws"): "aws.bedrock",
        ("bedrock", "aws"): "aws.bedrock",
        ("gcp.vertex_ai", "google"): "gcp.vertex_ai",
        ("gcp.gemini", "google"): "gcp.gemini",
        ("vertexai", "google"): "gcp.vertex_ai",
        ("Azure", "azure"): "azure.ai.openai",
        ("mistral_ai", "mistral"): "mistral_ai",
        ("xai", "x-ai"): "x_ai",
        (None, "aws"): "aws.bedrock",  # no provider on the span: the catalog provider's semconv name
        (None, "mistral"): "mistral_ai",
        ("openai", "openai"): "openai",
        ("SomeGateway", None): "somegateway",
        (None, None): None,
    }
    got = {k: provider_label(replace(base, provider_name=k[0], provider=k[1])) for k in cases}
    assert got == cases


def test_request_and_response_models_are_separate_labels():
    base = replace(
        records()[0], model="gpt-4o-2024-08-06", request_model="gpt-4o", response_model="gpt-4o-2024-08-06"
    )
    dims = SeriesLabels().dims(base)
    assert dims[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert dims[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-2024-08-06"
