"""Value types shared by the pricing engine and everything downstream of it.

Usage convention (OpenTelemetry GenAI semantic conventions, and OpenAI's usage object):
``input_tokens`` counts *all* input tokens, cache reads and cache writes included;
``output_tokens`` counts all output tokens, reasoning included. The finer fields are
subsets of those totals. Normalisers that read other conventions (Anthropic's raw API
reports cache tokens apart from ``input_tokens``) convert to this one before pricing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

PriceStatus = Literal["priced", "partial", "unpriced"]
CostSource = Literal["local", "provider"]

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts of one call, in the semconv convention (see module docstring)."""

    input_tokens: int = 0
    """All input tokens, cache reads and writes included."""
    output_tokens: int = 0
    """All output tokens, reasoning included."""
    cache_read_tokens: int = 0
    """Input tokens served from the prompt cache (subset of ``input_tokens``)."""
    cache_write_tokens: int = 0
    """Input tokens written to the prompt cache, all TTLs (subset of ``input_tokens``)."""
    cache_write_1h_tokens: int = 0
    """Cache writes with a 1-hour TTL (subset of ``cache_write_tokens``); the rest are 5-minute writes."""
    reasoning_tokens: int = 0
    """Reasoning/thinking tokens (subset of ``output_tokens``)."""
    input_audio_tokens: int = 0
    """Audio input tokens (subset of ``input_tokens``)."""
    output_audio_tokens: int = 0
    """Audio output tokens (subset of ``output_tokens``)."""
    input_image_tokens: int = 0
    """Image input tokens (subset of ``input_tokens``)."""
    requests: int = 1
    """Billable requests (per-request fees)."""


@dataclass(frozen=True, slots=True)
class CostResult:
    """The cost of one call, with everything needed to trace it to the price that made it."""

    status: PriceStatus
    """``priced``: every component had a price; ``partial``: some had none; ``unpriced``: no cost."""
    amount: Decimal = ZERO
    """Total in ``currency``. Meaningless (zero) when ``status == 'unpriced'``: never report it as $0."""
    currency: str = "USD"
    """ISO 4217 code."""
    breakdown: Mapping[str, Decimal] = field(default_factory=dict[str, Decimal])
    """Cost per component: input, output, cache_read, cache_write, cache_write_1h, reasoning,
    input_audio, output_audio, input_image, request, call, unit."""
    reason: str | None = None
    """Why not (fully) priced: unknown_model, unknown_provider, no_usage, invalid_usage, ..."""
    price_ref: str | None = None
    """``<entry id>@<catalog version>`` of the price used."""
    provider: str | None = None
    """Resolved provider id."""
    model: str | None = None
    """Resolved model id (canonical, not the raw name on the span)."""
    source: CostSource = "local"
    """``local`` when computed here, ``provider`` when the provider reported it."""

    @property
    def priced(self) -> bool:
        """True when an amount was computed (``priced`` or ``partial``)."""
        return self.status != "unpriced"


class _Unfrozen:
    """The exact slot layout of ``CostResult``, without the frozen ``__setattr__``.

    CostResult is a frozen, slotted dataclass: its keyword ``__init__`` sets each field through
    ``object.__setattr__`` and costs about 2 us, more than pricing a call. The hot paths
    (:func:`unpriced`, ``otel_cost.pricing._result``) fill an instance of this twin with plain
    slot stores and then make it a CostResult by assigning ``__class__`` (allowed between
    classes of identical layout); the value is an ordinary, frozen CostResult, equal to one
    built by the constructor (tests/pricing check this).
    """

    __slots__ = CostResult.__slots__  # pyright: ignore[reportAttributeAccessIssue]


def local_result(  # noqa: PLR0917 - hot path, positional on purpose
    status: PriceStatus,
    reason: str | None,
    amount: Decimal,
    currency: str,
    breakdown: Mapping[str, Decimal],
    price_ref: str | None,
    provider: str | None,
    model: str | None,
) -> CostResult:
    """A CostResult computed here (``source='local'``), built by slot stores (see ``_Unfrozen``)."""
    result: Any = object.__new__(_Unfrozen)
    result.status = status
    result.reason = reason
    result.amount = amount
    result.currency = currency
    result.breakdown = breakdown
    result.price_ref = price_ref
    result.provider = provider
    result.model = model
    result.source = "local"
    result.__class__ = CostResult
    return result


def unpriced(reason: str, *, provider: str | None = None, model: str | None = None) -> CostResult:
    """An ``unpriced`` result with its reason; never an amount of zero passed off as a price."""
    return local_result("unpriced", reason, ZERO, "USD", {}, None, provider, model)
