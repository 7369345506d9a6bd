"""``CostMetrics.record_many`` (added for the receiver's batches) gives the same series and totals
as ``record`` on each call, with an exemplar from the batch's spans."""

from __future__ import annotations

from decimal import Decimal

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_cost.metrics import CostMetrics
from otel_cost.pricing.types import CostResult, TokenUsage
from otel_cost.record import CostRecord


def records() -> list[CostRecord]:
    out = []
    for n in range(1, 31):
        status = "unpriced" if n % 10 == 0 else "priced"
        result = (
            CostResult(status="unpriced", reason="unknown_model")
            if status == "unpriced"
            else CostResult(status="priced", amount=Decimal("0.0045") if n % 2 else Decimal("0.012"))
        )
        out.append(
            CostRecord(
                trace_id=n.to_bytes(16, "big"),
                span_id=n.to_bytes(8, "big"),
                start_time_ns=10**18,
                end_time_ns=10**18 + n * 10**7,
                kind="llm",
                result=result,
                service_name=f"svc-{n % 3}",
                provider="openai",
                model="gpt-4o" if n % 2 else "gpt-4o-mini",
                operation="chat",
                usage=TokenUsage(input_tokens=1000 + n, output_tokens=200, cache_read_tokens=n % 4),
                attribution={"project": f"p{n % 2}", "user": f"u{n}"},
            )
        )
    return out


def snapshot(reader: InMemoryMetricReader) -> dict[tuple[str, tuple[tuple[str, object], ...]], object]:
    data = reader.get_metrics_data()
    assert data is not None
    out: dict[tuple[str, tuple[tuple[str, object], ...]], object] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    key = (metric.name, tuple(sorted((point.attributes or {}).items())))
                    value = getattr(point, "value", None)
                    if value is None:
                        value = (point.count, round(point.sum, 9), tuple(point.bucket_counts))  # type: ignore[attr-defined]
                    elif isinstance(value, float):
                        value = round(value, 12)
                    out[key] = value
    return out


def _recorded_both_ways() -> tuple[InMemoryMetricReader, InMemoryMetricReader]:
    """The same ``records()`` through ``CostMetrics.record`` one by one and through ``record_many``:
    the readers of each."""
    one, many = InMemoryMetricReader(), InMemoryMetricReader()
    per_call = CostMetrics(MeterProvider(metric_readers=[one]))
    batched = CostMetrics(MeterProvider(metric_readers=[many]))
    calls = [(r, (r.end_time_ns - r.start_time_ns) / 1e9) for r in records()]
    for record, duration in calls:
        per_call.record(record, duration)
    batched.record_many(calls)
    return one, many


def test_record_many_equals_record_per_call():
    one, many = _recorded_both_ways()
    expected = snapshot(one)
    assert snapshot(many) == expected
    # Amounts are set by the builder above, not priced: odd n are gpt-4o at 0.0045, 15 calls ->
    # 0.0675; even n are gpt-4o-mini at 0.012, 15 calls of which 10, 20, 30 are unpriced -> 12 * 0.012
    # = 0.144.
    spend = {}
    for (name, attrs), value in expected.items():
        if name == "cost.spend":
            model = dict(attrs)["gen_ai.request.model"]
            spend[model] = round(spend.get(model, 0.0) + value, 12)  # type: ignore[operator]
    assert spend == {"gpt-4o": 0.0675, "gpt-4o-mini": 0.144}


def test_record_many_keeps_an_exemplar_of_a_batch_span():
    reader = InMemoryMetricReader()
    metrics = CostMetrics(MeterProvider(metric_readers=[reader]))
    batch = records()[:5]
    metrics.record_many((r, None) for r in batch)
    data = reader.get_metrics_data()
    assert data is not None
    ids = {int.from_bytes(r.span_id, "big") for r in batch}
    spend = [
        m
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "cost.spend"
    ]
    exemplars = [e for p in spend[0].data.data_points for e in p.exemplars]
    assert exemplars and {e.span_id for e in exemplars} <= ids


def histogram_exemplars(
    reader: InMemoryMetricReader,
) -> dict[tuple[str, tuple[tuple[str, object], ...]], object]:
    data = reader.get_metrics_data()
    assert data is not None
    out: dict[tuple[str, tuple[tuple[str, object], ...]], object] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    if hasattr(point, "bucket_counts"):
                        key = (metric.name, tuple(sorted((point.attributes or {}).items())))
                        out[key] = sorted((e.value, e.trace_id, e.span_id) for e in point.exemplars)
    return out


def test_record_many_keeps_the_histogram_exemplars_per_call_recording_keeps():
    """Only the last observation per series and bucket carries its span in ``record_many``: the
    bucket-aligned reservoir keeps the last one offered, so the exemplars are the same."""
    one, many = _recorded_both_ways()
    expected = histogram_exemplars(one)
    assert any(expected.values())
    assert histogram_exemplars(many) == expected
    # Durations of the series svc-1 / gpt-4o / p1 (odd n with n % 3 == 1: n = 1, 7, 13, 19, 25,
    # n/100 s) fall in the buckets le 0.01, le 0.08, le 0.16, le 0.32, le 0.32: 0.19 (n = 19) is
    # overwritten by 0.25 (n = 25), the last of its bucket.
    duration = dict((k[1], v) for k, v in expected.items() if k[0] == "gen_ai.client.operation.duration")
    series = next(
        v
        for attrs, v in duration.items()
        if ("service.name", "svc-1") in attrs and ("gen_ai.request.model", "gpt-4o") in attrs
    )
    assert [(value, span_id) for value, _, span_id in series] == [
        (0.01, 1),
        (0.07, 7),
        (0.13, 13),
        (0.25, 25),
    ]
