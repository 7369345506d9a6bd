"""usage.read_call: every naming convention, normalised to semconv (input includes cache)."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from otel_cost import semconv as sc
from otel_cost import usage as usage_module
from otel_cost.pricing.types import TokenUsage
from otel_cost.usage import INVALID_USAGE, READ_KEYS, read_call


def test_current_semconv_openai_v2_shape() -> None:
    facts = read_call(
        {
            sc.GEN_AI_OPERATION_NAME: "chat",
            sc.GEN_AI_PROVIDER_NAME: "openai",
            sc.GEN_AI_SYSTEM: "openai",
            sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
            sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
            sc.GEN_AI_USAGE_INPUT_TOKENS: 1200,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: 300,
            sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1024,
            sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 128,
            sc.GEN_AI_OPENAI_RESPONSE_SERVICE_TIER: "default",
        }
    )
    assert facts is not None
    assert facts.kind == "llm"
    assert facts.provider == "openai"
    assert facts.model == "gpt-4o-mini-2024-07-18"
    assert facts.request_model == "gpt-4o-mini"
    assert facts.operation == "chat"
    assert facts.service_tier is None  # "default" is the standard price
    assert facts.usage == TokenUsage(
        input_tokens=1200, output_tokens=300, cache_read_tokens=1024, reasoning_tokens=128
    )


def test_legacy_names_and_openllmetry_underscore_cache_names() -> None:
    facts = read_call(
        {
            sc.GEN_AI_SYSTEM: "Anthropic",
            sc.GEN_AI_REQUEST_MODEL: "claude-3-5-sonnet-20241022",
            sc.OPENLLMETRY_LLM_REQUEST_TYPE: "chat",
            sc.GEN_AI_USAGE_PROMPT_TOKENS: 2100,
            sc.GEN_AI_USAGE_COMPLETION_TOKENS: 50,
            sc.OPENLLMETRY_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 2000,
            sc.OPENLLMETRY_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 0,
        }
    )
    assert facts is not None and facts.usage is not None
    assert facts.provider == "Anthropic"
    assert facts.operation == "chat"
    # 2100 >= 2000 cache tokens: read as semconv (input includes the cache reads).
    assert facts.usage.input_tokens == 2100
    assert facts.usage.cache_read_tokens == 2000


def test_raw_anthropic_convention_is_detected_and_converted() -> None:
    # Anthropic's API: input_tokens=14 uncached, cache_read=1800, cache_creation=200. 14 < 2000 so
    # the input cannot include the cache: 14 + 1800 + 200 = 2014 input tokens in semconv terms.
    facts = read_call(
        {
            sc.GEN_AI_SYSTEM: "anthropic",
            sc.GEN_AI_USAGE_INPUT_TOKENS: 14,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: 9,
            sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1800,
            sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 200,
        }
    )
    assert facts is not None and facts.usage is not None
    assert facts.usage.input_tokens == 2014
    assert facts.usage.cache_write_tokens == 200


def test_old_openllmetry_llm_usage_names() -> None:
    facts = read_call(
        {
            sc.GEN_AI_SYSTEM: "openai",
            sc.OPENLLMETRY_LLM_USAGE_PROMPT_TOKENS: 10,
            sc.OPENLLMETRY_LLM_USAGE_COMPLETION_TOKENS: 20,
            sc.OPENLLMETRY_LLM_USAGE_REASONING_TOKENS: 5,
        }
    )
    assert facts is not None
    assert facts.usage == TokenUsage(input_tokens=10, output_tokens=20, reasoning_tokens=5)


def test_openinference() -> None:
    facts = read_call(
        {
            sc.OPENINFERENCE_SPAN_KIND: "LLM",
            sc.LLM_MODEL_NAME: "gpt-4o",
            sc.LLM_PROVIDER: "openai",
            sc.LLM_TOKEN_COUNT_PROMPT: 500,
            sc.LLM_TOKEN_COUNT_COMPLETION: 40,
            sc.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ: 256,
            sc.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING: 10,
            sc.LLM_TOKEN_COUNT_PROMPT_DETAILS_AUDIO: 3,
        }
    )
    assert facts is not None
    assert facts.operation == "chat"
    assert facts.model == "gpt-4o"
    assert facts.usage == TokenUsage(
        input_tokens=500, output_tokens=40, cache_read_tokens=256, reasoning_tokens=10, input_audio_tokens=3
    )
    emb = read_call({sc.OPENINFERENCE_SPAN_KIND: "EMBEDDING", sc.LLM_TOKEN_COUNT_PROMPT: 8})
    assert emb is not None and emb.operation == "embeddings"


@pytest.mark.parametrize(
    "attrs",
    [
        {sc.GEN_AI_OPERATION_NAME: "invoke_agent", sc.GEN_AI_USAGE_INPUT_TOKENS: 10},
        {sc.GEN_AI_OPERATION_NAME: "execute_tool"},
        {sc.OPENLLMETRY_TRACELOOP_SPAN_KIND: "workflow", sc.GEN_AI_SYSTEM: "openai"},  # not a call: None
        {sc.OPENLLMETRY_TRACELOOP_SPAN_KIND: "agent"},
        {sc.OPENINFERENCE_SPAN_KIND: "AGENT", sc.LLM_TOKEN_COUNT_PROMPT: 3},
        {sc.OPENINFERENCE_SPAN_KIND: "CHAIN"},
        {sc.OPENINFERENCE_SPAN_KIND: "TOOL"},
        {"db.system": "postgresql"},
    ],
)
def test_not_billable_calls(attrs: dict[str, object]) -> None:
    assert read_call(attrs) is None


@pytest.mark.parametrize(
    "bad",
    [-1, "many", 1.5, float("nan"), True, 10**9 + 1, [1, 2]],
)
def test_invalid_counts(bad: object) -> None:
    facts = read_call(
        {sc.GEN_AI_SYSTEM: "openai", sc.GEN_AI_USAGE_INPUT_TOKENS: bad, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 1}
    )
    assert facts is not None
    assert facts.usage is None
    assert facts.usage_error == INVALID_USAGE


def test_numeric_strings_and_integral_floats_are_counts() -> None:
    facts = read_call(
        {sc.GEN_AI_SYSTEM: "openai", sc.GEN_AI_USAGE_INPUT_TOKENS: "12", sc.GEN_AI_USAGE_OUTPUT_TOKENS: 3.0}
    )
    assert facts is not None and facts.usage == TokenUsage(input_tokens=12, output_tokens=3)


def test_no_usage_is_not_an_error() -> None:
    facts = read_call({sc.GEN_AI_SYSTEM: "openai", sc.GEN_AI_REQUEST_MODEL: "gpt-4o"})
    assert facts is not None
    assert facts.usage is None and facts.usage_error is None


def test_service_tier_and_provider_cost() -> None:
    facts = read_call(
        {
            sc.GEN_AI_PROVIDER_NAME: "openai",
            sc.GEN_AI_USAGE_INPUT_TOKENS: 1,
            sc.OPENAI_RESPONSE_SERVICE_TIER: "Flex",
            sc.GEN_AI_USAGE_COST_AMOUNT: 0.00042,
            sc.GEN_AI_USAGE_COST_SOURCE: "provider",
        }
    )
    assert facts is not None
    assert facts.service_tier == "flex"
    assert facts.provider_cost == Decimal("0.00042")
    local = read_call(
        {sc.GEN_AI_PROVIDER_NAME: "x", sc.GEN_AI_USAGE_COST_AMOUNT: 1.0, sc.GEN_AI_USAGE_COST_SOURCE: "local"}
    )
    assert local is not None and local.provider_cost is None


def test_http_new_and_old_semconv() -> None:
    new = read_call(
        {
            sc.HTTP_REQUEST_METHOD: "get",
            sc.URL_FULL: "https://user:secret@API.Search.example:8443/v1/search?q=x&key=abc",
            sc.COST_UNITS: 3,
        }
    )
    assert new is not None
    assert (new.kind, new.http_method, new.http_host, new.http_path, new.http_units) == (
        "http", "GET", "api.search.example", "/v1/search", 3,
    )  # fmt: skip
    assert new.operation == "GET"
    old = read_call({sc.HTTP_METHOD: "POST", sc.HTTP_HOST: "ocr.example", sc.HTTP_TARGET: "/pages?x=1"})
    assert old is not None and (old.http_host, old.http_path) == ("ocr.example", "/pages")
    assert (
        read_call({sc.HTTP_REQUEST_METHOD: "GET", sc.URL_FULL: "http://x/y"}, span_kind_client=False) is None
    )


def test_already_priced_is_flagged() -> None:
    facts = read_call({sc.GEN_AI_SYSTEM: "openai", sc.COST_STATUS: "priced", sc.COST_AMOUNT: 0.1})
    assert facts is not None and facts.already_priced


def test_read_keys_are_all_read_call_needs() -> None:
    """The receiver reads only READ_KEYS from protobuf spans: a span cut down to them must give
    the same facts as the whole span, for every convention read here."""
    spans: list[dict[str, object]] = [
        {
            sc.GEN_AI_SYSTEM: "openai",
            sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
            sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-2024-08-06",
            sc.GEN_AI_USAGE_INPUT_TOKENS: 100,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: 20,
            sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 40,
            sc.OPENAI_RESPONSE_SERVICE_TIER: "flex",
            "gen_ai.prompt.0.content": "not read",
        },
        {
            sc.OPENINFERENCE_SPAN_KIND: "LLM",
            sc.LLM_MODEL_NAME: "gpt-4o",
            sc.LLM_TOKEN_COUNT_PROMPT: 10,
            sc.LLM_TOKEN_COUNT_COMPLETION: 2,
        },
        {sc.OPENLLMETRY_TRACELOOP_SPAN_KIND: "workflow", sc.GEN_AI_SYSTEM: "openai"},  # not a call: None
        {sc.HTTP_REQUEST_METHOD: "GET", sc.URL_FULL: "https://h.example/p?q=1", sc.COST_UNITS: 3},
        {sc.HTTP_METHOD: "POST", sc.HTTP_HOST: "h.example", sc.HTTP_TARGET: "/x", "http.status_code": 200},
        {sc.GEN_AI_PROVIDER_NAME: "openai", sc.COST_AMOUNT: 0.5, sc.COST_STATUS: "priced"},
    ]
    wholes = [read_call(attrs) for attrs in spans]
    assert [facts is None for facts in wholes] == [False, False, True, False, False, False]
    for attrs, whole in zip(spans, wholes, strict=True):
        assert read_call({k: v for k, v in attrs.items() if k in READ_KEYS}) == whole, attrs


def test_fast_built_facts_equal_constructed_ones() -> None:
    """read_call builds CallFacts and TokenUsage by slot stores (no frozen __init__): every field
    is set, the values are ordinary frozen instances, equal (and hash-equal) to constructed ones."""
    from dataclasses import FrozenInstanceError, fields

    from otel_cost.usage import CallFacts

    facts = read_call(
        {
            sc.GEN_AI_PROVIDER_NAME: "openai",
            sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
            sc.GEN_AI_OPERATION_NAME: "chat",
            sc.GEN_AI_USAGE_INPUT_TOKENS: 10,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: 5,
            sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 3,
        }
    )
    expected = CallFacts(
        kind="llm",
        provider="openai",
        request_model="gpt-4o",
        response_model=None,
        operation="chat",
        usage=TokenUsage(input_tokens=10, output_tokens=5, cache_read_tokens=3),
        usage_error=None,
        service_tier=None,
    )
    assert type(facts) is CallFacts and facts is not None and type(facts.usage) is TokenUsage
    for value, cls in ((facts, CallFacts), (facts.usage, TokenUsage)):
        for field in fields(cls):
            getattr(value, field.name)  # every slot filled
    assert facts == expected and hash(facts) == hash(expected)
    with pytest.raises(FrozenInstanceError):
        facts.kind = "http"  # type: ignore[misc]


@pytest.mark.parametrize("value", [-0.5, "NaN", "lots", True, [1]])
def test_an_invalid_provider_cost_is_ignored_and_said_once(
    value: object, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a cost: the call keeps its usage (priced locally) and the first such value is logged."""
    monkeypatch.setattr(usage_module, "_invalid_cost_warned", False)
    attrs = {
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 10,
        sc.GEN_AI_USAGE_COST_AMOUNT: value,
        sc.GEN_AI_USAGE_COST_SOURCE: "provider",
    }
    with caplog.at_level(logging.WARNING, logger="otel_cost.usage"):
        facts = read_call(attrs)
        read_call(attrs)
    assert facts is not None and facts.provider_cost is None
    assert facts.usage is not None and facts.usage.input_tokens == 10
    assert len(caplog.records) == 1
    assert "is not a cost" in caplog.text and repr(value) in caplog.text
