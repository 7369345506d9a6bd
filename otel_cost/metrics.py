"""The cost metrics: one instrument set shared by the SDK processor and the receiver.

Instruments (names from :mod:`otel_cost.semconv`):

- ``cost.spend`` (counter, unit = the currency code, attribute ``cost.currency``): money spent,
  recorded for ``priced`` and ``partial`` calls only; never summed across currencies.
- ``cost.calls`` (counter): every metered call, priced or not, by ``cost.status``.
- ``cost.tokens`` (counter): tokens by ``gen_ai.token.type``: ``input`` (all input tokens,
  cached included), ``output`` (reasoning included), and the subsets ``cache_read``,
  ``cache_write`` and ``reasoning``.
- ``cost.unpriced.calls`` (counter): calls not (fully) priced, by ``cost.reason``.
- ``gen_ai.client.token.usage`` and ``gen_ai.client.operation.duration`` (histograms with the
  GenAI semconv bucket boundaries), for LLM calls.

Dimensions: ``gen_ai.provider.name``, ``gen_ai.request.model`` (the model on the record),
``gen_ai.operation.name``, ``cost.status``, ``service.name`` and ``cost.attribution.<key>`` for the
configured ``dimension_keys``. High-cardinality keys (user, session) are dimensions only when
listed in ``high_cardinality_keys``; each is capped at ``cardinality_cap`` distinct values, later
values fold into ``_other``.

Failed calls (span status ERROR) also carry the semconv ``error.type`` (the span's own value,
else ``_OTHER``; see :func:`otel_cost.record.error_type_of`) on every instrument, so "spend on
failed calls" is ``cost.spend`` with ``error.type`` set; successful calls have no such key (one
extra key only on errors). semconv defines it as low-cardinality; as a guard against an
instrumentation that puts messages in it, at most ``ERROR_TYPE_CAP`` distinct values are kept and
later ones fold into ``_OTHER``.

Exemplars: each measurement is recorded under a context holding the record's span context, so
the SDK's exemplar reservoir (default filter ``trace_based``) links the point to the trace.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from decimal import Decimal

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import Histogram, MeterProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.util.types import AttributeValue

from otel_cost import semconv as sc
from otel_cost.pricing.types import TokenUsage
from otel_cost.record import ERROR_TYPE_OTHER, CostRecord

DEFAULT_DIMENSION_KEYS: tuple[str, ...] = ("project", "cost_center", "tenant", "environment", "agent")
OVERFLOW_VALUE = "_other"
"""Value a capped high-cardinality dimension takes once ``cardinality_cap`` values were seen."""
ERROR_TYPE_CAP = 100
"""Distinct ``error.type`` values kept as dimensions; later ones are recorded as ``_OTHER``."""

# GenAI semconv advisory bucket boundaries (gen-ai-metrics.md).
TOKEN_USAGE_BUCKETS: tuple[float, ...] = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
OPERATION_DURATION_BUCKETS: tuple[float, ...] = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip

_ZERO = Decimal(0)
_Observation = tuple[Histogram, float, dict[str, AttributeValue], CostRecord]
_NO_SPAN = trace.set_span_in_context(trace.INVALID_SPAN)
"""A context whose span is invalid: no exemplar is offered from it (and, unlike an empty one,
the SDK does not swap it for the current context)."""


def _span_context(record: CostRecord, sampled: bool) -> Context | None:
    if len(record.trace_id) != 16 or len(record.span_id) != 8:
        return None
    trace_id = int.from_bytes(record.trace_id, "big")
    span_id = int.from_bytes(record.span_id, "big")
    if not trace_id or not span_id:
        return None
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    span = NonRecordingSpan(SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags))
    return trace.set_span_in_context(span)


class CostMetrics:
    """Records :class:`~otel_cost.record.CostRecord` s as cost metrics on ``meter_provider``.

    Thread-safe. ``record`` never raises for odd records (missing provider or model are left out
    of the dimensions); a bad constructor argument raises ``ValueError``.
    """

    def __init__(
        self,
        meter_provider: MeterProvider,
        *,
        dimension_keys: Iterable[str] = DEFAULT_DIMENSION_KEYS,
        high_cardinality_keys: Iterable[str] = (),
        cardinality_cap: int = 1000,
        currency: str = "USD",
    ) -> None:
        if cardinality_cap < 1:
            raise ValueError(f"cardinality_cap must be >= 1, got {cardinality_cap}")
        self._dimension_keys = tuple(dimension_keys)
        self._high_keys = tuple(k for k in high_cardinality_keys if k not in self._dimension_keys)
        self._cap = cardinality_cap
        self._seen: dict[str, set[str]] = {k: set() for k in self._high_keys}
        self._error_types: set[str] = set()
        self._lock = threading.Lock()
        meter = meter_provider.get_meter("otel_cost")
        self._spend = meter.create_counter(
            sc.METRIC_COST_SPEND, unit=currency, description="Money spent on metered calls."
        )
        self._calls = meter.create_counter(
            sc.METRIC_COST_CALLS, unit="{call}", description="Metered calls seen, priced or not."
        )
        self._tokens = meter.create_counter(
            sc.METRIC_COST_TOKENS, unit="{token}", description="Tokens consumed by metered calls."
        )
        self._unpriced = meter.create_counter(
            sc.METRIC_COST_UNPRICED_CALLS,
            unit="{call}",
            description="Calls that could not be (fully) priced, by reason.",
        )
        self._token_usage = meter.create_histogram(
            sc.METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=list(TOKEN_USAGE_BUCKETS),
        )
        self._duration = meter.create_histogram(
            sc.METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=list(OPERATION_DURATION_BUCKETS),
        )

    def _capped(self, seen: set[str], value: str, cap: int, overflow: str) -> str:
        if value in seen:
            return value
        with self._lock:
            if value in seen:
                return value
            if len(seen) >= cap:
                return overflow
            seen.add(value)
            return value

    def _dimensions(self, record: CostRecord) -> dict[str, AttributeValue]:
        dims: dict[str, AttributeValue] = {
            sc.COST_STATUS: record.result.status,
            sc.SERVICE_NAME: record.service_name,
        }
        if record.provider:
            dims[sc.GEN_AI_PROVIDER_NAME] = record.provider
        if record.model:
            dims[sc.GEN_AI_REQUEST_MODEL] = record.model
        if record.operation:
            dims[sc.GEN_AI_OPERATION_NAME] = record.operation
        attribution = record.attribution
        for key in self._dimension_keys:
            value = attribution.get(key)
            if value:
                dims[f"{sc.COST_ATTRIBUTION}.{key}"] = value
        for key in self._high_keys:
            value = attribution.get(key)
            if value:
                dims[f"{sc.COST_ATTRIBUTION}.{key}"] = self._capped(
                    self._seen[key], value, self._cap, OVERFLOW_VALUE
                )
        error_type = record.error_type
        if error_type:
            dims[sc.ERROR_TYPE] = self._capped(
                self._error_types, error_type, ERROR_TYPE_CAP, ERROR_TYPE_OTHER
            )
        return dims

    def record(self, record: CostRecord, duration_s: float | None = None, *, sampled: bool = True) -> None:
        """Record one metered call.

        ``duration_s`` feeds ``gen_ai.client.operation.duration`` (LLM calls only; nothing is
        recorded without it). ``sampled=False`` marks the record's trace as not exported, so no
        exemplar points at it.
        """
        ctx = _span_context(record, sampled)
        dims = self._dimensions(record)
        result = record.result
        self._calls.add(1, dims, context=ctx)
        if result.status != sc.COST_STATUS_VALUE_UNPRICED and result.amount > _ZERO:
            spend_dims = dict(dims)
            spend_dims[sc.COST_CURRENCY] = result.currency
            self._spend.add(float(result.amount), spend_dims, context=ctx)
        if result.status != sc.COST_STATUS_VALUE_PRICED:
            unpriced_dims = dict(dims)
            unpriced_dims[sc.COST_REASON] = result.reason or "unknown"
            self._unpriced.add(1, unpriced_dims, context=ctx)
        usage = record.usage
        if usage is not None:
            for token_type, count, histogram in _token_counts(usage, record.kind == "llm"):
                token_dims = dict(dims)
                token_dims[sc.GEN_AI_TOKEN_TYPE] = token_type
                self._tokens.add(count, token_dims, context=ctx)
                if histogram:
                    self._token_usage.record(count, token_dims, context=ctx)
        if duration_s is not None and record.kind == "llm" and duration_s >= 0:
            self._duration.record(duration_s, dims, context=ctx)

    def record_many(self, calls: Iterable[tuple[CostRecord, float | None]], *, sampled: bool = True) -> None:
        """Record many ``(record, duration_s)`` calls: the same totals as ``record`` on each
        (``sampled=False``: their traces are not exported, as for ``record``).

        Added for the receiver, which records thousands of calls per ledger commit: counters are
        summed per series first (spend in ``Decimal``, one float per series), so each series costs
        one SDK call per batch instead of one per call; its exemplar is the last call's span.
        Histograms still take one observation per call, but only the last observation of a batch
        in each series and bucket carries its span (the one the SDK's bucket-aligned reservoir
        keeps; the others would be offered and overwritten), so with the semconv buckets the
        exemplars are those per-call recording leaves, for less work. Dimension dicts are built
        once per distinct series in the batch.
        """
        series_of: dict[tuple[object, ...], _Series] = {}
        sums: dict[tuple[int, int, object], list[object]] = {}
        observations: list[_Observation] = []
        dimension_keys, high_keys = self._dimension_keys, self._high_keys
        unpriced, priced = sc.COST_STATUS_VALUE_UNPRICED, sc.COST_STATUS_VALUE_PRICED

        def add(kind: int, series: _Series, extra: object, value: object, record: CostRecord) -> None:
            key = (kind, series.index, extra)
            entry = sums.get(key)
            if entry is None:
                sums[key] = [value, record, series, extra]
            else:
                entry[0] = entry[0] + value  # type: ignore[operator]
                entry[1] = record

        for record, duration_s in calls:
            result = record.result
            attribution = record.attribution
            series_key = (
                result.status,
                record.service_name,
                record.provider or None,
                record.model or None,
                record.operation or None,
                *[attribution.get(k) or None for k in dimension_keys],
                *[attribution.get(k) or None for k in high_keys],
                record.error_type or None,
            )
            series = series_of.get(series_key)
            if series is None:
                series = series_of[series_key] = _Series(len(series_of), self._dimensions(record))
            add(0, series, None, 1, record)
            status = result.status
            if status != unpriced and result.amount > _ZERO:
                add(1, series, result.currency, result.amount, record)
            if status != priced:
                add(2, series, result.reason or "unknown", 1, record)
            usage = record.usage
            llm = record.kind == "llm"
            if usage is not None:
                for token_type, count, histogram in _token_counts(usage, llm):
                    add(3, series, token_type, count, record)
                    if histogram:
                        token_dims = series.with_extra(3, token_type)
                        observations.append((self._token_usage, count, token_dims, record))
            if duration_s is not None and llm and duration_s >= 0:
                observations.append((self._duration, duration_s, series.dims, record))
        self._observe(observations, sampled)
        counters = (self._calls, self._spend, self._unpriced, self._tokens)
        for (kind, _, extra), (value, record, series, _) in sums.items():
            amount = float(value) if isinstance(value, Decimal) else value
            dims = series.with_extra(kind, extra)  # type: ignore[arg-type]
            counters[kind].add(amount, dims, context=_span_context(record, sampled))  # type: ignore[arg-type]

    def _observe(self, observations: list[_Observation], sampled: bool = True) -> None:
        """Histogram observations in order; only the last of each (instrument, series, bucket)
        carries its span context (see ``record_many``)."""
        last: dict[tuple[int, int, int], int] = {}
        boundaries = {
            id(self._token_usage): TOKEN_USAGE_BUCKETS,
            id(self._duration): OPERATION_DURATION_BUCKETS,
        }
        for index, (instrument, value, dims, _) in enumerate(observations):
            last[(id(instrument), id(dims), bisect_left(boundaries[id(instrument)], value))] = index
        carriers = set(last.values())
        for index, (instrument, value, dims, record) in enumerate(observations):
            ctx = _span_context(record, sampled) if index in carriers else _NO_SPAN
            instrument.record(value, dims, context=ctx)


class _Series:
    """One batch series of ``record_many``: its dimensions and the variants counters add to them."""

    __slots__ = ("dims", "extras", "index")

    _EXTRA_KEYS = ("", sc.COST_CURRENCY, sc.COST_REASON, sc.GEN_AI_TOKEN_TYPE)
    """The attribute each counter kind of ``record_many`` adds (calls add none)."""

    def __init__(self, index: int, dims: dict[str, AttributeValue]) -> None:
        self.index = index
        self.dims = dims
        self.extras: dict[tuple[int, str], dict[str, AttributeValue]] = {}

    def with_extra(self, kind: int, extra: str | None) -> dict[str, AttributeValue]:
        """``dims`` plus the kind's own attribute (currency, reason, token type), built once."""
        if extra is None:
            return self.dims
        key = (kind, extra)
        dims = self.extras.get(key)
        if dims is None:
            dims = self.extras[key] = {**self.dims, self._EXTRA_KEYS[kind]: extra}
        return dims


def _token_counts(usage: TokenUsage, llm: bool) -> Iterator[tuple[str, int, bool]]:
    """``(gen_ai.token.type, count, histogram)`` for each non-zero count the metrics carry;
    ``histogram``: the count is also a ``gen_ai.client.token.usage`` observation (semconv
    records input and output tokens of model calls only)."""
    for token_type, count in (
        ("input", usage.input_tokens),
        ("output", usage.output_tokens),
        ("cache_read", usage.cache_read_tokens),
        ("cache_write", usage.cache_write_tokens),
        ("reasoning", usage.reasoning_tokens),
    ):
        if count:
            yield token_type, count, llm and token_type in ("input", "output")
