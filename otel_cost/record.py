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
    error_type: str | None = None
    """semconv ``error.type`` of a failed call (``error`` true): the span's ``error.type``, else
    ``_OTHER``; ``None`` on calls that succeeded (see :func:`error_type_of`)."""
    provider_name: str | None = None
    """``gen_ai.provider.name`` (or an older provider attribute) as the span carries it, before
    normalisation: metrics label calls with the semconv provider name it maps to."""
    request_model: str | None = None
    """The model the call asked for (``gen_ai.request.model``)."""
    response_model: str | None = None
    """The model that answered, when the span says (``gen_ai.response.model``)."""


ERROR_TYPE_OTHER = "_OTHER"
"""semconv's fallback ``error.type`` value, for a failed call whose span names no error class."""


def error_type_of(value: object) -> str:
    """The ``error.type`` a failed call is counted under, from its span's ``error.type`` value.

    A non-empty string is kept (semconv defines the attribute as low-cardinality: an exception
    class, an HTTP status code, ``timeout``, ...); an integer (an HTTP status code set as a
    number) becomes its string; anything else, or no value, is ``_OTHER``.
    """
    if isinstance(value, str):
        return value or ERROR_TYPE_OTHER
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ERROR_TYPE_OTHER
