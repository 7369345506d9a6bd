"""CostMetrics on a real SDK MeterProvider with an InMemoryMetricReader."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint

from otel_cost import semconv as sc
from otel_cost.metrics import (
    ERROR_TYPE_CAP,
    OPERATION_DURATION_BUCKETS,
    OVERFLOW_VALUE,
    TOKEN_USAGE_BUCKETS,
    CostMetrics,
)
from otel_cost.pricing.types import CostResult, TokenUsage, unpriced
from otel_cost.record import ERROR_TYPE_OTHER, CostRecord, error_type_of

TRACE_ID = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
SPAN_ID = bytes.fromhex("b7ad6b7169203331")


def _record(result: CostResult, **kw: object) -> CostRecord:
    base: dict[str, object] = {
        "trace_id": TRACE_ID,
        "span_id": SPAN_ID,
        "start_time_ns": 1,
        "end_time_ns": 2,
        "kind": "llm",
        "result": result,
        "service_name": "svc",
        "provider": "openai",
        "model": "gpt-4o",
        "operation": "chat",
        "usage": TokenUsage(input_tokens=1000, output_tokens=200, cache_read_tokens=512, reasoning_tokens=64),
        "attribution": {"project": "search", "user": "u-1"},
    }
    base.update(kw)
    return CostRecord(**base)  # type: ignore[arg-type]


def _points(reader: InMemoryMetricReader, name: str) -> list[NumberDataPoint | HistogramDataPoint]:
    data = reader.get_metrics_data()
    assert data is not None
    out: list[NumberDataPoint | HistogramDataPoint] = []
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    out.extend(metric.data.data_points)  # type: ignore[arg-type]
    return out


@pytest.fixture
def metrics_and_reader() -> Iterator[tuple[CostMetrics, InMemoryMetricReader, MeterProvider]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield CostMetrics(provider), reader, provider
    provider.shutdown()


def test_spend_calls_tokens_with_dimensions_and_exemplar(
    metrics_and_reader: tuple[CostMetrics, InMemoryMetricReader, MeterProvider],
) -> None:
    metrics, reader, _ = metrics_and_reader
    metrics.record(_record(CostResult(status="priced", amount=Decimal("0.0042"))), duration_s=1.5)
    (spend,) = _points(reader, sc.METRIC_COST_SPEND)
    assert isinstance(spend, NumberDataPoint)
    assert spend.value == pytest.approx(0.0042)
    assert dict(spend.attributes or {}) == {
        sc.COST_STATUS: "priced",
        sc.SERVICE_NAME: "svc",
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
        sc.GEN_AI_OPERATION_NAME: "chat",
        f"{sc.COST_ATTRIBUTION}.project": "search",
        sc.COST_CURRENCY: "USD",
    }  # user is high-cardinality: absent unless configured
    (exemplar,) = spend.exemplars
    assert exemplar.trace_id == int.from_bytes(TRACE_ID, "big")
    assert exemplar.span_id == int.from_bytes(SPAN_ID, "big")

    (calls,) = _points(reader, sc.METRIC_COST_CALLS)
    assert isinstance(calls, NumberDataPoint) and calls.value == 1
    tokens = {
        dict(p.attributes or {})[sc.GEN_AI_TOKEN_TYPE]: p.value  # type: ignore[union-attr]
        for p in _points(reader, sc.METRIC_COST_TOKENS)
    }
    assert tokens == {"input": 1000, "output": 200, "cache_read": 512, "reasoning": 64}
    usage = _points(reader, sc.METRIC_GEN_AI_CLIENT_TOKEN_USAGE)
    assert len(usage) == 2
    assert isinstance(usage[0], HistogramDataPoint)
    assert tuple(usage[0].explicit_bounds) == TOKEN_USAGE_BUCKETS
    (duration,) = _points(reader, sc.METRIC_GEN_AI_CLIENT_OPERATION_DURATION)
    assert isinstance(duration, HistogramDataPoint) and duration.sum == 1.5
    assert tuple(duration.explicit_bounds) == OPERATION_DURATION_BUCKETS
    assert _points(reader, sc.METRIC_COST_UNPRICED_CALLS) == []


def test_unpriced_counts_reason_and_no_spend(
    metrics_and_reader: tuple[CostMetrics, InMemoryMetricReader, MeterProvider],
) -> None:
    metrics, reader, _ = metrics_and_reader
    metrics.record(_record(unpriced("unknown_model"), usage=None))
    metrics.record(
        _record(CostResult(status="partial", amount=Decimal(1), reason="no_price_component"), usage=None)
    )
    assert [p.value for p in _points(reader, sc.METRIC_COST_SPEND)] == [1]  # type: ignore[union-attr]
    reasons = {
        dict(p.attributes or {})[sc.COST_REASON]: p.value  # type: ignore[union-attr]
        for p in _points(reader, sc.METRIC_COST_UNPRICED_CALLS)
    }
    assert reasons == {"unknown_model": 1, "no_price_component": 1}


def test_unsampled_record_has_no_exemplar(
    metrics_and_reader: tuple[CostMetrics, InMemoryMetricReader, MeterProvider],
) -> None:
    metrics, reader, _ = metrics_and_reader
    metrics.record(_record(CostResult(status="priced", amount=Decimal(1))), sampled=False)
    (spend,) = _points(reader, sc.METRIC_COST_SPEND)
    assert spend.exemplars == []


def test_high_cardinality_keys_capped_with_overflow() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    metrics = CostMetrics(provider, high_cardinality_keys=("user",), cardinality_cap=3)
    for i in range(10):
        metrics.record(_record(CostResult(status="priced", amount=Decimal(1)), attribution={"user": f"u{i}"}))
    users = {
        dict(p.attributes or {})[f"{sc.COST_ATTRIBUTION}.user"]: p.value  # type: ignore[union-attr]
        for p in _points(reader, sc.METRIC_COST_CALLS)
    }
    assert users == {"u0": 1, "u1": 1, "u2": 1, OVERFLOW_VALUE: 7}
    provider.shutdown()
    with pytest.raises(ValueError):
        CostMetrics(provider, cardinality_cap=0)


def _by_error_type(reader: InMemoryMetricReader, name: str) -> dict[str | None, float]:
    """Sum of the points of metric ``name`` per ``error.type`` (``None``: points without the key)."""
    out: dict[str | None, float] = {}
    for point in _points(reader, name):
        attrs = dict(point.attributes or {})
        key = attrs.get(sc.ERROR_TYPE)
        assert key is None or isinstance(key, str)
        out[key] = out.get(key, 0) + point.value  # type: ignore[union-attr]
    return out


@pytest.mark.parametrize("batched", [False, True], ids=["record", "record_many"])
def test_failed_calls_carry_error_type_successful_ones_do_not(batched: bool) -> None:
    """Spend on failed calls is ``cost.spend`` with ``error.type``: the span's value, else
    ``_OTHER``; a successful call's series has no ``error.type`` key at all."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    metrics = CostMetrics(provider)
    paid = CostResult(status="priced", amount=Decimal("0.25"))
    calls = [
        (_record(paid), 1.0),
        (_record(paid, error=True, error_type="openai.APITimeoutError"), 2.0),
        (_record(paid, error=True, error_type="openai.APITimeoutError"), 2.0),
        (_record(paid, error=True, error_type=ERROR_TYPE_OTHER), 3.0),
        (_record(unpriced("missing_usage"), usage=None, error=True, error_type="500"), 0.5),
    ]
    if batched:
        metrics.record_many(calls)
    else:
        for record, duration in calls:
            metrics.record(record, duration)
    # 0.25 USD per priced call: one success, two timeouts, one _OTHER; the unpriced 500 spends nothing.
    assert _by_error_type(reader, sc.METRIC_COST_SPEND) == {
        None: 0.25,
        "openai.APITimeoutError": 0.5,
        ERROR_TYPE_OTHER: 0.25,
    }
    assert _by_error_type(reader, sc.METRIC_COST_CALLS) == {
        None: 1,
        "openai.APITimeoutError": 2,
        ERROR_TYPE_OTHER: 1,
        "500": 1,
    }
    assert _by_error_type(reader, sc.METRIC_COST_UNPRICED_CALLS) == {"500": 1}
    durations = {
        dict(p.attributes or {}).get(sc.ERROR_TYPE): p.count  # type: ignore[union-attr]
        for p in _points(reader, sc.METRIC_GEN_AI_CLIENT_OPERATION_DURATION)
    }
    assert durations == {None: 1, "openai.APITimeoutError": 2, ERROR_TYPE_OTHER: 1, "500": 1}
    (ok,) = [
        p for p in _points(reader, sc.METRIC_COST_SPEND) if sc.ERROR_TYPE not in dict(p.attributes or {})
    ]
    assert dict(ok.attributes or {})[sc.COST_STATUS] == "priced"
    provider.shutdown()


def test_error_types_capped_into_other() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    metrics = CostMetrics(provider)
    paid = CostResult(status="priced", amount=Decimal(1))
    for i in range(ERROR_TYPE_CAP + 5):
        metrics.record(_record(paid, error=True, error_type=f"E{i}"))
    calls = _by_error_type(reader, sc.METRIC_COST_CALLS)
    assert len(calls) == ERROR_TYPE_CAP + 1
    assert calls[f"E{ERROR_TYPE_CAP - 1}"] == 1 and f"E{ERROR_TYPE_CAP}" not in calls
    assert calls[ERROR_TYPE_OTHER] == 5
    provider.shutdown()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("timeout", "timeout"),
        ("openai.RateLimitError", "openai.RateLimitError"),
        ("", ERROR_TYPE_OTHER),
        (None, ERROR_TYPE_OTHER),
        (503, "503"),
        (True, ERROR_TYPE_OTHER),
        (["a", "b"], ERROR_TYPE_OTHER),
    ],
)
def test_error_type_of(value: object, expected: str) -> None:
    assert error_type_of(value) == expected


def _declared_attributes() -> dict[str, set[str]]:
    """metric name -> the attribute names semconv/registry/metrics.yaml declares for it."""
    import yaml

    from tests.conftest import REPO

    registry = yaml.safe_load((REPO / "semconv" / "registry" / "metrics.yaml").read_text())
    return {g["metric_name"]: {a["ref"] for a in g["attributes"]} for g in registry["groups"]}


@pytest.mark.parametrize("batched", [False, True], ids=["record", "record_many"])
def test_every_recorded_attribute_is_declared_in_the_registry(batched: bool) -> None:
    """docs/semconv.md (generated from the registry) lists each metric's attributes: a recorded
    attribute the registry leaves out is a documentation lie (``cost.status`` on every metric and
    ``gen_ai.operation.name`` on the token counter once were)."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    metrics = CostMetrics(provider, dimension_keys=("project",))
    calls = [
        (_record(CostResult(status="priced", amount=Decimal("0.25"))), 1.0),
        (_record(CostResult(status="partial", amount=Decimal("0.1"), reason="no_price_component")), 1.0),
        (_record(unpriced("unknown_model"), error=True, error_type="500"), 0.5),
    ]
    if batched:
        metrics.record_many(calls)
    else:
        for record, duration in calls:
            metrics.record(record, duration)
    declared = _declared_attributes()
    data = reader.get_metrics_data()
    assert data is not None
    seen: dict[str, set[str]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    seen.setdefault(metric.name, set()).update(point.attributes or {})
    assert set(seen) == set(declared)
    for name, keys in seen.items():
        templated = {sc.COST_ATTRIBUTION if k.startswith(sc.COST_ATTRIBUTION + ".") else k for k in keys}
        assert templated <= declared[name], f"{name}: recorded but not declared: {templated - declared[name]}"
    provider.shutdown()
