"""Provider and model names as spans carry them -> the catalog's provider ids and model refs.

Provider names come from ``gen_ai.provider.name`` (current semconv), the older ``gen_ai.system``
values, and the names instrumentations and gateways use. Model names come in many spellings of
one model: dated snapshots (``gpt-4o-2024-08-06``), provider prefixes (``openai/gpt-4o``), Bedrock
ids (``us.anthropic.claude-3-5-sonnet-20241022-v2:0``), Vertex ids (``claude-3-5-sonnet@20240620``).
:func:`model_candidates` lists the spellings to try, most specific first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Span provider name (lower case) -> catalog provider id (genai-prices ids).
PROVIDER_ALIASES: Mapping[str, str] = {
    "openai": "openai",
    "azure": "azure",
    "azure_openai": "azure",
    "azure-openai": "azure",
    "az.ai.openai": "azure",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.inference": "azure",
    "anthropic": "anthropic",
    "aws.bedrock": "aws",
    "aws": "aws",
    "bedrock": "aws",
    "amazon-bedrock": "aws",
    "amazon_bedrock": "aws",
    "gcp.vertex_ai": "google",
    "vertex_ai": "google",
    "vertexai": "google",
    "vertex-ai": "google",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "gemini": "google",
    "google": "google",
    "google_genai": "google",
    "google-genai": "google",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "x-ai": "x-ai",
    "groq": "groq",
    "cohere": "cohere",
    "perplexity": "perplexity",
    "openrouter": "openrouter",
    "together": "together",
    "together_ai": "together",
    "together-ai": "together",
    "fireworks": "fireworks",
    "fireworks_ai": "fireworks",
    "cerebras": "cerebras",
    "moonshot": "moonshotai",
    "moonshotai": "moonshotai",
    "novita": "novita",
}

# A model-name prefix (``openai/``, Bedrock's ``anthropic.``) -> provider id.
MODEL_PREFIX_PROVIDERS: Mapping[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "google",
    "gemini": "google",
    "vertex_ai": "google",
    "mistral": "mistral",
    "mistralai": "mistral",
    "deepseek": "deepseek",
    "x-ai": "x-ai",
    "xai": "x-ai",
    "azure": "azure",
    "bedrock": "aws",
    "groq": "groq",
    "cohere": "cohere",
    "meta": "meta",
    "amazon": "aws",
}

_BEDROCK_REGION = re.compile(r"^(?:us|eu|apac|ap|jp|au|ca|in|global|us-gov)\.")
# genai-prices names some Bedrock entries ``regional.<vendor>.<model>`` (the geographic profiles).
_CATALOG_REGION = re.compile(r"^(?:regional|global)\.")

VENDOR_PREFIXED: frozenset[str] = frozenset({"aws"})
"""Providers whose model ids carry the model's vendor (``amazon.nova-lite-v1:0``), which some
instrumentations strip (OpenLLMetry's Bedrock writes ``nova-lite-v1:0``)."""

EXTRA_FALLBACKS: Mapping[str, tuple[str, ...]] = {"aws": ("anthropic",)}
"""Providers whose older models genai-prices lists only under their maker: Bedrock's
``anthropic.claude-v2`` / ``claude-v2:1`` / ``claude-instant-v1`` are priced as Anthropic lists
them ($8 / $24 per 1M tokens for Claude 2.x: the same on https://aws.amazon.com/bedrock/pricing/
and Anthropic's list, checked 2026-12). Tried after the provider's own entries."""
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$|:\d+$")
_DATE_SUFFIX = re.compile(r"(?:[-@](?:20\d{2}-?[01]\d-?[0-3]\d)|-(?:2[3-9](?:0[1-9]|1[0-2])))$")


def normalise_provider(name: str | None) -> str | None:
    """The catalog provider id for a span's provider name, or the lower-cased name itself
    when we have no mapping (the caller decides whether the catalog knows it)."""
    if name is None:
        return None
    key = name.strip().lower()
    if not key:
        return None
    return PROVIDER_ALIASES.get(key, key)


def region_and_bare(model: str) -> tuple[str, str]:
    """A Bedrock id split into its inference-profile region prefix (``"us."`` or ``""``) and the rest."""
    ref = model.strip().lower()
    match = _BEDROCK_REGION.match(ref)
    return (match.group(0), ref[match.end() :]) if match else ("", ref)


def entry_vendor(model_id: str) -> str | None:
    """The vendor segment of a catalog model id (``regional.anthropic.claude-...`` -> ``anthropic``)."""
    bare = _BEDROCK_REGION.sub("", _CATALOG_REGION.sub("", model_id.lower()))
    vendor, dot, _ = bare.partition(".")
    return vendor if dot and vendor else None


def model_candidates(model: str) -> list[tuple[str | None, str]]:
    """``(provider hinted by the name or None, model ref)`` to try in order, most specific first."""
    ref = model.strip().lower()
    out: list[tuple[str | None, str]] = [(None, ref)]

    def add(provider: str | None, candidate: str) -> None:
        if candidate and all(candidate != seen for _, seen in out):
            out.append((provider, candidate))

    # Gateway prefixes: openai/gpt-4o, bedrock/anthropic.claude-..., vertex_ai/gemini-2.5-pro.
    while "/" in ref:
        prefix, rest = ref.split("/", 1)
        add(MODEL_PREFIX_PROVIDERS.get(prefix), rest)
        ref = rest
    # Bedrock: regional inference profiles, vendor prefixes, version suffixes.
    bare = _BEDROCK_REGION.sub("", ref)
    add(None, bare)
    if "." in bare:
        vendor, rest = bare.split(".", 1)
        if vendor in MODEL_PREFIX_PROVIDERS:
            add(MODEL_PREFIX_PROVIDERS[vendor], rest)
            unversioned = _BEDROCK_VERSION.sub("", rest)
            add(MODEL_PREFIX_PROVIDERS[vendor], unversioned)
            bare = unversioned
    # Dated snapshots without their own entry price as the undated model.
    undated = _DATE_SUFFIX.sub("", bare)
    if undated != bare:
        hinted = next((p for p, c in out if c == bare), None)
        add(hinted, undated)
    return out
