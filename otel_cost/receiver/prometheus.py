"""Prometheus scrape endpoint with exemplars, fed by OTel metrics data.

``opentelemetry-exporter-prometheus`` (0.66b) drops exemplars. Here, at each scrape, the
receiver's metric tables are collected as OTel metrics data (``MetricsData``, exemplars included)
and a ``prometheus_client`` collector turns each data point into samples; prometheus_client
writes the exposition (the OpenMetrics format when the scraper asks for it, which is where
exemplars appear). No text is written by hand. Names follow the OTel-to-Prometheus compatibility
rules: ``cost.spend`` with unit ``USD`` becomes ``cost_spend_USD_total`` (and with unit ``EUR``
``cost_spend_EUR_total``); ``{token}``-style units are dropped, ``s`` becomes ``seconds``; every
sample carries ``otel_scope_name``/``otel_scope_version``. Exemplars are not consumed by a
scrape: every scraper gets them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from wsgiref.simple_server import WSGIServer

from opentelemetry.sdk.metrics import Exemplar as OtelExemplar
from opentelemetry.sdk.metrics.export import (
    Gauge,
    HistogramDataPoint,
    MetricsData,
    NumberDataPoint,
    Sum,
)
from opentelemetry.sdk.metrics.export import Histogram as HistogramData
from opentelemetry.sdk.metrics.export import Metric as OtelMetric
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


def _exemplar(exemplar: OtelExemplar) -> Exemplar | None:
    if exemplar.trace_id is None or exemplar.span_id is None:
        return None
    labels = {"trace_id": format(exemplar.trace_id, "032x"), "span_id": format(exemplar.span_id, "016x")}
    return Exemplar(labels, exemplar.value, exemplar.time_unix_nano / 1e9)


def _labels(point: NumberDataPoint | HistogramDataPoint, scope: dict[str, str]) -> dict[str, str]:
    labels = {label_name(k): str(v) for k, v in (point.attributes or {}).items()}
    labels.update(scope)
    return labels


def _last_exemplar(exemplars: Sequence[OtelExemplar]) -> Exemplar | None:
    newest = max(exemplars, key=lambda e: e.time_unix_nano, default=None)
    return _exemplar(newest) if newest is not None else None


class ExemplarCollector(Collector):
    """Translates OTel metrics data into prometheus_client families at scrape time.

    ``source`` returns the data to expose (``MetricTable.collect``). Each sample carries the
    ``otel_scope_name`` and ``otel_scope_version`` labels of its instrumentation scope, and the
    resource is exposed as ``target_info``, as the OTel Prometheus compatibility spec asks.
    """

    def __init__(self, source: Callable[[], MetricsData | None]) -> None:
        self._source = source

    def collect(self) -> Iterable[Metric]:
        data = self._source()
        if data is None:
            return []
        families: dict[str, Metric] = {}
        for resource_metrics in data.resource_metrics:
            # target_info carries the resource (service.instance.id tells workers apart).
            info = families.setdefault("target", Metric("target", "Target metadata", "info"))
            resource = {label_name(k): str(v) for k, v in resource_metrics.resource.attributes.items()}
            info.add_sample("target_info", resource, 1)
            for scope_metrics in resource_metrics.scope_metrics:
                scope = {"otel_scope_name": scope_metrics.scope.name}
                if scope_metrics.scope.version:
                    scope["otel_scope_version"] = scope_metrics.scope.version
                for metric in scope_metrics.metrics:
                    _add_metric(families, metric, scope)
        return list(families.values())


def _family(families: dict[str, Metric], metric: OtelMetric, kind: str) -> Metric:
    # One family per name and unit: cost.spend in USD and in EUR are cost_spend_USD / cost_spend_EUR.
    name = metric_name(metric.name)
    unit = unit_suffix(metric.unit or "")
    family = families.get(f"{name}|{unit}")
    if family is None:
        family = families[f"{name}|{unit}"] = Metric(name, metric.description or "", kind, unit)
    return family


def _add_metric(families: dict[str, Metric], metric: OtelMetric, scope: dict[str, str]) -> None:
    points = metric.data
    if isinstance(points, Sum) and points.is_monotonic:
        family = _family(families, metric, "counter")
        for point in points.data_points:
            family.add_sample(
                family.name + "_total",
                _labels(point, scope),
                point.value,
                exemplar=_last_exemplar(point.exemplars),
            )
    elif isinstance(points, (Sum, Gauge)):
        family = _family(families, metric, "gauge")
        for point in points.data_points:
            family.add_sample(family.name, _labels(point, scope), point.value)
    elif isinstance(points, HistogramData):
        family = _family(families, metric, "histogram")
        for point in points.data_points:
            _add_histogram(family, point, scope)


def _add_histogram(family: Metric, point: HistogramDataPoint, scope: dict[str, str]) -> None:
    labels = _labels(point, scope)
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


def start_prometheus_server(
    source: Callable[[], MetricsData | None], host: str, port: int
) -> tuple[WSGIServer, int]:
    """Serve ``/metrics`` from ``source`` on ``host:port``; return the server and bound port."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ExemplarCollector(source))
    server, _thread = start_http_server(port, host, registry=registry)
    return server, server.server_address[1]
