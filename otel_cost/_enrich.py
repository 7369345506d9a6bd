"""Pure steps of span enrichment: price a call, turn the result into attributes, copy the span.

Kept apart from :mod:`otel_cost.processor` so each step is a small function that can be tested
(and reused) without an SDK pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.util.types import AttributeValue

from otel_cost import semconv as sc
from otel_cost.estimate import estimate_usage
from otel_cost.pricing.types import CostResult, TokenUsage, unpriced
from otel_cost.usage import CallFacts

MIRRORS: frozenset[str] = frozenset({"logfire", "openlit", "openinference"})
"""Optional copies of the cost under other tools' names: ``operation.cost`` (Logfire),
``gen_ai.usage.cost`` (OpenLIT), ``llm.cost.total``/``prompt``/``completion`` (OpenInference)."""

_INPUT_SIDE = frozenset(
    {"input", "cache_read", "cache_write", "cache_write_1h", "input_audio", "input_image"}
)
_OUTPUT_SIDE = frozenset({"output", "reasoning", "output_audio"})
_SECRET_PARAM = re.compile(r"(key|token|secret|sig|signature|password|passwd|auth|credential)", re.I)
REDACTED = "REDACTED"
_BREAKDOWN_KEYS: dict[str, str] = {}  # component -> attribute name, built once per component


class Catalog(Protocol):
    """What the processor needs of :class:`otel_cost.pricing.PriceCatalog`."""

    def price_tokens(
        self,
        model: str,
        usage: TokenUsage,
        *,
        provider: str | None = None,
        at: int | None = None,
        service_tier: str | None = None,
        attribution: Mapping[str, str] | None = None,
    ) -> CostResult: ...

    def price_http(
        self,
        *,
        host: str,
        method: str,
        path: str,
        at: int | None = None,
        units: int | None = None,
        attribution: Mapping[str, str] | None = None,
    ) -> CostResult | None: ...


class Priced:
    """The outcome of pricing one span."""

    __slots__ = ("estimated", "result", "usage")

    def __init__(self, result: CostResult, usage: TokenUsage | None, estimated: bool = False) -> None:
        self.result = result
        self.usage = usage
        self.estimated = estimated


def price_llm(
    facts: CallFacts,
    attrs: Mapping[str, object],
    catalog: Catalog,
    *,
    at_ns: int | None,
    attribution: Mapping[str, str],
    estimate: bool,
) -> Priced:
    """Price an LLM call: provider-reported cost as is, else usage (estimated when absent) x catalog."""
    if facts.usage_error:
        return Priced(unpriced(facts.usage_error, provider=facts.provider, model=facts.model), None)
    usage, estimated = facts.usage, False
    if usage is None and estimate:
        usage = estimate_usage(attrs, facts.model, facts.operation)
        estimated = usage is not None
    if facts.provider_cost is not None:
        result = CostResult(
            status="priced",
            amount=facts.provider_cost,
            breakdown={},
            provider=facts.provider,
            model=facts.model,
            source="provider",
        )
        return Priced(result, usage, estimated)
    if usage is None:
        return Priced(unpriced("no_usage", provider=facts.provider, model=facts.model), None)
    model = facts.model
    if not model:
        return Priced(unpriced("no_model", provider=facts.provider), usage, estimated)
    result = catalog.price_tokens(
        model,
        usage,
        provider=facts.provider,
        at=at_ns,
        service_tier=facts.service_tier,
        attribution=attribution,
    )
    return Priced(result, usage, estimated)


def price_http(
    facts: CallFacts, catalog: Catalog, at_ns: int | None, attribution: Mapping[str, str]
) -> Priced | None:
    """Price an HTTP client call by the catalog's API rules; ``None`` when it is not a paid API."""
    if facts.http_host is None or facts.http_method is None:
        return None
    result = catalog.price_http(
        host=facts.http_host,
        method=facts.http_method,
        path=facts.http_path or "/",
        at=at_ns,
        units=facts.http_units,
        attribution=attribution,
    )
    return None if result is None else Priced(result, None)


def _side_sum(breakdown: Mapping[str, Decimal], side: frozenset[str]) -> Decimal:
    return sum((v for k, v in breakdown.items() if k in side), Decimal(0))


def usage_attributes(attrs: Mapping[str, object], usage: TokenUsage) -> dict[str, AttributeValue]:
    """Token counts under the current ``gen_ai.usage.*`` names the span does not carry yet."""
    out: dict[str, AttributeValue] = {}
    for key, value in (
        (sc.GEN_AI_USAGE_INPUT_TOKENS, usage.input_tokens),
        (sc.GEN_AI_USAGE_OUTPUT_TOKENS, usage.output_tokens),
        (sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, usage.cache_read_tokens),
        (sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, usage.cache_write_tokens),
        (sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, usage.reasoning_tokens),
    ):
        if key not in attrs and (
            value or key in (sc.GEN_AI_USAGE_INPUT_TOKENS, sc.GEN_AI_USAGE_OUTPUT_TOKENS)
        ):
            out[key] = value
    # A source in Anthropic's raw convention: the span's input excludes the cache; correct it.
    current = attrs.get(sc.GEN_AI_USAGE_INPUT_TOKENS)
    if isinstance(current, int) and current != usage.input_tokens:
        out[sc.GEN_AI_USAGE_INPUT_TOKENS] = usage.input_tokens
    return out


def cost_attributes(
    facts: CallFacts,
    priced: Priced,
    attrs: Mapping[str, object],
    mirrors: Iterable[str] = (),
) -> dict[str, AttributeValue]:
    """The ``cost.*`` attributes (and token/mirror attributes) one priced call gets."""
    result = priced.result
    out: dict[str, AttributeValue] = {sc.COST_STATUS: result.status}
    if result.reason:
        out[sc.COST_REASON] = result.reason
    if priced.usage is not None and facts.kind == "llm":
        out.update(usage_attributes(attrs, priced.usage))
    if priced.estimated:
        out[sc.COST_USAGE_ESTIMATED] = True
    if not result.priced:
        return out
    amount = float(result.amount)
    out[sc.COST_AMOUNT] = amount
    out[sc.COST_CURRENCY] = result.currency
    out[sc.COST_SOURCE] = result.source
    for component, value in result.breakdown.items():
        key = _BREAKDOWN_KEYS.get(component)
        if key is None:
            key = _BREAKDOWN_KEYS[component] = f"{sc.COST_BREAKDOWN}.{component}"
        out[key] = float(value)
    if result.price_ref:
        out[sc.COST_PRICE_REF] = result.price_ref
    if facts.kind == "llm":
        out[sc.GEN_AI_USAGE_COST_AMOUNT] = amount
        out[sc.GEN_AI_USAGE_COST_CURRENCY] = result.currency
        out[sc.GEN_AI_USAGE_COST_SOURCE] = result.source
    for mirror in mirrors:
        if mirror == "logfire":
            out[sc.OPERATION_COST] = amount
        elif mirror == "openlit":
            out[sc.GEN_AI_USAGE_COST] = amount
        elif mirror == "openinference":
            out[sc.LLM_COST_TOTAL] = amount
            if result.breakdown:
                out[sc.LLM_COST_PROMPT] = float(_side_sum(result.breakdown, _INPUT_SIDE))
                out[sc.LLM_COST_COMPLETION] = float(_side_sum(result.breakdown, _OUTPUT_SIDE))
    return out


def redact_url(url: str) -> str:
    """``url`` without userinfo and with key-like query values replaced by ``REDACTED``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}:{REDACTED}@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.search(k) for k, _ in pairs):
            query = urlencode([(k, REDACTED if _SECRET_PARAM.search(k) else v) for k, v in pairs])
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redacted_urls(attrs: Mapping[str, object]) -> dict[str, AttributeValue]:
    """Replacements for ``url.full`` / ``http.url`` values that carry credentials."""
    out: dict[str, AttributeValue] = {}
    for key in (sc.URL_FULL, sc.HTTP_URL):
        value = attrs.get(key)
        if isinstance(value, str):
            clean = redact_url(value)
            if clean != value:
                out[key] = clean
    return out


class EnrichedSpan(ReadableSpan):
    """A finished span's copy with attributes added, reporting the original's dropped count.

    The SDK reads ``dropped_attributes`` (OTLP ``dropped_attributes_count``) from the span's
    ``BoundedAttributes``; the copy holds a plain dict (building ``BoundedAttributes`` re-validates
    every value, ~70 us a span), so it carries the count itself. Our attributes are not held to
    the span's attribute limit: nothing the SDK kept is evicted for them, so they add no drops and
    the count is exactly the SDK's.
    """

    _copied_dropped_attributes: int = 0

    @property
    def dropped_attributes(self) -> int:
        return self._copied_dropped_attributes


def with_attributes(
    span: ReadableSpan, extra: Mapping[str, AttributeValue], current: Mapping[str, object] | None = None
) -> ReadableSpan:
    """A copy of ``span`` with ``extra`` merged into its attributes (the original is not touched),
    keeping its dropped attribute, event and link counts.
    ``current``: the span's attributes already copied to a dict, to save copying them again."""
    attributes: dict[str, object] = dict(current if current is not None else (span.attributes or {}))
    attributes.update(extra)
    events = span._events if isinstance(span._events, BoundedList) else span.events  # pyright: ignore[reportPrivateUsage]
    links = span._links if isinstance(span._links, BoundedList) else span.links  # pyright: ignore[reportPrivateUsage]
    copy = EnrichedSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,  # pyright: ignore[reportArgumentType]
        events=events,
        links=links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
    copy._copied_dropped_attributes = span.dropped_attributes  # pyright: ignore[reportPrivateUsage]
    return copy
