"""CostRecord: one priced (or unpriceable) metered call, the unit that flows to span
attributes, metrics and the ledger."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from otel_cost.pricing.types import CostResult, TokenUsage

CallKind = Literal["llm", "http"]


@dataclass(frozen=True, slots=True)
class CostRecord:
    """A metered call as otel-cost accounts for it."""

    trace_id: bytes
    """16 bytes."""
    span_id: bytes
    """8 bytes."""
    start_time_ns: int
    end_time_ns: int
    kind: CallKind
    result: CostResult
    service_name: str = "unknown_service"
    provider: str | None = None
    """Provider as named on the span (normalised id when resolved)."""
    model: str | None = None
    """Model as named on the span (response model, else request model)."""
    operation: str | None = None
    """gen_ai.operation.name (chat, embeddings, ...) or the HTTP method for API calls."""
    usage: TokenUsage | None = None
    attribution: Mapping[str, str] = field(default_factory=dict[str, str])
    """Attribution keys without the ``cost.attribution.`` prefix (project, user, ...)."""
    usage_estimated: bool = False
    error: bool = False
    """The span ended with status ERROR (spend on failed calls)."""
