"""Pushing the receiver's metric tables to an OTLP endpoint (``--metrics-endpoint``).

``MetricPush`` hands ``MetricTable.collect()`` to an OpenTelemetry OTLP ``MetricExporter`` every
interval on its own thread, and once more on ``close``. Temporality follows the exporter's
standard setting ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE``: ``cumulative`` (the
default) sends the tables as they are; ``delta`` and ``lowmemory`` (the same for synchronous
counters and histograms) send what was added since the previous export, with the exemplars of
that interval (a histogram's min and max stay those since start: the tables keep no others).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExporter,
    MetricsData,
    NumberDataPoint,
    Sum,
)

_log = logging.getLogger(__name__)

TEMPORALITY_ENV = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
_DELTA = AggregationTemporality.DELTA


def delta_preferred(environ: dict[str, str] | None = None) -> bool:
    """Whether the OTLP exporter setting asks for delta sums and histograms."""
    value = (environ if environ is not None else os.environ).get(TEMPORALITY_ENV, "cumulative")
    return value.strip().lower() in ("delta", "lowmemory")


_PointKey = tuple[str, str, tuple[tuple[str, object], ...]]


class DeltaView:
    """Turns successive cumulative collections into deltas since the previous one."""

    def __init__(self) -> None:
        self._last: dict[_PointKey, NumberDataPoint | HistogramDataPoint] = {}
        self._since: int | None = None

    def __call__(self, data: MetricsData) -> MetricsData:
        seen: dict[_PointKey, NumberDataPoint | HistogramDataPoint] = {}
        resource_metrics = []
        for rm in data.resource_metrics:
            scope_metrics = []
            for sm in rm.scope_metrics:
                metrics = [m for m in (self._metric(metric, seen) for metric in sm.metrics) if m is not None]
                if metrics:
                    scope_metrics.append(replace(sm, metrics=metrics))
            resource_metrics.append(replace(rm, scope_metrics=scope_metrics))
        self._last = seen
        self._since = max((p.time_unix_nano for p in seen.values()), default=self._since)
        return MetricsData(resource_metrics)

    def _metric(
        self, metric: Metric, seen: dict[_PointKey, NumberDataPoint | HistogramDataPoint]
    ) -> Metric | None:
        points: list[NumberDataPoint | HistogramDataPoint] = []
        for point in metric.data.data_points:
            key = (metric.name, metric.unit or "", tuple(sorted((point.attributes or {}).items())))
            seen[key] = point  # type: ignore[assignment]
            changed = _delta(point, self._last.get(key), self._since)  # type: ignore[arg-type]
            if changed is not None:
                points.append(changed)
        if not points:
            return None
        if isinstance(metric.data, Sum):
            return replace(metric, data=Sum(points, _DELTA, metric.data.is_monotonic))  # type: ignore[arg-type]
        return replace(metric, data=Histogram(points, _DELTA))  # type: ignore[arg-type]


def _delta(
    point: NumberDataPoint | HistogramDataPoint,
    before: NumberDataPoint | HistogramDataPoint | None,
    since: int | None,
) -> NumberDataPoint | HistogramDataPoint | None:
    """``point`` minus ``before`` (None when nothing changed), starting at ``since``."""
    start = since if since is not None else point.start_time_unix_nano
    exemplars = [e for e in point.exemplars if since is None or e.time_unix_nano > since]
    if isinstance(point, NumberDataPoint):
        previous = before.value if isinstance(before, NumberDataPoint) else 0
        if point.value == previous:
            return None
        return replace(point, start_time_unix_nano=start, value=point.value - previous, exemplars=exemplars)
    if not isinstance(before, HistogramDataPoint):
        return replace(point, start_time_unix_nano=start, exemplars=exemplars)
    if point.count == before.count:
        return None
    return replace(
        point,
        start_time_unix_nano=start,
        count=point.count - before.count,
        sum=point.sum - before.sum,
        bucket_counts=[a - b for a, b in zip(point.bucket_counts, before.bucket_counts, strict=True)],
        exemplars=exemplars,
    )


class MetricPush:
    """Exports ``collect()`` through ``exporter`` every ``interval_s`` seconds until ``close``."""

    def __init__(
        self,
        exporter: MetricExporter,
        collect: Callable[[], MetricsData],
        interval_s: float,
        *,
        delta: bool | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self._exporter = exporter
        self._collect = collect
        self._interval = interval_s
        self._delta = DeltaView() if (delta_preferred() if delta is None else delta) else None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="otel-cost-metric-push", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.export()

    def export(self, timeout_s: float = 10.0) -> None:
        """Export now (never raises: a failed export is logged and the next one tries again)."""
        with self._lock:
            try:
                data = self._collect()
                if self._delta is not None:
                    data = self._delta(data)
                self._exporter.export(data, timeout_millis=timeout_s * 1000)
            except Exception:
                _log.exception("exporting metrics failed")

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the thread, export what was counted since the last export, shut the exporter down."""
        deadline = time.monotonic() + timeout_s
        self._stop.set()
        self._thread.join(timeout_s)
        self.export(max(0.1, deadline - time.monotonic()))
        try:
            self._exporter.shutdown(timeout_millis=max(100, (deadline - time.monotonic()) * 1000))
        except Exception:
            _log.exception("shutting the metric exporter down failed")
