"""Which usage convention each instrumentation writes, by instrumentation scope and provider.

The GenAI semantic conventions count cache reads and writes inside ``gen_ai.usage.input_tokens``
and reasoning inside ``gen_ai.usage.output_tokens``. Not every instrumentation does: each row of
:data:`CONVENTIONS` says, for one instrumentation scope (name, first version) and provider, what
its input count means, as read in the source of the release named in the row. docs/usage.md
has the whole table: instrumentation x attribute names x convention x how otel-cost reads it.

Recognising the instrumentation, rather than guessing from the numbers, is what lets otel-cost
price OpenLLMetry's Bedrock spans right: their input excludes the cache, which a numeric guard
(cache above input) can only see when the cache is the larger part of the prompt.

Gemini bills thinking tokens as output (:func:`bills_thinking_as_output`). Most Gemini
instrumentations write ``candidatesTokenCount`` as output (thinking excluded) and no reasoning
count, but a total that includes thinking; :mod:`otel_cost.usage` reads the gap as reasoning.
Gemini's total also counts ``toolUsePromptTokenCount`` (results of built-in tools, billed as
input), which those instrumentations leave out of input: such a call is priced a little high
(those tokens at the output price), never 10-50x low as without the gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from otel_cost.pricing._names import normalise_provider

InputConvention = Literal["includes_cache", "excludes_cache", "guard"]


@dataclass(frozen=True, slots=True)
class Convention:
    """How one instrumentation's input count relates to its cache counts (docs/usage.md).

    ``includes_cache``: input counts cache reads and writes (semconv); ``excludes_cache``: it
    does not, they are added; ``guard``: it depends on the code path, so only the numeric guard
    applies (cache above input is added)."""

    scope: str
    """Instrumentation scope name; a scope whose name starts with ``scope + "."`` matches too."""
    input: InputConvention
    providers: frozenset[str] | None = None
    """Normalised provider ids the row is for (``None``: any)."""
    first_version: tuple[int, ...] = ()
    """First scope version the row holds for (``()``: all)."""
    checked: str = ""
    """The release whose source the row was read from."""


CONVENTIONS: tuple[Convention, ...] = (
    # Bedrock's Converse usage.inputTokens and InvokeModel's Anthropic usage.input_tokens / Nova
    # usage.inputTokens exclude cache reads and writes; span_utils writes them unchanged and the
    # cache counts apart (converse_usage_record; prompt_caching.prompt_caching_handling).
    Convention("opentelemetry.instrumentation.bedrock", "excludes_cache", frozenset({"aws"}), (), "0.62.4"),
    # Adds cache_read + cache_creation to Anthropic's input_tokens (_set_token_usage) since 0.38.
    Convention("opentelemetry.instrumentation.anthropic", "includes_cache", None, (0, 38), "0.38.0-0.62.4"),
    # OpenAI's prompt_tokens include cached_tokens; written as is.
    Convention("opentelemetry.instrumentation.openai", "includes_cache", None, (), "0.62.4"),
    Convention("opentelemetry.util.genai", "includes_cache", None, (), "1.1b0, 1.3b0"),
    # Gemini's promptTokenCount includes cachedContentTokenCount.
    Convention("opentelemetry.instrumentation.vertexai", "includes_cache", None, (), "0.62.4"),
    Convention("opentelemetry.instrumentation.google_generativeai", "includes_cache", None, (), "0.62.4"),
    Convention("opentelemetry.instrumentation.google_genai", "includes_cache", None, (), "1.3b0"),
    Convention("opentelemetry.instrumentation.mistralai", "includes_cache", None, (), "0.62.4"),
    Convention("opentelemetry.instrumentation.cohere", "includes_cache", None, (), "0.62.4"),
    Convention("openinference.instrumentation.openai", "includes_cache", None, (), "0.1.66"),
    # Folds cache_read + cache_creation into llm.token_count.prompt (_utils).
    Convention("openinference.instrumentation.anthropic", "includes_cache", None, (), "3.1.0"),
    # Converse folds cacheRead/Write into the prompt count; the Nova invoke_model stream
    # callback writes inputTokens as is (excludes): per code path, so only the guard.
    Convention("openinference.instrumentation.bedrock", "guard", None, (), "0.1.61"),
    Convention("openinference.instrumentation.google_genai", "includes_cache", None, (), "1.4.14"),
    Convention("openinference.instrumentation.vertexai", "includes_cache", None, (), "0.1.29"),
    Convention("openinference.instrumentation.mistralai", "includes_cache", None, (), "2.2.2"),
)
"""Per-instrumentation usage conventions, first matching row wins (docs/usage.md)."""

_GUARD = Convention("", "guard")
_convention_cache: dict[tuple[str, str, str | None], Convention] = {}
_CONVENTION_CACHE_CAP = 1024


def _version(text: str) -> tuple[int, ...]:
    """``"0.62.4"`` -> ``(0, 62, 4)``; ``"2.4b0"`` -> ``(2, 4)``: leading digits of each part."""
    out: list[int] = []
    for part in text.split("."):
        digits = len(part) - len(part.lstrip("0123456789"))
        if not digits:
            break
        out.append(int(part[:digits]))
        if digits < len(part):
            break
    return tuple(out)


def convention_for(scope_name: str, scope_version: str, provider: str | None) -> Convention:
    """The :data:`CONVENTIONS` row for a span's instrumentation scope and provider, else the guard."""
    key = (scope_name, scope_version, provider)
    found = _convention_cache.get(key)
    if found is not None:
        return found
    found = _GUARD
    if scope_name:
        pid = normalise_provider(provider)
        version = _version(scope_version)
        for row in CONVENTIONS:
            if (
                (scope_name == row.scope or scope_name.startswith(row.scope + "."))
                and (row.providers is None or pid in row.providers)
                and version >= row.first_version
            ):
                found = row
                break
    if len(_convention_cache) < _CONVENTION_CACHE_CAP:
        _convention_cache[key] = found
    return found


def bills_thinking_as_output(provider: str | None, model: str | None) -> bool:
    """Gemini (Google AI and Vertex AI) bills thinking tokens at the output price."""
    return normalise_provider(provider) == "google" and model is not None and "gemini" in model.lower()
