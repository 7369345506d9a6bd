"""Read the facts of one metered call from span attributes of any naming convention.

``read_call(attrs)`` returns a :class:`CallFacts` (provider, models, operation, token usage in
the semconv convention, HTTP request facts) or ``None`` for spans that are not billable calls.
The receiver reads only :data:`READ_KEYS` from protobuf spans, so every key read here is listed.

Attribute names, first present wins per field (one ranked table, ``_FIELD_KEYS``):

- input / output: ``gen_ai.usage.input_tokens`` / ``output_tokens`` (current semconv), the
  legacy ``gen_ai.usage.prompt_tokens`` / ``completion_tokens``, OpenLLMetry's
  ``llm.usage.prompt_tokens`` / ``completion_tokens``, OpenInference's ``llm.token_count.prompt``
  / ``completion``;
- cache reads: ``gen_ai.usage.cache_read.input_tokens``, OpenLLMetry's
  ``gen_ai.usage.cache_read_input_tokens``, OpenInference's
  ``llm.token_count.prompt_details.cache_read``, then its older ``cache_input``;
- cache writes: ``gen_ai.usage.cache_write.input_tokens`` (semconv's current name), the
  ``gen_ai.usage.cache_creation.input_tokens`` it replaced, OpenLLMetry's
  ``gen_ai.usage.cache_creation_input_tokens``, OpenInference's ``...prompt_details.cache_write``;
- reasoning: ``gen_ai.usage.reasoning.output_tokens``, OpenLLMetry's
  ``gen_ai.usage.reasoning_tokens`` / ``llm.usage.reasoning_tokens``, OpenInference's
  ``llm.token_count.completion_details.reasoning``;
- total (read only to find unreported Gemini thinking, below): ``gen_ai.usage.total_tokens``,
  ``llm.usage.total_tokens``, ``llm.token_count.total``;
- models: ``gen_ai.request.model``, OpenInference's ``llm.request.model_name``,
  ``llm.model_name``, ``embedding.model_name``; response: ``gen_ai.response.model``,
  ``llm.response.model_name``.

What the counts mean differs per instrumentation: :mod:`otel_cost.conventions` says, per
instrumentation scope and provider, whether input includes cache reads and writes (semconv: it
does; OpenLLMetry's Bedrock spans: it does not, so they are added). For a scope it does not name,
cache tokens above the input count (impossible if input included them) are added to it, and
reasoning above output to output. A Google Gemini call that reports no reasoning but a total
above input + output gets the gap as reasoning tokens (thinking billed as output), flagged
``reasoning_inferred``. docs/usage.md has the whole table.

Counts that are negative, non-numeric, fractional or absurd (> ``MAX_TOKENS``) make the usage
invalid: ``usage`` is ``None`` and ``usage_error == "invalid_usage"``; nothing is guessed.

A provider-reported cost (``gen_ai.usage.cost.amount`` with ``gen_ai.usage.cost.source=provider``)
that is not a number from 0 to ``MAX_PROVIDER_COST`` is not used: the call is priced from its
usage and the first such value is logged.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import urlsplit

from otel_cost import semconv as sc
from otel_cost.conventions import bills_thinking_as_output, convention_for
from otel_cost.failure import FAILURE_KEYS, Failure, read_failure
from otel_cost.pricing._entries import STANDARD_TIERS
from otel_cost.pricing.types import TokenUsage

_logger = logging.getLogger(__name__)

MAX_TOKENS = 10**9
"""Token counts above this are absurd for one call and make the usage invalid."""

MAX_PROVIDER_COST = Decimal(1_000_000)
"""A provider-reported cost above this (USD, one call) is not a cost. The dearest published token
price (o1-pro output, $600 per 1M tokens, https://openai.com/api/pricing, genai-prices 0.2.3)
times ``MAX_TOKENS`` gives $600,000, the most a call we would price from its usage can cost; a
reported amount beyond that is a unit or parsing error (a value past float range, ``"1e400"``,
became ``inf`` and made the SDK drop a whole batch's ``cost.spend``)."""

INVALID_USAGE = "invalid_usage"

INVALID_UNITS = -1
"""``CallFacts.http_units`` of a span whose ``cost.units`` is present but not a valid count."""

_INPUT_KEYS = (
    sc.GEN_AI_USAGE_INPUT_TOKENS,
    sc.GEN_AI_USAGE_PROMPT_TOKENS,
    sc.OPENLLMETRY_LLM_USAGE_PROMPT_TOKENS,
    sc.LLM_TOKEN_COUNT_PROMPT,
)
_OUTPUT_KEYS = (
    sc.GEN_AI_USAGE_OUTPUT_TOKENS,
    sc.GEN_AI_USAGE_COMPLETION_TOKENS,
    sc.OPENLLMETRY_LLM_USAGE_COMPLETION_TOKENS,
    sc.LLM_TOKEN_COUNT_COMPLETION,
)
_CACHE_READ_KEYS = (
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    sc.OPENLLMETRY_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    sc.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ,
    sc.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_INPUT,
)
_CACHE_WRITE_KEYS = (
    sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    sc.OPENLLMETRY_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    sc.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE,
)
_REASONING_KEYS = (
    sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    sc.OPENLLMETRY_GEN_AI_USAGE_REASONING_TOKENS,
    sc.OPENLLMETRY_LLM_USAGE_REASONING_TOKENS,
    sc.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING,
)
_TOTAL_KEYS = (
    sc.GEN_AI_USAGE_TOTAL_TOKENS,
    sc.OPENLLMETRY_LLM_USAGE_TOTAL_TOKENS,
    sc.LLM_TOKEN_COUNT_TOTAL,
)
_INPUT_AUDIO_KEYS = (sc.LLM_TOKEN_COUNT_PROMPT_DETAILS_AUDIO,)
_OUTPUT_AUDIO_KEYS = (sc.LLM_TOKEN_COUNT_COMPLETION_DETAILS_AUDIO,)

_PROVIDER_KEYS = (sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_SYSTEM, sc.LLM_PROVIDER, sc.LLM_SYSTEM)
_REQUEST_MODEL_KEYS = (
    sc.GEN_AI_REQUEST_MODEL,
    sc.LLM_REQUEST_MODEL_NAME,
    sc.LLM_MODEL_NAME,
    sc.EMBEDDING_MODEL_NAME,
)
_RESPONSE_MODEL_KEYS = (sc.GEN_AI_RESPONSE_MODEL, sc.LLM_RESPONSE_MODEL_NAME)
_SERVICE_TIER_KEYS = (
    sc.GEN_AI_RESPONSE_SERVICE_TIER,
    sc.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER,
    sc.OPENAI_RESPONSE_SERVICE_TIER,
    sc.GEN_AI_REQUEST_SERVICE_TIER,
    sc.GEN_AI_OPENAI_REQUEST_SERVICE_TIER,
    sc.OPENAI_REQUEST_SERVICE_TIER,
)

_HTTP_METHOD_KEYS = (sc.HTTP_REQUEST_METHOD, sc.HTTP_METHOD)
_HTTP_URL_KEYS = (sc.URL_FULL, sc.HTTP_URL)
_HTTP_HOST_KEYS = (sc.SERVER_ADDRESS, sc.NET_PEER_NAME, sc.HTTP_HOST)
_HTTP_PATH_KEYS = (sc.URL_PATH, sc.HTTP_TARGET)

# Spans that orchestrate calls but are not calls themselves: never priced (no double count).
_NON_CALL_OPERATIONS = frozenset({"invoke_agent", "create_agent", "execute_tool", "invoke_workflow"})
_NON_CALL_TRACELOOP_KINDS = frozenset({"workflow", "task", "agent", "tool"})
_NON_CALL_OPENINFERENCE_KINDS = frozenset(
    {"AGENT", "CHAIN", "TOOL", "RETRIEVER", "RERANKER", "GUARDRAIL", "EVALUATOR"}
)
_OPENINFERENCE_OPERATIONS = {"LLM": "chat", "EMBEDDING": "embeddings"}
# OpenLLMetry's llm.request.type values -> gen_ai.operation.name.
_LLM_REQUEST_TYPES = {"chat": "chat", "completion": "text_completion", "embedding": "embeddings"}


READ_PREFIXES: tuple[str, ...] = ()
"""Prefixes of indexed keys :func:`read_call` reads (none: content for token estimation is read
by :mod:`otel_cost.estimate`, which lists its own)."""


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What one span says about the call it records, in otel-cost's conventions."""

    kind: Literal["llm", "http"]
    provider: str | None
    """``gen_ai.provider.name``, else ``gen_ai.system``, else ``llm.provider`` / ``llm.system``."""
    request_model: str | None
    response_model: str | None
    operation: str | None
    """``gen_ai.operation.name`` (chat, embeddings, ...) for LLM calls; the HTTP method for HTTP calls."""
    usage: TokenUsage | None
    """Token usage in the semconv convention; ``None`` when the span has none (or it is invalid)."""
    usage_error: str | None
    """``invalid_usage`` when some count was negative, non-numeric, fractional or absurd."""
    service_tier: str | None
    """Non-standard service tier (batch, flex, priority, ...), lower case; ``None`` for the standard one."""
    http_method: str | None = None
    http_host: str | None = None
    http_path: str | None = None
    http_units: int | None = None
    """Billable units (``cost.units``) the application set on an HTTP span; ``INVALID_UNITS``
    when its value is not a count (negative, non-numeric, fractional, absurd), which the catalog
    prices as ``invalid_usage`` rather than ``missing_units``."""
    provider_cost: Decimal | None = None
    """Provider-reported cost: ``gen_ai.usage.cost.amount`` with ``gen_ai.usage.cost.source=provider``."""
    already_priced: bool = False
    """The span already carries ``cost.amount`` or ``cost.status`` (an SDK processor ran upstream)."""
    reasoning_inferred: bool = False
    """Reasoning tokens were read from a total above input + output (Gemini thinking the
    instrumentation left out of output); see the module docstring."""
    failure: Failure | None = None
    """Why the call failed (rejected by the provider, or may have been billed), for an LLM call
    whose span has status ERROR (:mod:`otel_cost.failure`); ``None`` when it did not fail."""

    @property
    def model(self) -> str | None:
        """The model that served the call: the response model, else the requested one."""
        return self.response_model or self.request_model


class _UnfrozenFacts:
    """The slot layout of ``CallFacts`` without its frozen ``__setattr__`` (see
    ``otel_cost.pricing.types._Unfrozen``): ``read_call`` fills one with plain slot stores, about
    half the cost of the frozen keyword ``__init__``, and turns it into an ordinary CallFacts."""

    __slots__ = CallFacts.__slots__  # pyright: ignore[reportAttributeAccessIssue]


class _UnfrozenUsage:
    """The same for ``TokenUsage``: ``_usage`` builds one per priced span."""

    __slots__ = TokenUsage.__slots__  # pyright: ignore[reportAttributeAccessIssue]


class _Invalid(Exception):
    """A token count that cannot be trusted."""


# key -> (field, rank): read_call makes one pass over a span's attributes and keeps, per field,
# the value of the best-ranked key present (a dozen dict lookups instead of ~60 probes).
_FIELD_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("input", _INPUT_KEYS),
    ("output", _OUTPUT_KEYS),
    ("cache_read", _CACHE_READ_KEYS),
    ("cache_write", _CACHE_WRITE_KEYS),
    ("reasoning", _REASONING_KEYS),
    ("total", _TOTAL_KEYS),
    ("input_audio", _INPUT_AUDIO_KEYS),
    ("output_audio", _OUTPUT_AUDIO_KEYS),
    ("provider", _PROVIDER_KEYS),
    ("request_model", _REQUEST_MODEL_KEYS),
    ("response_model", _RESPONSE_MODEL_KEYS),
    ("service_tier", _SERVICE_TIER_KEYS),
    ("http_method", _HTTP_METHOD_KEYS),
    ("http_url", _HTTP_URL_KEYS),
    ("http_host", _HTTP_HOST_KEYS),
    ("http_path", _HTTP_PATH_KEYS),
    ("operation", (sc.GEN_AI_OPERATION_NAME,)),
    ("request_type", (sc.OPENLLMETRY_LLM_REQUEST_TYPE,)),
    ("traceloop_kind", (sc.OPENLLMETRY_TRACELOOP_SPAN_KIND,)),
    ("openinference_kind", (sc.OPENINFERENCE_SPAN_KIND,)),
    ("reported_cost", (sc.GEN_AI_USAGE_COST_AMOUNT,)),
    ("reported_cost_source", (sc.GEN_AI_USAGE_COST_SOURCE,)),
    ("cost_amount", (sc.COST_AMOUNT,)),
    ("cost_status", (sc.COST_STATUS,)),
    ("units", (sc.COST_UNITS,)),
)
_FIELDS: dict[str, tuple[str, int]] = {
    key: (name, rank) for name, keys in _FIELD_KEYS for rank, key in enumerate(keys)
}

READ_KEYS: frozenset[str] = frozenset(_FIELDS) | FAILURE_KEYS
"""Every attribute key :func:`read_call` may read (through ``_pick``, and the failure facts of
spans with status ERROR)."""
_LLM_MARKERS = (
    "provider",
    "request_model",
    "response_model",
    "operation",
    "request_type",
    "openinference_kind",
    "input",
    "output",
)


def _pick(attrs: Mapping[str, object]) -> dict[str, object]:
    """Field name -> value of the best-ranked key present (empty strings count as absent)."""
    picked: dict[str, object] = {}
    ranks: dict[str, int] = {}
    fields = _FIELDS
    for key, value in attrs.items():
        hit = fields.get(key)
        if hit is None or value is None or value == "":
            continue
        name, rank = hit
        if rank < ranks.get(name, 1 << 30):
            ranks[name] = rank
            picked[name] = value
    return picked


def _text(picked: Mapping[str, object], name: str) -> str | None:
    value = picked.get(name)
    return None if value is None else str(value)


def _count(value: object) -> int:
    """A token count from an attribute value; raises :class:`_Invalid` when it is not one."""
    if isinstance(value, bool):
        raise _Invalid
    if isinstance(value, int):
        count = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise _Invalid
        count = int(value)
    elif isinstance(value, str):
        try:
            count = int(value.strip())
        except ValueError:
            raise _Invalid from None
    else:
        raise _Invalid
    if count < 0 or count > MAX_TOKENS:
        raise _Invalid
    return count


def _opt_count(picked: Mapping[str, object], name: str) -> int | None:
    value = picked.get(name)
    if value is None:
        return None
    if type(value) is int and 0 <= value <= MAX_TOKENS:  # the common case, without _count's checks
        return value
    return _count(value)


def _usage(
    picked: Mapping[str, object], scope: tuple[str, str, str | None], thinking_as_output: bool
) -> tuple[TokenUsage | None, str | None, bool]:
    """(usage, error, reasoning inferred from the total); ``scope``: the span's (scope name,
    scope version, provider), looked up in the conventions only for spans with cache counts."""
    try:
        input_tokens = _opt_count(picked, "input")
        output_tokens = _opt_count(picked, "output")
        cache_read = _opt_count(picked, "cache_read") or 0
        cache_write = _opt_count(picked, "cache_write") or 0
        reasoning = _opt_count(picked, "reasoning") or 0
        total = _opt_count(picked, "total") if thinking_as_output and not reasoning else None
        input_audio = _opt_count(picked, "input_audio") or 0
        output_audio = _opt_count(picked, "output_audio") or 0
    except _Invalid:
        return None, INVALID_USAGE, False
    if input_tokens is None and output_tokens is None:
        return None, None, False
    input_tokens = input_tokens or 0
    output_tokens = output_tokens or 0
    cached = cache_read + cache_write
    if cached:
        convention = convention_for(*scope).input
        if convention == "excludes_cache" or (convention == "guard" and cached > input_tokens):
            input_tokens += cached  # the instrumentation reports the cache apart from input
    if reasoning > output_tokens:
        output_tokens += reasoning  # reasoning reported apart from output
    inferred = total is not None and total > input_tokens + output_tokens
    if inferred:
        assert total is not None
        reasoning = total - input_tokens - output_tokens  # Gemini thinking, left out of output
        output_tokens += reasoning
    if input_tokens > MAX_TOKENS or output_tokens > MAX_TOKENS:
        return None, INVALID_USAGE, False
    usage: Any = object.__new__(_UnfrozenUsage)
    usage.input_tokens = input_tokens
    usage.output_tokens = output_tokens
    usage.cache_read_tokens = cache_read
    usage.cache_write_tokens = cache_write
    usage.cache_write_1h_tokens = 0
    usage.reasoning_tokens = reasoning
    usage.input_audio_tokens = min(input_audio, input_tokens)
    usage.output_audio_tokens = min(output_audio, output_tokens)
    usage.input_image_tokens = 0
    usage.requests = 1
    usage.__class__ = TokenUsage
    return usage, None, inferred


def _is_orchestration(picked: Mapping[str, object]) -> bool:
    operation = picked.get("operation")
    if isinstance(operation, str) and operation in _NON_CALL_OPERATIONS:
        return True
    kind = picked.get("traceloop_kind")
    if isinstance(kind, str) and kind.lower() in _NON_CALL_TRACELOOP_KINDS:
        return True
    kind = picked.get("openinference_kind")
    return isinstance(kind, str) and kind.upper() in _NON_CALL_OPENINFERENCE_KINDS


def is_orchestration(attrs: Mapping[str, object]) -> bool:
    """True for agent, workflow, tool and chain spans: they get a rollup, never spend of their own."""
    return _is_orchestration(_pick(attrs))


def _operation(picked: Mapping[str, object]) -> str | None:
    operation = picked.get("operation")
    if isinstance(operation, str):
        return operation
    request_type = picked.get("request_type")
    if isinstance(request_type, str):
        return _LLM_REQUEST_TYPES.get(request_type, request_type)
    kind = picked.get("openinference_kind")
    if isinstance(kind, str):
        return _OPENINFERENCE_OPERATIONS.get(kind.upper())
    return None


def _service_tier(picked: Mapping[str, object]) -> str | None:
    tier = _text(picked, "service_tier")
    if tier is None:
        return None
    tier = tier.strip().lower()
    return None if not tier or tier in STANDARD_TIERS else tier


def _provider_cost(picked: Mapping[str, object]) -> Decimal | None:
    """The provider-reported cost, or None: not reported by the provider, or not a valid amount
    (then the call is priced locally, and the first such value is logged)."""
    if picked.get("reported_cost_source") != sc.COST_SOURCE_VALUE_PROVIDER:
        return None
    value = picked.get("reported_cost")
    amount: Decimal | None = None
    if not isinstance(value, bool) and isinstance(value, (int, float, str)):
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            amount = None
    if amount is not None and amount.is_finite() and 0 <= amount <= MAX_PROVIDER_COST:
        return amount
    _warn_invalid_provider_cost(value)
    return None


_invalid_cost_warned = False


def _warn_invalid_provider_cost(value: object) -> None:
    global _invalid_cost_warned  # noqa: PLW0603 - once per process, however many spans
    if not _invalid_cost_warned:
        _invalid_cost_warned = True
        _logger.warning(
            "otel-cost: %s=%r with %s=provider is not a cost (an amount from 0 to %s); "
            "such calls are priced from their usage instead (logged once)",
            sc.GEN_AI_USAGE_COST_AMOUNT,
            value,
            sc.GEN_AI_USAGE_COST_SOURCE,
            MAX_PROVIDER_COST,
        )


def _http_facts(picked: Mapping[str, object]) -> tuple[str | None, str | None, str | None]:
    method = _text(picked, "http_method")
    host = _text(picked, "http_host")
    path = _text(picked, "http_path")
    url = _text(picked, "http_url")
    if url and (host is None or path is None):
        try:
            parts = urlsplit(url)
            host = host or parts.hostname
            path = path or parts.path or "/"
        except ValueError:
            pass
    if path is not None:
        path = path.split("?", 1)[0] or "/"  # http.target carries the query string
    if host is not None:
        host = host.lower().split(":", 1)[0] if not host.startswith("[") else host.lower()
    return (method.upper() if method else None), host, path


def _http_units(picked: Mapping[str, object]) -> int | None:
    value = picked.get("units")
    if value is None:
        return None
    try:
        return _count(value)
    except _Invalid:
        return INVALID_UNITS  # present but bad: unpriced as invalid_usage, not missing_units


def read_call(
    attrs: Mapping[str, object],
    span_kind_client: bool = True,
    *,
    failed: bool = False,
    events: Iterable[tuple[str, Mapping[str, object]]] = (),
    scope_name: str = "",
    scope_version: str = "",
) -> CallFacts | None:
    """The billable call a span records, or ``None`` when it records none.

    ``None`` for agent, workflow, tool and chain spans (they orchestrate calls; pricing them would
    count spend twice), for HTTP spans that are not client spans, and for spans with neither GenAI
    nor HTTP attributes. ``failed``: the span's status is ERROR; then ``events`` (``(name,
    attributes)`` of its events) are read for the failure's facts. ``scope_name`` /
    ``scope_version``: the span's instrumentation scope, which decides how its counts are read
    (:data:`otel_cost.conventions.CONVENTIONS`). Never raises.
    """
    picked = _pick(attrs)
    if not picked or _is_orchestration(picked):
        return None
    already_priced = "cost_amount" in picked or "cost_status" in picked
    if any(name in picked for name in _LLM_MARKERS):
        facts: Any = object.__new__(_UnfrozenFacts)
        provider = facts.provider = _text(picked, "provider")
        facts.request_model = _text(picked, "request_model")
        facts.response_model = _text(picked, "response_model")
        facts.usage, facts.usage_error, facts.reasoning_inferred = _usage(
            picked,
            (scope_name, scope_version, provider),
            "total" in picked  # only spans with a total can hide thinking: skip the check otherwise
            and bills_thinking_as_output(provider, facts.response_model or facts.request_model),
        )
        facts.kind = "llm"
        facts.operation = _operation(picked)
        facts.service_tier = _service_tier(picked)
        facts.http_method = facts.http_host = facts.http_path = facts.http_units = None
        facts.provider_cost = _provider_cost(picked)
        facts.already_priced = already_priced
        facts.failure = read_failure(attrs, events) if failed else None
        facts.__class__ = CallFacts
        return facts  # type: ignore[no-any-return]
    if not span_kind_client:
        return None
    method, host, path = _http_facts(picked)
    if method is None or host is None:
        return None
    return CallFacts(
        kind="http",
        provider=None,
        request_model=None,
        response_model=None,
        operation=method,
        usage=None,
        usage_error=None,
        service_tier=None,
        http_method=method,
        http_host=host,
        http_path=path or "/",
        http_units=_http_units(picked),
        already_priced=already_priced,
    )
