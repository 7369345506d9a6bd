"""Count tokens locally for gen_ai spans that carry content but no usage (``cost.usage.estimated``).

Encodings: OpenAI models are counted with tiktoken, ``o200k_base`` for the gpt-4o, gpt-4.1,
gpt-5, chatgpt-4o and o-series (o1, o3, o4 ...) families, ``cl100k_base`` for gpt-4, gpt-3.5 and
the text-embedding models. Mistral models (``mistral-embed``, ``mistral-*``, ``codestral-*``,
``ministral-*``, ``pixtral-*``, ``magistral-*``, ``devstral-*``, ``open-mixtral-*`` ...) are
counted with ``cl100k_base`` and scaled by :data:`MISTRAL_PER_CL100K` (1.19, rounded up): Mistral's
SentencePiece tokenizers split English prose into that many more tokens (measured with
mistral-common 1.13.1's ``MistralTokenizer.v1()``, which mistral-embed uses, on 100 paragraphs of
this project's docs: 15,285 tokens against cl100k_base's 12,896; 1.10-1.31x per paragraph), where
cl100k_base alone or chars/4 came out 10-19% low. Other vendors' tokenizers are not public or not
bundled, so their models are approximated as one token per four characters (rounded up), the
rule of thumb OpenAI and Anthropic document for English text. Every count here is flagged
estimated (:func:`estimate_method` names the method).
For OpenAI chat models whose prompt is recorded as messages, the prompt follows OpenAI's
documented chat accounting (3 tokens per message besides role and content, 3 priming the
reply); counts remain estimates (tool definitions, images and other vendors' formatting are
not modelled). The encodings ship inside the package (:mod:`otel_cost.encodings`, checked by
hash) and load without network; only a broken install (a missing or altered file) falls back to
the approximation, with a warning.

Content is read from (first present wins per side): ``gen_ai.input.messages`` /
``gen_ai.output.messages`` and ``gen_ai.system_instructions`` (JSON, current semconv), the
indexed OpenLLMetry keys ``gen_ai.prompt.<n>.content`` / ``gen_ai.completion.<n>.content``,
and OpenInference ``input.value`` / ``output.value``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction

from otel_cost import semconv as sc
from otel_cost.encodings import load_encoding
from otel_cost.pricing.types import TokenUsage

_logger = logging.getLogger(__name__)

CONTENT_KEYS: frozenset[str] = frozenset(
    {
        sc.GEN_AI_INPUT_MESSAGES,
        sc.GEN_AI_OUTPUT_MESSAGES,
        sc.GEN_AI_SYSTEM_INSTRUCTIONS,
        sc.INPUT_VALUE,
        sc.OUTPUT_VALUE,
    }
)
"""Attribute keys content is read from."""
CONTENT_PREFIXES: tuple[str, ...] = (sc.GEN_AI_PROMPT + ".", sc.GEN_AI_COMPLETION + ".")
"""Prefixes of the indexed content keys (``gen_ai.prompt.0.content``)."""

_O200K = re.compile(r"^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|chatgpt-4o|o[1-9]|codex|gpt-oss)")
_CL100K = re.compile(r"^(gpt-4|gpt-3\.5|gpt-35|text-embedding)")
_MISTRAL = re.compile(
    r"^(mistral|codestral|ministral|pixtral|magistral|devstral|voxtral|open-mistral|open-mixtral|mixtral)"
)
MISTRAL_PER_CL100K = Fraction(119, 100)
"""Mistral tokens per cl100k_base token on English prose (module docstring)."""
# OpenLLMetry's indexed keys: gen_ai.prompt.<n>.content, gen_ai.completion.<n>.role, ...
_SIDES = {sc.GEN_AI_PROMPT: "prompt", sc.GEN_AI_COMPLETION: "completion"}
_INDEXED = re.compile(rf"^({'|'.join(map(re.escape, _SIDES))})\.(\d+)\.(content|role)$")
# OpenAI's documented chat accounting (openai-cookbook, "How to count tokens with tiktoken"):
# every message costs 3 tokens besides its role and content, and the reply is primed with 3.
_TOKENS_PER_MESSAGE = 3
_REPLY_PRIMING = 3
_TEXT_KEYS = frozenset({"content", "text", "arguments", "result", "response"})

_encoders: dict[str, Callable[[str], int]] = {}
_lock = threading.Lock()
_failed: set[str] = set()


def approximate_tokens(text: str) -> int:
    """One token per four characters, rounded up (the documented approximation)."""
    return math.ceil(len(text) / 4)


def encoding_for(model: str | None) -> str | None:
    """The tiktoken encoding of an OpenAI model, ``None`` for other models."""
    if not model:
        return None
    name = _model_name(model)
    if _O200K.match(name):
        return "o200k_base"
    if _CL100K.match(name):
        return "cl100k_base"
    return None


def _model_name(model: str) -> str:
    name = model.lower().rsplit("/", 1)[-1]
    return name[3:] if name.startswith("ft:") else name


def _scaled(model: str | None) -> tuple[str, Fraction] | None:
    """(encoding, factor) of a vendor counted as a scaled tiktoken count (Mistral), else None."""
    if model and _MISTRAL.match(_model_name(model)):
        return "cl100k_base", MISTRAL_PER_CL100K
    return None


def estimate_method(model: str | None) -> str:
    """How :func:`count_tokens` counts ``model``'s tokens: ``tiktoken:<encoding>``,
    ``tiktoken:<encoding>*<factor>`` or ``chars/4``."""
    encoding = encoding_for(model)
    if encoding:
        return f"tiktoken:{encoding}"
    scaled = _scaled(model)
    if scaled:
        return f"tiktoken:{scaled[0]}*{float(scaled[1]):g}"
    return "chars/4"


def _encoder(encoding: str) -> Callable[[str], int] | None:
    counter = _encoders.get(encoding)
    if counter is not None or encoding in _failed:
        return counter
    with _lock:
        counter = _encoders.get(encoding)
        if counter is not None:
            return counter
        try:
            enc = load_encoding(encoding)
        except Exception as exc:  # a broken install: the shipped file is missing or altered
            _failed.add(encoding)
            _logger.warning(
                "tiktoken encoding %s unavailable (%s); approximating tokens as chars/4", encoding, exc
            )
            return None

        def count(text: str) -> int:
            return len(enc.encode(text, disallowed_special=()))

        _encoders[encoding] = count
        return count


def count_tokens(text: str, model: str | None) -> int:
    """Tokens of ``text`` for ``model``: tiktoken for OpenAI models, cl100k_base scaled for
    Mistral's, chars/4 otherwise (:func:`estimate_method`)."""
    if not text:
        return 0
    encoding = encoding_for(model)
    if encoding:
        counter = _encoder(encoding)
        return counter(text) if counter else approximate_tokens(text)
    scaled = _scaled(model)
    counter = _encoder(scaled[0]) if scaled else None
    if scaled and counter:
        return math.ceil(counter(text) * scaled[1])
    return approximate_tokens(text)


def _strings(value: object) -> Iterator[str]:
    """Text inside a message structure: strings under content/text-like keys, and bare strings."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():  # pyright: ignore[reportUnknownVariableType]
            if key in _TEXT_KEYS or key == "parts":
                yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:  # pyright: ignore[reportUnknownVariableType]
            yield from _strings(item)


def _decoded(value: object) -> object:
    """``value`` with a JSON string parsed; a string that is not JSON, and any other value, as is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _text(decoded: object) -> str:
    return "\n".join(_strings(decoded))


def _side_keys(side: str) -> tuple[str, str | None, str]:
    """The messages key, the extra JSON key read with it, and the plain-value key of one side."""
    if side == "prompt":
        return sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS, sc.INPUT_VALUE
    return sc.GEN_AI_OUTPUT_MESSAGES, None, sc.OUTPUT_VALUE


def _side_json(attrs: Mapping[str, object], side: str) -> dict[str, object]:
    """The side's messages and extra key, each parsed once, when the side records messages."""
    messages, extra, _ = _side_keys(side)
    if messages not in attrs:
        return {}
    return {key: _decoded(attrs[key]) for key in (messages, extra) if key is not None and key in attrs}


def _side_text(attrs: Mapping[str, object], side: str, decoded: Mapping[str, object]) -> str | None:
    """All content of one side (``prompt`` or ``completion``) of the call, or ``None``;
    ``decoded`` is the side's :func:`_side_json`."""
    messages, extra, value = _side_keys(side)
    if messages in decoded:
        parts = [_text(decoded[messages])]
        if extra and extra in decoded:
            parts.append(_text(decoded[extra]))
        return "\n".join(parts)
    indexed: list[tuple[int, str]] = []
    for key, item in attrs.items():
        match = _INDEXED.match(key)
        if match and _SIDES[match.group(1)] == side and match.group(3) == "content" and isinstance(item, str):
            indexed.append((int(match.group(2)), item))
    if indexed:
        return "\n".join(text for _, text in sorted(indexed))
    if value in attrs:
        return _text(_decoded(attrs[value]))
    return None


def _message_text(message: Mapping[str, object]) -> str:
    return "\n".join(_strings({k: v for k, v in message.items() if k != "role"}))


def prompt_messages(
    attrs: Mapping[str, object], decoded: Mapping[str, object] | None = None
) -> list[tuple[str, str]] | None:
    """The prompt as (role, text) chat messages, when the span records it as messages.

    ``decoded`` is the prompt's parsed JSON (``_side_json(attrs, "prompt")``) when the caller has
    it already; without it the messages are parsed here."""
    raw = attrs.get(sc.GEN_AI_INPUT_MESSAGES)
    if isinstance(raw, str):
        if decoded is None:
            decoded = _side_json(attrs, "prompt")
        # A string that is not JSON stays a string: not a list, so not messages.
        parsed = decoded[sc.GEN_AI_INPUT_MESSAGES]
        if not isinstance(parsed, list):
            return None
        out: list[tuple[str, str]] = []
        if attrs.get(sc.GEN_AI_SYSTEM_INSTRUCTIONS) is not None:
            out.append(("system", _text(decoded[sc.GEN_AI_SYSTEM_INSTRUCTIONS])))
        for item in parsed:  # pyright: ignore[reportUnknownVariableType]
            if not isinstance(item, Mapping) or not isinstance(item.get("role"), str):  # pyright: ignore[reportUnknownMemberType]
                return None
            out.append((str(item["role"]), _message_text(item)))  # pyright: ignore[reportUnknownArgumentType]
        return out
    roles: dict[int, str] = {}
    contents: dict[int, str] = {}
    for key, item in attrs.items():
        match = _INDEXED.match(key)
        if match and match.group(1) == sc.GEN_AI_PROMPT and isinstance(item, str):
            (roles if match.group(3) == "role" else contents)[int(match.group(2))] = item
    if contents and set(contents) <= set(roles):
        return [(roles[i], contents[i]) for i in sorted(contents)]
    return None


def estimate_usage(
    attrs: Mapping[str, object], model: str | None, operation: str | None = None
) -> TokenUsage | None:
    """Token usage counted from the span's content, ``None`` when it carries none.

    For OpenAI chat models whose prompt is recorded as messages, input follows OpenAI's
    documented accounting: 3 tokens per message plus its role and content, plus 3 priming the
    reply. Otherwise the prompt text is counted as is.
    """
    # The prompt's JSON is parsed once: its text and its chat messages both read this.
    prompt_json = _side_json(attrs, "prompt")
    prompt = _side_text(attrs, "prompt", prompt_json)
    completion = _side_text(attrs, "completion", _side_json(attrs, "completion"))
    if prompt is None and completion is None:
        return None
    chat = operation != "embeddings" and encoding_for(model)
    messages = prompt_messages(attrs, prompt_json) if chat else None
    if messages:
        input_tokens = _REPLY_PRIMING + sum(
            _TOKENS_PER_MESSAGE + count_tokens(role, model) + count_tokens(text, model)
            for role, text in messages
        )
    else:
        input_tokens = count_tokens(prompt or "", model)
    return TokenUsage(input_tokens=input_tokens, output_tokens=count_tokens(completion or "", model))
