"""The per-span work of the receiver, on protobuf messages as decoded (never SDK spans).

``SpanPipeline.process(request)`` walks an ``ExportTraceServiceRequest`` once:

1. validates each span's ids and removes malformed spans from the request (they are reported
   back as ``rejected_spans``; the rest of the batch is kept, as the OTLP spec's partial
   success asks);
2. reads only the attribute keys ``otel_cost.usage`` may read (``READ_KEYS``/``READ_PREFIXES``)
   plus the ``cost.*`` keys of spans the SDK processor already priced: turning an attribute
   into a Python value costs far more than decoding it, so every other key is skipped by name;
3. prices billable spans with the same catalog and attribution rules as the SDK processor, or
   keeps the cost the processor already wrote;
4. when the request is to be forwarded, appends the ``cost.*`` attributes to the span protobuf
   in place (and, on http client spans, replaces a ``url.full``/``http.url`` that carries
   credentials with its redacted form, as the SDK processor does), so re-serialising the
   request forwards the enriched trace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otel_cost import semconv
from otel_cost._enrich import Catalog, Priced, cost_attributes, price_http, price_llm, redacted_urls
from otel_cost.attribution import ATTRIBUTE_PREFIX, DEFAULT_CONFIG, AttributionConfig, resolve_attribution
from otel_cost.estimate import CONTENT_KEYS, CONTENT_PREFIXES
from otel_cost.ledger._rows import storable_amount
from otel_cost.pricing.types import CostResult, unpriced
from otel_cost.record import CostRecord, error_type_of
from otel_cost.usage import READ_KEYS, READ_PREFIXES, CallFacts, read_call

_log = logging.getLogger(__name__)

_CLIENT = Span.SpanKind.SPAN_KIND_CLIENT
_ERROR = Status.StatusCode.STATUS_CODE_ERROR
_COST_PREFIX = "cost."
_BREAKDOWN_PREFIX = semconv.COST_BREAKDOWN + "."
_SCALARS = frozenset({"string_value", "int_value", "double_value", "bool_value", "bytes_value"})
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
_MAX_TIME_NS = 2**63 - 1
"""The latest time a span may carry: OTLP's fixed64 allows more, the ledger's (and most backends')
64-bit signed columns do not (2262-04-11)."""
_INTERNAL_ERROR = "internal_error"  # the reason the catalog gives for its own failures


@dataclass(slots=True)
class ProcessedRequest:
    """What one export request produced."""

    records: list[CostRecord] = field(default_factory=list[CostRecord])
    """One record per billable span, in request order."""
    rejected_spans: int = 0
    error_message: str = ""
    """Why the first rejected span was rejected (the OTLP partial-success message)."""
    spans: int = 0
    """Spans kept (valid) in the request."""


def any_value(value: AnyValue) -> object:
    """A protobuf ``AnyValue`` as a Python value (arrays of scalars as lists; maps as None)."""
    kind = value.WhichOneof("value")
    if kind is None or kind == "kvlist_value":
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    return getattr(value, kind)


def _validate(span: Span) -> str | None:
    """Why the span is malformed, or None. Only what makes a span unusable downstream."""
    trace_id = span.trace_id
    if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
        return f"span {span.name!r}: trace_id must be 16 non-zero bytes, got {len(trace_id)} bytes"
    span_id = span.span_id
    if len(span_id) != 8 or span_id == _ZERO_SPAN:
        return f"span {span.name!r}: span_id must be 8 non-zero bytes, got {len(span_id)} bytes"
    parent = span.parent_span_id
    if parent and len(parent) != 8:
        return f"span {span.name!r}: parent_span_id must be empty or 8 bytes, got {len(parent)} bytes"
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    if start > _MAX_TIME_NS or end > _MAX_TIME_NS:
        return (
            f"span {span.name!r}: start_time_unix_nano and end_time_unix_nano must be at most 2^63-1"
            f" (int64 nanoseconds), got {start} and {end}"
        )
    if end and end < start:
        return f"span {span.name!r}: end_time_unix_nano is before start_time_unix_nano"
    return None


def _decimal(value: object) -> Decimal | None:
    """An upstream amount as a Decimal, or None when it is not a number the ledger can store."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        # repr() of a float is the shortest string that round-trips: 0.1 stays 0.1.
        amount = Decimal(repr(value) if isinstance(value, float) else value)
    except InvalidOperation:
        return None
    return amount if storable_amount(amount) else None


def already_priced(attrs: Mapping[str, object]) -> tuple[CostResult, dict[str, str]]:
    """The cost an upstream SDK processor or receiver wrote on a span, with its attribution.

    Called for spans ``usage.read_call`` marks ``already_priced`` (``cost.amount`` or
    ``cost.status`` present), which the SDK processor leaves alone too. The receiver keeps that
    cost as is rather than pricing the span again, so a span priced in the application is counted
    with the price it was given there. Without a recognised ``cost.status``, a valid
    ``cost.amount`` counts as priced; a missing amount, or one that is not a number the ledger can
    store (``storable_amount``: a huge or absurdly fine amount would fail the ledger's commit), is
    ``invalid_upstream_cost``. Breakdown values the ledger could not store are left out.
    """
    status = attrs.get(semconv.COST_STATUS)
    if status not in (semconv.COST_STATUS_VALUE_PARTIAL, semconv.COST_STATUS_VALUE_UNPRICED):
        status = semconv.COST_STATUS_VALUE_PRICED
    attribution = {
        k[len(ATTRIBUTE_PREFIX) :]: str(v)
        for k, v in attrs.items()
        if k.startswith(ATTRIBUTE_PREFIX) and v is not None
    }
    reason = attrs.get(semconv.COST_REASON)
    reason = str(reason) if reason is not None else None
    if status == semconv.COST_STATUS_VALUE_UNPRICED:
        return unpriced(reason or "unpriced_upstream"), attribution
    amount = _decimal(attrs.get(semconv.COST_AMOUNT))
    if amount is None:
        return unpriced("invalid_upstream_cost"), attribution
    breakdown = {
        k[len(_BREAKDOWN_PREFIX) :]: d
        for k, v in attrs.items()
        if k.startswith(_BREAKDOWN_PREFIX) and (d := _decimal(v)) is not None
    }
    source = attrs.get(semconv.COST_SOURCE)
    ref = attrs.get(semconv.COST_PRICE_REF)
    result = CostResult(
        status=status,
        amount=amount,
        currency=str(attrs.get(semconv.COST_CURRENCY) or "USD"),
        breakdown=breakdown,
        reason=reason,
        price_ref=str(ref) if ref is not None else None,
        source="provider" if source == semconv.COST_SOURCE_VALUE_PROVIDER else "local",
    )
    return result, attribution


class SpanPipeline:
    """Validates, prices and (optionally) enriches the spans of export requests.

    Thread-safe: it keeps no per-request state. Pricing is the SDK processor's: the same
    ``usage.read_call``, ``_enrich.price_llm``/``price_http`` (token estimation from content
    included) and ``attribution.resolve_attribution``, so any fleet gets the same numbers.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        attribution: AttributionConfig = DEFAULT_CONFIG,
        estimate: bool = True,
    ) -> None:
        self._catalog = catalog
        self._attribution = attribution
        self._estimate = estimate
        self._read_keys = READ_KEYS | frozenset(attribution.span_attributes)
        self._prefixes = (_COST_PREFIX, *READ_PREFIXES)
        self._resource_keys = frozenset(attribution.resource_attributes) | {semconv.SERVICE_NAME}

    def _read_attrs(self, attributes: Sequence[KeyValue]) -> dict[str, object]:
        # The hot loop: one pass over the KeyValues, a set lookup per key, and a value read
        # only for keys the engine uses (inlined: a call per attribute costs as much as the read).
        keys = self._read_keys
        prefixes = self._prefixes
        out: dict[str, object] = {}
        for kv in attributes:
            key = kv.key
            if key in keys or key.startswith(prefixes):
                value = kv.value
                kind = value.WhichOneof("value")
                out[key] = getattr(value, kind) if kind in _SCALARS else any_value(value)
        return out

    def _resource_attrs(self, attributes: Sequence[KeyValue]) -> dict[str, object]:
        keys = self._resource_keys
        return {kv.key: any_value(kv.value) for kv in attributes if kv.key in keys}

    def process(self, request: ExportTraceServiceRequest, *, enrich: bool) -> ProcessedRequest:
        """Validate and price every span of ``request``; drop malformed spans from it in place.

        With ``enrich``, the cost attributes of each newly priced span are written to it, so
        ``request.SerializeToString()`` is the enriched trace to forward. Never raises for span
        content: a span the engine fails on is logged and recorded as unpriced.
        """
        out = ProcessedRequest()
        records = out.records
        for resource_spans in request.resource_spans:
            resource = self._resource_attrs(resource_spans.resource.attributes)
            service = resource.get(semconv.SERVICE_NAME)
            service_name = str(service) if service is not None else "unknown_service"
            for scope_spans in resource_spans.scope_spans:
                spans = scope_spans.spans
                bad: list[int] = []
                for index, span in enumerate(spans):
                    problem = _validate(span)
                    if problem is not None:
                        bad.append(index)
                        if not out.error_message:
                            out.error_message = problem
                        continue
                    attrs = self._read_attrs(span.attributes)
                    if attrs:
                        record = self._record(span, attrs, resource, service_name, enrich)
                        if record is not None:
                            records.append(record)
                for index in reversed(bad):
                    del spans[index]
                out.rejected_spans += len(bad)
                out.spans += len(spans)
        return out

    def _record(
        self,
        span: Span,
        attrs: dict[str, object],
        resource: Mapping[str, object],
        service_name: str,
        enrich: bool,
    ) -> CostRecord | None:
        facts: CallFacts | None = None
        attribution: dict[str, str] = {}
        try:
            facts = read_call(attrs, span_kind_client=span.kind == _CLIENT)
            if facts is None:
                return None
            if facts.already_priced:
                result, attribution = already_priced(attrs)
                usage, estimated = facts.usage, bool(attrs.get(semconv.COST_USAGE_ESTIMATED))
            else:
                attribution = resolve_attribution(attrs, resource, None, self._attribution)
                priced = self._price(span, facts, attrs, attribution)
                if enrich and facts.kind != "llm":
                    # As the SDK processor does: a forwarded URL carries no credentials.
                    redacted = redacted_urls(attrs)
                    if redacted:
                        _set_attributes(span, redacted, attrs)
                if priced is None:
                    return None
                result, usage, estimated = priced.result, priced.usage, priced.estimated
                if enrich:
                    extra = cost_attributes(facts, priced, attrs)
                    for key, value in attribution.items():
                        extra.setdefault(ATTRIBUTE_PREFIX + key, value)
                    _set_attributes(span, extra, attrs)
        except Exception:  # a bug in the engine must not lose the rest of the batch
            _log.exception("pricing failed on span %r; recorded as unpriced", span.name)
            if facts is None:
                return None  # not even read: nothing says it is a billable call
            # Accounted, not dropped: it shows in cost.unpriced.calls and the ledger.
            result = unpriced(_INTERNAL_ERROR, provider=facts.provider, model=facts.model)
            usage, estimated = facts.usage, False
        llm = facts.kind == "llm"
        failed = span.status.code == _ERROR
        return CostRecord(
            trace_id=span.trace_id,
            span_id=span.span_id,
            start_time_ns=span.start_time_unix_nano,
            end_time_ns=span.end_time_unix_nano,
            kind=facts.kind,
            result=result,
            service_name=service_name,
            # As the SDK processor records them: an HTTP API call is named by its catalog rule.
            provider=(result.provider or facts.provider) if llm else result.provider,
            model=facts.model if llm else result.model,
            operation=facts.operation,
            usage=usage,
            attribution=attribution,
            usage_estimated=estimated,
            error=failed,
            error_type=_error_type(span) if failed else None,
        )

    def _price(
        self, span: Span, facts: CallFacts, attrs: dict[str, object], attribution: Mapping[str, str]
    ) -> Priced | None:
        at = span.start_time_unix_nano or None
        if facts.kind == "http":
            return price_http(facts, self._catalog, at, attribution)
        if self._estimate and facts.usage is None and not facts.usage_error:
            # No usage on the span: read its content too (a second pass, only for these spans)
            # so tokens can be counted locally, as the SDK processor does (even beside a
            # provider-reported cost: price_llm still reports the estimated usage then).
            for kv in span.attributes:
                if kv.key in CONTENT_KEYS or kv.key.startswith(CONTENT_PREFIXES):
                    attrs[kv.key] = any_value(kv.value)
        return price_llm(
            facts, attrs, self._catalog, at_ns=at, attribution=attribution, estimate=self._estimate
        )


def _error_type(span: Span) -> str:
    """A failed span's semconv ``error.type`` (not among the keys read for every span: looked up
    only for the few spans with status ERROR)."""
    for kv in span.attributes:
        if kv.key == semconv.ERROR_TYPE:
            return error_type_of(any_value(kv.value))
    return error_type_of(None)


def _set_attributes(span: Span, attributes: Mapping[str, object], present: Mapping[str, object]) -> None:
    """Write attributes on a span protobuf: replace the value of a key it carries (keys stay
    unique, as OTLP requires), append the others."""
    for key, value in attributes.items():
        if key in present:
            for kv in span.attributes:
                if kv.key == key:
                    _write_value(kv, value)
                    break
        else:
            _write_value(span.attributes.add(key=key), value)


def _write_value(kv: KeyValue, value: object) -> None:
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    else:
        kv.value.string_value = str(value)
