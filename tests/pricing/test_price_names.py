"""Provider and model name normalisation (the spellings spans carry)."""

from __future__ import annotations

import pytest

from otel_cost.pricing import PriceCatalog
from otel_cost.pricing._names import model_candidates, normalise_provider


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("openai", "openai"),
        ("az.ai.openai", "azure"),
        ("azure.ai.openai", "azure"),
        ("azure.ai.inference", "azure"),
        ("aws.bedrock", "aws"),
        ("gcp.vertex_ai", "google"),
        ("vertex_ai", "google"),
        ("gcp.gemini", "google"),
        ("gemini", "google"),
        ("mistral_ai", "mistral"),
        ("x_ai", "x-ai"),
        ("xai", "x-ai"),
        (" Anthropic ", "anthropic"),
        ("ibm.watsonx.ai", "ibm.watsonx.ai"),
        ("", None),
        (None, None),
    ],
)
def test_normalise_provider(name: str | None, expected: str | None) -> None:
    assert normalise_provider(name) == expected


def test_candidates_bedrock_id() -> None:
    refs = [ref for _, ref in model_candidates("us.anthropic.claude-3-5-sonnet-20241022-v2:0")]
    assert refs[0] == "us.anthropic.claude-3-5-sonnet-20241022-v2:0"  # as written first
    assert "anthropic.claude-3-5-sonnet-20241022-v2:0" in refs
    assert "claude-3-5-sonnet-20241022" in refs
    assert refs[-1] == "claude-3-5-sonnet"  # date suffix stripped last
    assert ("anthropic", "claude-3-5-sonnet-20241022") in model_candidates(
        "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
    )


def test_candidates_gateway_prefix_and_dates() -> None:
    assert model_candidates("openai/gpt-4o-2024-08-06") == [
        (None, "openai/gpt-4o-2024-08-06"),
        ("openai", "gpt-4o-2024-08-06"),
        ("openai", "gpt-4o"),
    ]
    assert model_candidates("claude-3-5-sonnet@20240620")[-1] == (None, "claude-3-5-sonnet")
    assert model_candidates("GPT-4o") == [(None, "gpt-4o")]


@pytest.mark.parametrize(
    ("provider", "model", "entry"),
    [
        (None, "gpt-4o", "openai/gpt-4o"),
        (None, "claude-3-5-sonnet-20241022", "anthropic/claude-3-5-sonnet"),
        (None, "gemini-2.5-pro", "google/gemini-2.5-pro"),
        ("openrouter", "anthropic/claude-sonnet-4.5", None),
        ("azure", "gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini"),
        (
            "aws.bedrock",
            "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "aws/regional.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        ("gcp.vertex_ai", "claude-3-5-sonnet-v2@20241022", "google/claude-3-5-sonnet"),  # Vertex's own entry
        ("groq", "llama-3.3-70b-versatile", "groq/llama-3.3-70b-versatile"),
    ],
)
def test_resolution(catalog: PriceCatalog, provider: str | None, model: str, entry: str | None) -> None:
    found = catalog.resolve(model, provider)
    assert not isinstance(found, str), found
    if entry is not None:
        assert found.entry.id == entry
