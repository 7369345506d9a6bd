"""Prometheus scrape endpoint with exemplars, fed by the OTel metrics SDK.

``opentelemetry-exporter-prometheus`` (0.66b) drops exemplars. Here a pull ``MetricReader``
collects the SDK's metric data at scrape time, exemplars included, and a ``prometheus_client``
collector turns each data point into samples; prometheus_client writes the exposition (the
OpenMetrics format when the scraper asks for it, which is where exemplars appear). No text is
written by hand. Names follow the OTel-to-Prometheus compatibility rules the exporter uses:
``cost.spend`` with unit ``USD`` becomes ``cost_spend_USD_total``; ``{token}``-style units are
dropped, ``s`` becomes ``seconds``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from wsgiref.simple_server import WSGIServer

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics import (
    Exemplar as OtelExemplar,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    HistogramDataPoint,
    MetricReader,
    MetricsData,
    NumberDataPoint,
    Sum,
)
from opentelemetry.sdk.metrics.export import Histogram as HistogramData
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Exemplar

_INVALID = re.compile(r"[^a-zA-Z0-9_:]")
_INVALID_LABEL = re.compile(r"[^a-zA-Z0-9_]")
_UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": "ratio"}


def metric_name(name: str) -> str:
    """An OTel instrument name as a Prometheus metric name."""
    clean = _INVALID.sub("_", name)
    return f"_{clean}" if clean[:1].isdigit() else clean


def label_name(key: str) -> str:
    """An OTel attribute key as a Prometheus label name."""
    clean = _INVALID_LABEL.sub("_", key)
    return f"key_{clean}" if clean[:1].isdigit() else clean


def unit_suffix(unit: str) -> str:
    """The unit as a name suffix: annotations like ``{token}`` are dropped."""
    if not unit or unit.startswith("{"):
        return ""
    return _INVALID_LABEL.sub("_", _UNITS.get(unit, unit))


class PullMetricReader(MetricReader):
    """A cumulative metric reader collected on demand (at each scrape)."""

    def __init__(self) -> None:
        cumulative = AggregationTemporality.CUMULATIVE
        super().__init__(
            preferred_temporality={
                Counter: cumulative,
                UpDownCounter: cumulative,
                Histogram: cumulative,
                ObservableCounter: cumulative,
                ObservableUpDownCounter: cumulative,
                ObservableGauge: cumulative,
            }
        )
        self._lock = threading.Lock()
        self._latest: MetricsData | None = None

    def _receive_metrics(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object
    ) -> None:
        self._latest = metrics_data

    def snapshot(self) -> MetricsData | None:
        """Collect now and return what the SDK holds (None before the provider is set up)."""
        with self._lock:
            self.collect()
            return self._latest

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        return None


def _exemplar(exemplar: OtelExemplar) -> Exemplar | None:
    if exemplar.trace_id is None or exemplar.span_id is None:
        return None
    labels = {"trace_id": format(exemplar.trace_id, "032x"), "span_id": format(exemplar.span_id, "016x")}
    return Exemplar(labels, exemplar.value, exemplar.time_unix_nano / 1e9)


def _labels(point: NumberDataPoint | HistogramDataPoint) -> dict[str, str]:
    return {label_name(k): str(v) for k, v in (point.attributes or {}).items()}


def _last_exemplar(exemplars: Sequence[OtelExemplar]) -> Exemplar | None:
    newest = max(exemplars, key=lambda e: e.time_unix_nano, default=None)
    return _exemplar(newest) if newest is not None else None


class ExemplarCollector(Collector):
    """Translates the reader's SDK metric data into prometheus_client families at scrape time."""

    def __init__(self, reader: PullMetricReader) -> None:
        self._reader = reader

    def collect(self) -> Iterable[Metric]:
        data = self._reader.snapshot()
        if data is None:
            return []
        families: dict[str, Metric] = {}
        for resource_metrics in data.resource_metrics:
            # target_info carries the resource (service.instance.id tells workers apart).
            info = families.setdefault("target", Metric("target", "Target metadata", "info"))
            resource = {label_name(k): str(v) for k, v in resource_metrics.resource.attributes.items()}
            info.add_sample("target_info", resource, 1)
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    name = metric_name(metric.name)
                    unit = unit_suffix(metric.unit or "")
                    points = metric.data
                    if isinstance(points, Sum) and points.is_monotonic:
                        family = families.setdefault(
                            name, Metric(name, metric.description or "", "counter", unit)
                        )
                        for point in points.data_points:
                            family.add_sample(
                                family.name + "_total",
                                _labels(point),
                                point.value,
                                exemplar=_last_exemplar(point.exemplars),
                            )
                    elif isinstance(points, (Sum, Gauge)):
                        family = families.setdefault(
                            name, Metric(name, metric.description or "", "gauge", unit)
                        )
                        for point in points.data_points:
                            family.add_sample(family.name, _labels(point), point.value)
                    elif isinstance(points, HistogramData):
                        family = families.setdefault(
                            name, Metric(name, metric.description or "", "histogram", unit)
                        )
                        for point in points.data_points:
                            _add_histogram(family, point)
        return list(families.values())


def _add_histogram(family: Metric, point: HistogramDataPoint) -> None:
    labels = _labels(point)
    bounds = [*point.explicit_bounds, float("inf")]
    # One exemplar per bucket (OpenMetrics): the newest whose value falls in it.
    by_bucket: dict[int, OtelExemplar] = {}
    for exemplar in point.exemplars:
        index = next(i for i, bound in enumerate(bounds) if exemplar.value <= bound)
        if index not in by_bucket or exemplar.time_unix_nano > by_bucket[index].time_unix_nano:
            by_bucket[index] = exemplar
    cumulative = 0
    for index, (bound, count) in enumerate(zip(bounds, point.bucket_counts, strict=False)):
        cumulative += count
        le = "+Inf" if bound == float("inf") else repr(float(bound))
        found = by_bucket.get(index)
        family.add_sample(
            family.name + "_bucket",
            {**labels, "le": le},
            cumulative,
            exemplar=_exemplar(found) if found is not None else None,
        )
    family.add_sample(family.name + "_count", labels, point.count)
    family.add_sample(family.name + "_sum", labels, point.sum)


def start_prometheus_server(reader: PullMetricReader, host: str, port: int) -> tuple[WSGIServer, int]:
    """Serve ``/metrics`` from ``reader`` on ``host:port``; return the server and bound port."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ExemplarCollector(reader))
    server, _thread = start_http_server(port, host, registry=registry)
    return server, server.server_address[1]
