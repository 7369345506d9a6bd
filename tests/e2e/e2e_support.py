"""Shared pieces of the end-to-end tests: published prices, usage read from recorded responses,
and the hand-derived cost of a recorded call.

Prices below are the providers' published list prices (USD per million tokens), copied from
https://openai.com/api/pricing and https://www.anthropic.com/pricing (and the models' docs pages),
checked 2025-11. The test derives each span's expected cost from these and the recorded ``usage``
block, independently of otel-cost's catalog.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_cost.replay import Interaction

M = Decimal(1_000_000)

# model -> (input, cached input read, cache write 5m, output) USD / 1M tokens
PUBLISHED: dict[str, tuple[Decimal, Decimal | None, Decimal | None, Decimal]] = {
    # openai.com/api/pricing: gpt-4o-mini $0.15 in, $0.075 cached in, $0.60 out
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.075"), None, Decimal("0.60")),
    # openai.com/api/pricing (legacy models): gpt-4 (8k) $30 in, $60 out
    "gpt-4": (Decimal(30), None, None, Decimal(60)),
    # openai.com/api/pricing (embeddings): text-embedding-3-small $0.02 in
    "text-embedding-3-small": (Decimal("0.02"), None, None, Decimal(0)),
    # anthropic.com/pricing: Claude 3 Opus $15 in, $18.75 5m cache write, $1.50 cache read, $75 out
    "claude-3-opus": (Decimal(15), Decimal("1.50"), Decimal("18.75"), Decimal(75)),
    # anthropic.com/pricing: Claude 3 Haiku $0.25 in, $0.30 write, $0.03 read, $1.25 out
    "claude-3-haiku": (Decimal("0.25"), Decimal("0.03"), Decimal("0.30"), Decimal("1.25")),
    # anthropic.com/pricing: Claude 3.5 Haiku $0.80 in, $1 write, $0.08 read, $4 out
    "claude-3-5-haiku": (Decimal("0.80"), Decimal("0.08"), Decimal(1), Decimal(4)),
    # anthropic.com/pricing: Claude 3.5 Sonnet $3 in, $3.75 write, $0.30 read, $15 out
    "claude-3-5-sonnet": (Decimal(3), Decimal("0.30"), Decimal("3.75"), Decimal(15)),
    # anthropic.com/pricing: Claude 3.7 Sonnet $3 in, $3.75 write, $0.30 read, $15 out
    "claude-3-7-sonnet": (Decimal(3), Decimal("0.30"), Decimal("3.75"), Decimal(15)),
}


@dataclass(frozen=True)
class RecordedUsage:
    """Token counts as the provider reported them, in the semconv convention (input includes cache)."""

    model: str
    input_tokens: int
    output_tokens: int
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0


def _sse_events(body: bytes) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for line in body.decode().splitlines():
        if line.startswith("data:"):
            data = line[5:].strip()
            if data and data != "[DONE]":
                events.append(json.loads(data))
    return events


def recorded_usage(interaction: Interaction, *, openllmetry_stream_overcount: bool = False) -> RecordedUsage:
    """The usage block of a recorded response (JSON or server-sent events).

    Anthropic streams: ``message_delta.usage.output_tokens`` is cumulative (Anthropic's streaming
    docs), so it is the call's output count. OpenLLMetry's anthropic instrumentation 0.62.4
    (``streaming._process_response_item``) adds ``message_start``'s ``output_tokens`` to it, so
    its spans over-report output by that many tokens; ``openllmetry_stream_overcount=True`` gives
    the usage as that instrumentation reports it.
    """
    body = interaction.body
    if body.lstrip().startswith(b"{"):
        doc = json.loads(body)
        return _from_usage(doc["model"], doc["usage"])
    model = ""
    merged: dict[str, object] = {}
    for event in _sse_events(body):
        kind = event.get("type")
        if kind == "message_start":  # Anthropic: input side here, output in message_delta
            message = event["message"]
            assert isinstance(message, dict)
            model = str(message["model"])  # pyright: ignore[reportUnknownArgumentType]
            merged.update(message["usage"])  # pyright: ignore[reportUnknownArgumentType]
        elif kind == "message_delta":
            start_output = merged.get("output_tokens", 0)
            merged.update(event["usage"])  # type: ignore[arg-type]
            if openllmetry_stream_overcount and isinstance(start_output, int):
                merged["output_tokens"] = int(merged["output_tokens"]) + start_output  # type: ignore[arg-type]
        elif kind == "response.completed":  # OpenAI responses API
            response = event["response"]
            assert isinstance(response, dict)
            model = str(response["model"])  # pyright: ignore[reportUnknownArgumentType]
            merged = dict(response["usage"])  # pyright: ignore[reportUnknownArgumentType]
        elif event.get("usage"):  # OpenAI chat: the final chunk
            model = str(event["model"])
            merged = dict(event["usage"])  # type: ignore[arg-type]
    assert merged, "recorded stream carries no usage"
    return _from_usage(model, merged)


def _from_usage(model: str, usage: dict[str, object]) -> RecordedUsage:
    def n(key: str, within: dict[str, object] | None = None) -> int:
        value = (within if within is not None else usage).get(key)
        return int(value) if isinstance(value, int) else 0

    if "prompt_tokens" in usage:  # OpenAI chat/embeddings: prompt includes cached
        details = usage.get("prompt_tokens_details")
        out_details = usage.get("completion_tokens_details")
        return RecordedUsage(
            model,
            n("prompt_tokens"),
            n("completion_tokens"),
            cache_read=n("cached_tokens", details if isinstance(details, dict) else {}),  # pyright: ignore[reportUnknownArgumentType]
            reasoning=n("reasoning_tokens", out_details if isinstance(out_details, dict) else {}),  # pyright: ignore[reportUnknownArgumentType]
        )
    if "input_tokens_details" in usage:  # OpenAI responses: input includes cached
        details = usage["input_tokens_details"]
        out_details = usage.get("output_tokens_details")
        return RecordedUsage(
            model,
            n("input_tokens"),
            n("output_tokens"),
            cache_read=n("cached_tokens", details if isinstance(details, dict) else {}),  # pyright: ignore[reportUnknownArgumentType]
            reasoning=n("reasoning_tokens", out_details if isinstance(out_details, dict) else {}),  # pyright: ignore[reportUnknownArgumentType]
        )
    # Anthropic: input_tokens EXCLUDES cache reads and writes; add them for the semconv total.
    read, write = n("cache_read_input_tokens"), n("cache_creation_input_tokens")
    return RecordedUsage(
        model, n("input_tokens") + read + write, n("output_tokens"), cache_read=read, cache_write=write
    )


def _prices(model: str) -> tuple[Decimal, Decimal | None, Decimal | None, Decimal]:
    for name in sorted(PUBLISHED, key=len, reverse=True):
        if model == name or model.startswith(name + "-"):
            return PUBLISHED[name]
    raise KeyError(f"no published price written down for {model}")


def expected_cost(usage: RecordedUsage) -> Decimal:
    """Uncached input x input price + cache reads x read price + cache writes x write price +
    output x output price (reasoning is inside output and billed at the output price)."""
    price_in, price_read, price_write, price_out = _prices(usage.model)
    uncached = usage.input_tokens - usage.cache_read - usage.cache_write
    total = uncached * price_in + usage.output_tokens * price_out
    if usage.cache_read:
        assert price_read is not None
        total += usage.cache_read * price_read
    if usage.cache_write:
        assert price_write is not None
        total += usage.cache_write * price_write
    return total / M


@dataclass
class Pipeline:
    tracer_provider: TracerProvider
    exporter: InMemorySpanExporter
    metric_reader: InMemoryMetricReader
    scope: tuple[str, ...] | None = None
    """Instrumentation scope of the instrumentation under test (see ``instrument``)."""

    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    def llm_spans(self) -> list[ReadableSpan]:
        """Priced spans of the instrumentation under test. OpenLLMetry 0.62's uninstrument()
        leaves some wrappers of openai 3.x in place, so spans of an instrumentation used by an
        earlier test may appear too; the scope name tells them apart."""
        return [
            s
            for s in self.spans()
            if s.attributes
            and "cost.status" in s.attributes
            and (
                self.scope is None
                or (
                    s.instrumentation_scope is not None
                    and s.instrumentation_scope.name.startswith(self.scope)
                )
            )
        ]
