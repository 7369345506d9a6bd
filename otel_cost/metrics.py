"""The cost metrics: one definition of instruments and labels, shared by the SDK processor and the
receiver.

Instruments (names from :mod:`otel_cost.semconv`, described by ``INSTRUMENTS``):

- ``cost.spend`` (counter, unit = the currency code, attribute ``cost.currency``): money spent,
  recorded for ``priced`` and ``partial`` calls only. One stream per currency, each with its own
  unit, so spend in EUR is ``cost_spend_EUR_total`` in Prometheus and never adds to USD.
- ``cost.calls`` (counter): every metered call, priced or not, by ``cost.status``.
- ``cost.tokens`` (counter): tokens by ``gen_ai.token.type``: ``input`` (all input tokens,
  cached included), ``output`` (reasoning included), and the subsets ``cache_read``,
  ``cache_write`` and ``reasoning``.
- ``cost.unpriced.calls`` (counter): calls not (fully) priced, by ``cost.reason``.
- ``gen_ai.client.token.usage`` and ``gen_ai.client.operation.duration`` (histograms with the
  GenAI semconv bucket boundaries), for LLM calls.

Dimensions (``SeriesLabels``): ``gen_ai.provider.name`` (the semconv well-known value:
``aws.bedrock``, ``gcp.vertex_ai``, ... see ``provider_label``), ``gen_ai.request.model`` (the
model asked for), ``gen_ai.response.model`` (the model that answered, when the span says),
``gen_ai.operation.name``, ``cost.status``, ``service.name`` and ``cost.attribution.<key>`` for
the configured ``dimension_keys``. High-cardinality keys (user, session) are dimensions only when
listed in ``high_cardinality_keys``; each is capped at ``cardinality_cap`` distinct values, later
values fold into ``_other``.

Bounds: every label value is cut to ``MAX_LABEL_LENGTH`` characters; ``error.type`` and
``cost.reason`` keep ``ERROR_TYPE_CAP`` / ``REASON_CAP`` distinct values (later ones fold into
``_OTHER`` / ``_other``); a currency that is not a three-letter code, or past ``MAX_CURRENCIES``,
is counted under ``XXX`` (ISO 4217's "no currency").

Failed calls (span status ERROR) also carry the semconv ``error.type`` (the span's own value,
else ``_OTHER``; see :func:`otel_cost.record.error_type_of`) on every instrument, so "spend on
failed calls" is ``cost.spend`` with ``error.type`` set; successful calls have no such key.

``CostMetrics`` records into an OpenTelemetry ``MeterProvider`` (the SDK processor's, i.e. the
user's), with the SDK's instruments and exemplar reservoirs: each measurement is recorded under a
context holding the record's span context, so the exemplar links the point to the trace. The
receiver aggregates the same measurements in its own tables
(:mod:`otel_cost.receiver.metric_table`).
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import Counter, Histogram, MeterProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.util.types import AttributeValue

from otel_cost import semconv as sc
from otel_cost.pricing.types import CostResult, TokenUsage
from otel_cost.record import ERROR_TYPE_OTHER, CostRecord

DEFAULT_DIMENSION_KEYS: tuple[str, ...] = ("project", "cost_center", "tenant", "environment", "agent")
OVERFLOW_VALUE = "_other"
"""Value a capped dimension takes once its cap of distinct values was reached."""
ERROR_TYPE_CAP = 100
"""Distinct ``error.type`` values kept as dimensions; later ones are recorded as ``_OTHER``."""
REASON_CAP = 100
"""Distinct ``cost.reason`` values kept; later ones are recorded as ``_other``."""
MAX_LABEL_LENGTH = 256
"""The most characters of any label value (service, model, attribution, reason, error type...);
longer values are cut (as attribution values are, ``attribution.MAX_VALUE_LENGTH``)."""
MAX_CURRENCIES = 16
"""Distinct currencies with their own ``cost.spend`` stream; later ones are counted as ``XXX``."""
NO_CURRENCY = "XXX"
"""The ``cost.spend`` unit of an amount whose currency is not a three-letter code (ISO 4217)."""
_CURRENCY = re.compile(r"[A-Z]{3}")

# GenAI semconv advisory bucket boundaries (gen-ai-metrics.md).
TOKEN_USAGE_BUCKETS: tuple[float, ...] = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
OPERATION_DURATION_BUCKETS: tuple[float, ...] = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip

TOKEN_TYPES: tuple[str, ...] = ("input", "output", "cache_read", "cache_write", "reasoning")
"""``gen_ai.token.type`` values of ``cost.tokens``, in ``token_counts`` order; the first two are
also ``gen_ai.client.token.usage`` observations (of LLM calls)."""

WELL_KNOWN_PROVIDERS: tuple[str, ...] = (
    "openai", "anthropic", "aws.bedrock", "azure.ai.inference", "azure.ai.openai", "cohere", "deepseek",
    "gcp.gemini", "gcp.gen_ai", "gcp.vertex_ai", "groq", "ibm.watsonx.ai", "mistral_ai", "moonshot_ai",
    "perplexity", "x_ai",
)  # fmt: skip
"""The well-known ``gen_ai.provider.name`` values of the GenAI semantic conventions."""

PROVIDER_LABELS: Mapping[str, str] = {
    **{name: name for name in WELL_KNOWN_PROVIDERS},
    # Older and instrumentation-specific spellings of the same providers.
    "az.ai.openai": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "azure-openai": "azure.ai.openai",
    "az.ai.inference": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "amazon-bedrock": "aws.bedrock",
    "amazon_bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "vertex-ai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "google_genai": "gcp.gen_ai",
    "google-genai": "gcp.gen_ai",
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "x-ai": "x_ai",
    "moonshot": "moonshot_ai",
    "moonshotai": "moonshot_ai",
    "watsonx": "ibm.watsonx.ai",
    # Catalog provider ids (genai-prices) with a semconv name, for calls whose span named none.
    "aws": "aws.bedrock",
    "azure": "azure.ai.openai",
    "google": "gcp.gen_ai",
}
"""Provider names as spans and the catalog spell them (lower case) -> the semconv value."""


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    name: str
    unit: str
    description: str


SPEND = InstrumentSpec(sc.METRIC_COST_SPEND, "USD", "Money spent on metered calls.")
"""``unit`` is the currency of each stream; USD is only the first one's."""
CALLS = InstrumentSpec(sc.METRIC_COST_CALLS, "{call}", "Metered calls seen, priced or not.")
TOKENS = InstrumentSpec(sc.METRIC_COST_TOKENS, "{token}", "Tokens consumed by metered calls.")
UNPRICED = InstrumentSpec(
    sc.METRIC_COST_UNPRICED_CALLS, "{call}", "Calls that could not be (fully) priced, by reason."
)
TOKEN_USAGE = InstrumentSpec(
    sc.METRIC_GEN_AI_CLIENT_TOKEN_USAGE, "{token}", "Number of input and output tokens used."
)
DURATION = InstrumentSpec(sc.METRIC_GEN_AI_CLIENT_OPERATION_DURATION, "s", "GenAI operation duration.")

_ZERO = Decimal(0)
_PRICED = sc.COST_STATUS_VALUE_PRICED
_UNPRICED = sc.COST_STATUS_VALUE_UNPRICED


def label(value: object) -> str:
    """A label value: text, cut to ``MAX_LABEL_LENGTH`` characters."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_LABEL_LENGTH else text[:MAX_LABEL_LENGTH]


def provider_label(record: CostRecord) -> str | None:
    """``gen_ai.provider.name`` as the conventions define it: the span's provider name when it is
    a well-known value or one of its spellings, else the catalog provider's semconv name, else
    the name as given (lower case)."""
    for name in (record.provider_name, record.provider):
        if name:
            key = name.strip().lower()
            known = PROVIDER_LABELS.get(key)
            if known is not None:
                return known
    name = record.provider_name or record.provider
    return label(name.strip().lower()) if name else None


def spends(result: CostResult) -> bool:
    """Whether the call adds to ``cost.spend`` (priced or partial, a positive amount)."""
    return result.status != _UNPRICED and result.amount > _ZERO


def token_counts(usage: TokenUsage) -> tuple[int, int, int, int, int]:
    """The counts of ``TOKEN_TYPES``, in order."""
    return (
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.reasoning_tokens,
    )


class _Capped:
    """At most ``cap`` distinct values; later ones become ``overflow``. Thread-safe."""

    __slots__ = ("_cap", "_lock", "_overflow", "_seen")

    def __init__(self, cap: int, overflow: str) -> None:
        self._cap = cap
        self._overflow = overflow
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) >= self._cap:
                return self._overflow
            self._seen.add(value)
            return value


class SeriesLabels:
    """Turns records into the label sets of their series, with every cap of the module docstring.

    Thread-safe. A bad constructor argument raises ``ValueError``; odd records never raise
    (missing provider or model are left out of the labels).
    """

    def __init__(
        self,
        *,
        dimension_keys: Iterable[str] = DEFAULT_DIMENSION_KEYS,
        high_cardinality_keys: Iterable[str] = (),
        cardinality_cap: int = 1000,
    ) -> None:
        if cardinality_cap < 1:
            raise ValueError(f"cardinality_cap must be >= 1, got {cardinality_cap}")
        self.dimension_keys = tuple(dimension_keys)
        self.high_keys = tuple(k for k in high_cardinality_keys if k not in self.dimension_keys)
        self._high = {k: _Capped(cardinality_cap, OVERFLOW_VALUE) for k in self.high_keys}
        self._error_types = _Capped(ERROR_TYPE_CAP, ERROR_TYPE_OTHER)
        self._reasons = _Capped(REASON_CAP, OVERFLOW_VALUE)
        self._currencies = _Capped(MAX_CURRENCIES, NO_CURRENCY)

    def key(self, record: CostRecord) -> tuple[object, ...]:
        """What ``dims`` depends on, cheap to build: equal keys give equal labels."""
        attribution = record.attribution
        return (
            record.result.status,
            record.service_name,
            record.provider_name,
            record.provider,
            record.request_model,
            record.response_model,
            record.model,
            record.operation,
            record.error_type,
            *[attribution.get(k) for k in self.dimension_keys],
            *[attribution.get(k) for k in self.high_keys],
        )

    def dims(self, record: CostRecord) -> dict[str, AttributeValue]:
        """The labels every instrument records ``record`` with (each adds its own, see ``extra``)."""
        dims: dict[str, AttributeValue] = {
            sc.COST_STATUS: record.result.status,
            sc.SERVICE_NAME: label(record.service_name),
        }
        provider = provider_label(record)
        if provider:
            dims[sc.GEN_AI_PROVIDER_NAME] = provider
        request_model = record.request_model or record.model
        if request_model:
            dims[sc.GEN_AI_REQUEST_MODEL] = label(request_model)
        if record.response_model:
            dims[sc.GEN_AI_RESPONSE_MODEL] = label(record.response_model)
        if record.operation:
            dims[sc.GEN_AI_OPERATION_NAME] = label(record.operation)
        attribution = record.attribution
        for key in self.dimension_keys:
            value = attribution.get(key)
            if value:
                dims[f"{sc.COST_ATTRIBUTION}.{key}"] = label(value)
        for key in self.high_keys:
            value = attribution.get(key)
            if value:
                dims[f"{sc.COST_ATTRIBUTION}.{key}"] = self._high[key](label(value))
        if record.error_type:
            dims[sc.ERROR_TYPE] = self._error_types(label(record.error_type))
        return dims

    def currency(self, code: str) -> str:
        """The ``cost.spend`` unit (and ``cost.currency`` label) of an amount in ``code``."""
        if not isinstance(code, str) or not _CURRENCY.fullmatch(code):  # pyright: ignore[reportUnnecessaryIsInstance]
            return NO_CURRENCY
        return self._currencies(code)

    def reason(self, result: CostResult) -> str:
        """The ``cost.reason`` label of a call that was not (fully) priced."""
        return self._reasons(label(result.reason or "unknown"))


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


_Observation = tuple[Histogram, float | int, dict[str, AttributeValue], CostRecord]
_NO_SPAN = trace.set_span_in_context(trace.INVALID_SPAN)
"""A context whose span is invalid: no exemplar is offered from it (and, unlike an empty one,
the SDK does not swap it for the current context)."""


class CostMetrics:
    """Records :class:`~otel_cost.record.CostRecord` s as cost metrics on ``meter_provider``.

    Thread-safe. ``record`` never raises for odd records; a bad constructor argument raises
    ``ValueError``.
    """

    def __init__(
        self,
        meter_provider: MeterProvider,
        *,
        dimension_keys: Iterable[str] = DEFAULT_DIMENSION_KEYS,
        high_cardinality_keys: Iterable[str] = (),
        cardinality_cap: int = 1000,
    ) -> None:
        self.labels = SeriesLabels(
            dimension_keys=dimension_keys,
            high_cardinality_keys=high_cardinality_keys,
            cardinality_cap=cardinality_cap,
        )
        self._meter = meter = meter_provider.get_meter("otel_cost")
        self._spend: dict[str, Counter] = {}
        self._lock = threading.Lock()
        self._calls = meter.create_counter(CALLS.name, unit=CALLS.unit, description=CALLS.description)
        self._tokens = meter.create_counter(TOKENS.name, unit=TOKENS.unit, description=TOKENS.description)
        self._unpriced = meter.create_counter(
            UNPRICED.name, unit=UNPRICED.unit, description=UNPRICED.description
        )
        self._token_usage = meter.create_histogram(
            TOKEN_USAGE.name,
            unit=TOKEN_USAGE.unit,
            description=TOKEN_USAGE.description,
            explicit_bucket_boundaries_advisory=list(TOKEN_USAGE_BUCKETS),
        )
        self._duration = meter.create_histogram(
            DURATION.name,
            unit=DURATION.unit,
            description=DURATION.description,
            explicit_bucket_boundaries_advisory=list(OPERATION_DURATION_BUCKETS),
        )

    def _spend_counter(self, currency: str) -> Counter:
        """The ``cost.spend`` stream of one currency (its unit), created on first use."""
        counter = self._spend.get(currency)
        if counter is None:
            with self._lock:
                counter = self._spend.get(currency)
                if counter is None:
                    counter = self._spend[currency] = self._meter.create_counter(
                        SPEND.name, unit=currency, description=SPEND.description
                    )
        return counter

    def _measurements(
        self, record: CostRecord, duration_s: float | None, dims: dict[str, AttributeValue]
    ) -> Iterator[tuple[Counter | Histogram, Decimal | float | int, dict[str, AttributeValue]]]:
        """``(instrument, value, attributes)`` of every measurement one call makes (spend as the
        exact ``Decimal``)."""
        result = record.result
        labels = self.labels
        yield self._calls, 1, dims
        if spends(result):
            currency = labels.currency(result.currency)
            yield self._spend_counter(currency), result.amount, {**dims, sc.COST_CURRENCY: currency}
        if result.status != _PRICED:
            yield self._unpriced, 1, {**dims, sc.COST_REASON: labels.reason(result)}
        llm = record.kind == "llm"
        if record.usage is not None:
            for index, count in enumerate(token_counts(record.usage)):
                if count:
                    token_dims = {**dims, sc.GEN_AI_TOKEN_TYPE: TOKEN_TYPES[index]}
                    yield self._tokens, count, token_dims
                    if llm and index < 2:
                        yield self._token_usage, count, token_dims
        if duration_s is not None and llm and duration_s >= 0:
            yield self._duration, duration_s, dims

    def record(self, record: CostRecord, duration_s: float | None = None, *, sampled: bool = True) -> None:
        """Record one metered call.

        ``duration_s`` feeds ``gen_ai.client.operation.duration`` (LLM calls only; nothing is
        recorded without it). ``sampled=False`` marks the record's trace as not exported, so no
        exemplar points at it.
        """
        ctx = _span_context(record, sampled)
        for instrument, value, dims in self._measurements(record, duration_s, self.labels.dims(record)):
            if isinstance(instrument, Counter):
                instrument.add(float(value) if isinstance(value, Decimal) else value, dims, context=ctx)
            else:
                instrument.record(value, dims, context=ctx)  # type: ignore[arg-type]

    def record_many(self, calls: Iterable[tuple[CostRecord, float | None]], *, sampled: bool = True) -> None:
        """Record many ``(record, duration_s)`` calls: the same totals as ``record`` on each.

        Counters are summed per stream first (spend in ``Decimal``, one float per stream), so each
        stream costs one SDK call per batch; its exemplar is the last call's span. Histograms take
        one observation per call, but only the last of a batch in each stream and bucket carries
        its span (the one the SDK's bucket-aligned reservoir keeps), so the exemplars are those
        per-call recording leaves. Labels are built once per distinct series in the batch.
        """
        dims_of: dict[tuple[object, ...], dict[str, AttributeValue]] = {}
        sums: dict[tuple[int, tuple[tuple[str, AttributeValue], ...]], list[object]] = {}
        observations: list[_Observation] = []
        for record, duration_s in calls:
            key = self.labels.key(record)
            dims = dims_of.get(key)
            if dims is None:
                dims = dims_of[key] = self.labels.dims(record)
            for instrument, value, point_dims in self._measurements(record, duration_s, dims):
                if isinstance(instrument, Counter):
                    slot = (id(instrument), tuple(point_dims.items()))
                    entry = sums.get(slot)
                    if entry is None:
                        sums[slot] = [instrument, value, point_dims, record]
                    else:
                        entry[1] = entry[1] + value  # type: ignore[operator]
                        entry[3] = record
                else:
                    observed = float(value) if isinstance(value, Decimal) else value
                    observations.append((instrument, observed, point_dims, record))  # type: ignore[arg-type]
        self._observe(observations, sampled)
        for instrument, value, dims, record in sums.values():
            amount = float(value) if isinstance(value, Decimal) else value
            instrument.add(amount, dims, context=_span_context(record, sampled))  # type: ignore[union-attr, arg-type]

    def _observe(
        self,
        observations: list[_Observation],
        sampled: bool,
    ) -> None:
        """Histogram observations in order; only the last of each (instrument, series, bucket)
        carries its span context (see ``record_many``)."""
        last: dict[tuple[int, tuple[tuple[str, AttributeValue], ...], int], int] = {}
        for index, (instrument, value, dims, _) in enumerate(observations):
            bounds = TOKEN_USAGE_BUCKETS if instrument is self._token_usage else OPERATION_DURATION_BUCKETS
            last[(id(instrument), tuple(dims.items()), bisect_left(bounds, value))] = index
        carriers = set(last.values())
        for index, (instrument, value, dims, record) in enumerate(observations):
            ctx = _span_context(record, sampled) if index in carriers else _NO_SPAN
            instrument.record(value, dims, context=ctx)
