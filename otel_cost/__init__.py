"""otel-cost: cost as a first-class OpenTelemetry signal."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("otel-cost")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

from otel_cost.attribution import AttributionConfig, attribution
from otel_cost.processor import CostSpanProcessor, RecordAllSampler, install

__all__ = (
    "AttributionConfig",
    "CostSpanProcessor",
    "RecordAllSampler",
    "__version__",
    "attribution",
    "install",
)
