"""The receiver's cost metrics: aggregated in compact tables, exported as OTel metrics data.

The receiver counts tens of thousands of calls a second; one OTel SDK measurement per call and
instrument (about 25 us a call) would be most of its CPU. ``MetricTable.record_many`` instead
adds each committed batch to plain per-series tables (counters, histogram buckets, the last
exemplar of each counter and bucket) for a few microseconds a call, and ``collect`` turns the
tables into the OpenTelemetry metrics data model (``MetricsData``: the same metrics, units,
labels and bucket boundaries :class:`otel_cost.metrics.CostMetrics` records on an SDK
``MeterProvider``), which the Prometheus collector (:mod:`otel_cost.receiver.prometheus`) and the
OTLP metric exporter (:mod:`otel_cost.receiver.metric_push`) both read.

- Temporality is cumulative from the table's creation; spend is summed as an exact ``Decimal``
  per series and written as a float only when collected.
- Exemplars: each counter point keeps the last call that added to it, each histogram bucket the
  last observation in it (as the SDK's default reservoirs for explicit-bucket histograms do), with
  its trace and span ids. They stay until replaced, so every scraper (an HA pair of Prometheus
  servers) and every export sees them; an OTLP delta export sends those of its interval.
- Cardinality: at most ``max_series`` label sets; calls of later ones are counted in one series
  labelled ``otel.metric.overflow=true``, as the SDK's cardinality limit does. Label values are
  bounded as :class:`otel_cost.metrics.SeriesLabels` says.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Iterable
from decimal import Decimal

from opentelemetry.sdk.metrics import Exemplar
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.util.types import AttributeValue

from otel_cost import semconv as sc
from otel_cost.metrics import (
    CALLS,
    DURATION,
    OPERATION_DURATION_BUCKETS,
    SPEND,
    TOKEN_TYPES,
    TOKEN_USAGE,
    TOKEN_USAGE_BUCKETS,
    TOKENS,
    UNPRICED,
    SeriesLabels,
    spends,
    token_counts,
)
from otel_cost.record import CostRecord

DEFAULT_MAX_SERIES = 2000
"""Label sets per table (the SDK's default cardinality limit per instrument)."""
OVERFLOW_ATTRIBUTE = "otel.metric.overflow"
"""The attribute of the series that counts calls past ``max_series`` (OTel SDK spec)."""
SCOPE_NAME = "otel_cost"

_PRICED = sc.COST_STATUS_VALUE_PRICED
_CUM = AggregationTemporality.CUMULATIVE
_KEY_CACHE = 20_000
"""Record keys remembered with their series; past it, labels are rebuilt per call (a flood of
distinct values costs time, not memory)."""

_Exemplar = tuple[CostRecord, float | int, int]
"""A call, the value it added, and when (ns)."""


class _Histogram:
    __slots__ = ("bounds", "count", "counts", "exemplars", "max", "min", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.exemplars: list[_Exemplar | None] = [None] * (len(bounds) + 1)
        self.count = 0
        self.sum: float = 0
        self.min = float("inf")
        self.max = float("-inf")

    def observe(self, value: float, record: CostRecord, now: int) -> None:
        index = bisect_left(self.bounds, value)
        self.counts[index] += 1
        self.exemplars[index] = (record, value, now)
        self.count += 1
        self.sum += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)


class _Series:
    """Everything one label set has counted."""

    __slots__ = ("calls", "dims", "duration", "spend", "token_usage", "tokens", "unpriced")

    def __init__(self, dims: dict[str, AttributeValue]) -> None:
        self.dims = dims
        self.calls: list[object] = [0, None]
        """[count, last exemplar]"""
        self.spend: dict[str, list[object]] = {}
        """currency -> [Decimal total, last exemplar]"""
        self.unpriced: dict[str, list[object]] = {}
        """reason -> [count, last exemplar]"""
        self.tokens: list[list[object] | None] = [None] * len(TOKEN_TYPES)
        self.token_usage: list[_Histogram | None] = [None, None]
        self.duration: _Histogram | None = None


class MetricTable:
    """The receiver's cost metrics, aggregated per series. Thread-safe.

    ``record_many`` takes the calls of committed batches; ``collect`` returns the metrics data.
    """

    def __init__(
        self,
        labels: SeriesLabels,
        *,
        resource: Resource | None = None,
        scope_version: str | None = None,
        max_series: int = DEFAULT_MAX_SERIES,
    ) -> None:
        if max_series < 1:
            raise ValueError(f"max_series must be >= 1, got {max_series}")
        self.labels = labels
        self.resource = resource or Resource.create({})
        self.scope = InstrumentationScope(SCOPE_NAME, scope_version)
        self.start_ns = time.time_ns()
        self._max_series = max_series
        self._series: dict[tuple[tuple[str, AttributeValue], ...], _Series] = {}
        self._by_key: dict[tuple[object, ...], _Series] = {}
        self._overflow: _Series | None = None
        self._lock = threading.Lock()

    def _series_of(self, record: CostRecord) -> _Series:
        key = self.labels.key(record)
        series = self._by_key.get(key)
        if series is not None:
            return series
        dims = self.labels.dims(record)
        label_set = tuple(sorted(dims.items()))
        series = self._series.get(label_set)
        if series is None:
            if len(self._series) < self._max_series:
                series = self._series[label_set] = _Series(dims)
            else:
                if self._overflow is None:
                    self._overflow = _Series({OVERFLOW_ATTRIBUTE: True})
                series = self._overflow
        if len(self._by_key) < _KEY_CACHE:
            self._by_key[key] = series
        return series

    def record_many(self, calls: Iterable[tuple[CostRecord, float | None]]) -> None:
        """Count ``(record, duration_s)`` calls: the measurements ``CostMetrics.record`` makes,
        added to the tables (``duration_s`` None: no duration observation)."""
        now = time.time_ns()
        labels = self.labels
        with self._lock:
            for record, duration_s in calls:
                series = self._series_of(record)
                calls_point = series.calls
                calls_point[0] += 1  # type: ignore[operator]
                calls_point[1] = (record, 1, now)
                result = record.result
                if spends(result):
                    currency = labels.currency(result.currency)
                    point = series.spend.get(currency)
                    if point is None:
                        series.spend[currency] = [result.amount, (record, result.amount, now)]
                    else:
                        point[0] += result.amount  # type: ignore[operator]
                        point[1] = (record, result.amount, now)
                if result.status != _PRICED:
                    reason = labels.reason(result)
                    point = series.unpriced.get(reason)
                    if point is None:
                        series.unpriced[reason] = [1, (record, 1, now)]
                    else:
                        point[0] += 1  # type: ignore[operator]
                        point[1] = (record, 1, now)
                llm = record.kind == "llm"
                usage = record.usage
                if usage is not None:
                    tokens = series.tokens
                    for index, count in enumerate(token_counts(usage)):
                        if not count:
                            continue
                        point = tokens[index]
                        if point is None:
                            tokens[index] = [count, (record, count, now)]
                        else:
                            point[0] += count  # type: ignore[operator]
                            point[1] = (record, count, now)
                        if llm and index < 2:
                            histogram = series.token_usage[index]
                            if histogram is None:
                                histogram = series.token_usage[index] = _Histogram(TOKEN_USAGE_BUCKETS)
                            histogram.observe(count, record, now)
                if duration_s is not None and llm and duration_s >= 0:
                    if series.duration is None:
                        series.duration = _Histogram(OPERATION_DURATION_BUCKETS)
                    series.duration.observe(duration_s, record, now)

    def collect(self) -> MetricsData:
        """The tables as OTel metrics data: cumulative sums and histograms, with exemplars."""
        now = time.time_ns()
        start = self.start_ns
        calls: list[NumberDataPoint] = []
        spend: dict[str, list[NumberDataPoint]] = {}
        unpriced: list[NumberDataPoint] = []
        tokens: list[NumberDataPoint] = []
        token_usage: list[HistogramDataPoint] = []
        duration: list[HistogramDataPoint] = []
        with self._lock:
            series_list = list(self._series.values())
            if self._overflow is not None:
                series_list.append(self._overflow)
            for series in series_list:
                dims = series.dims
                calls.append(_number(dims, start, now, series.calls))
                for currency, point in series.spend.items():
                    spend.setdefault(currency, []).append(
                        _number({**dims, sc.COST_CURRENCY: currency}, start, now, point)
                    )
                for reason, point in series.unpriced.items():
                    unpriced.append(_number({**dims, sc.COST_REASON: reason}, start, now, point))
                for index, point in enumerate(series.tokens):
                    if point is not None:
                        token_dims = {**dims, sc.GEN_AI_TOKEN_TYPE: TOKEN_TYPES[index]}
                        tokens.append(_number(token_dims, start, now, point))
                for index, histogram in enumerate(series.token_usage):
                    if histogram is not None:
                        token_dims = {**dims, sc.GEN_AI_TOKEN_TYPE: TOKEN_TYPES[index]}
                        token_usage.append(_histogram(token_dims, start, now, histogram))
                if series.duration is not None:
                    duration.append(_histogram(dims, start, now, series.duration))
        metrics = [
            Metric(CALLS.name, CALLS.description, CALLS.unit, Sum(calls, _CUM, True)),
            *(
                Metric(SPEND.name, SPEND.description, currency, Sum(points, _CUM, True))
                for currency, points in sorted(spend.items())
            ),
            Metric(UNPRICED.name, UNPRICED.description, UNPRICED.unit, Sum(unpriced, _CUM, True)),
            Metric(TOKENS.name, TOKENS.description, TOKENS.unit, Sum(tokens, _CUM, True)),
            Metric(
                TOKEN_USAGE.name,
                TOKEN_USAGE.description,
                TOKEN_USAGE.unit,
                Histogram(token_usage, _CUM),
            ),
            Metric(DURATION.name, DURATION.description, DURATION.unit, Histogram(duration, _CUM)),
        ]
        metrics = [m for m in metrics if m.data.data_points]
        scope_metrics = [ScopeMetrics(self.scope, metrics, "")] if metrics else []
        return MetricsData([ResourceMetrics(self.resource, scope_metrics, "")])


def _exemplar(exemplar: object) -> list[Exemplar]:
    if exemplar is None:
        return []
    record, value, at = exemplar  # type: ignore[misc]
    trace_id = int.from_bytes(record.trace_id, "big")  # type: ignore[attr-defined]
    span_id = int.from_bytes(record.span_id, "big")  # type: ignore[attr-defined]
    if not trace_id or not span_id:
        return []
    measured = float(value) if isinstance(value, Decimal) else value  # type: ignore[arg-type]
    return [Exemplar({}, measured, at, span_id, trace_id)]  # type: ignore[arg-type]


def _number(dims: dict[str, AttributeValue], start: int, now: int, point: list[object]) -> NumberDataPoint:
    total = point[0]
    value = float(total) if isinstance(total, Decimal) else total
    return NumberDataPoint(dims, start, now, value, _exemplar(point[1]))  # type: ignore[arg-type]


def _histogram(
    dims: dict[str, AttributeValue], start: int, now: int, histogram: _Histogram
) -> HistogramDataPoint:
    exemplars = [e for x in histogram.exemplars for e in _exemplar(x)]
    return HistogramDataPoint(
        dims,
        start,
        now,
        histogram.count,
        histogram.sum,
        list(histogram.counts),
        histogram.bounds,
        histogram.min,
        histogram.max,
        exemplars,
    )
