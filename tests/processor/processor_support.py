"""Types and readers shared by the processor tests (conftest.py builds the types)."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_cost import CostSpanProcessor


def metric_points(reader: InMemoryMetricReader, name: str) -> list[float]:
    """The values of metric ``name``'s data points in ``reader`` (none before anything is recorded)."""
    data = reader.get_metrics_data()
    if data is None:
        return []
    return [
        p.value  # type: ignore[union-attr]
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == name
        for p in m.data.data_points  # type: ignore[union-attr]
    ]


@dataclass
class Setup:
    provider: TracerProvider
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    processor: CostSpanProcessor

    def finished(self) -> tuple[ReadableSpan, ...]:
        """What the exporter got, after flushing (a BatchSpanProcessor enriches at export)."""
        self.provider.force_flush()
        return self.exporter.get_finished_spans()

    def metrics(self) -> MetricsData | None:
        """The metrics recorded so far, after flushing (export threads record sampled spans)."""
        self.provider.force_flush()
        return self.reader.get_metrics_data()

    def spans(self) -> dict[str, ReadableSpan]:
        return {s.name: s for s in self.finished()}

    def pending_rollups(self) -> list[dict[int, object]]:
        """The rollup sums still waiting for a parent, per stream (on_end's and export threads')."""
        processor = self.processor
        out: list[dict[int, object]] = [dict(processor._rollups.pending)]  # pyright: ignore[reportPrivateUsage]
        primary = processor._primary  # pyright: ignore[reportPrivateUsage]
        if primary is not None:
            out.append(dict(primary.rollups.pending))
        return out
