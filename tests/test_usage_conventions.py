"""Usage read per instrumentation: the convention comes from the span's instrumentation scope
(name, version) and provider (otel_cost.conventions), not from the numbers; Gemini thinking left
out of output is read from the total; the current semconv and OpenInference names are read.

Each span is built to match what the named instrumentation release writes, read in its source
(file and function named per case); the Bedrock and Gemini ones are also driven for real in
tests/e2e. docs/usage.md has the same table.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from otel_cost import semconv as sc
from otel_cost.conventions import CONVENTIONS, convention_for
from otel_cost.pricing import PriceCatalog, load_catalog
from otel_cost.pricing.types import TokenUsage
from otel_cost.usage import CallFacts, read_call

M = Decimal(1_000_000)

BEDROCK_SCOPE = ("opentelemetry.instrumentation.bedrock", "0.62.4")
# OpenLLMetry bedrock 0.62.4, span_utils.converse_usage_record: Bedrock's usage.inputTokens (30,000,
# cache excluded), outputTokens, cacheReadInputTokens / cacheWriteInputTokens as they are, and
# gen_ai.usage.total_tokens = input + output.
BEDROCK_CONVERSE: dict[str, object] = {
    sc.GEN_AI_PROVIDER_NAME: "aws.bedrock",
    sc.GEN_AI_OPERATION_NAME: "chat",
    sc.GEN_AI_REQUEST_MODEL: "claude-3-5-sonnet-20241022-v2:0",
    sc.GEN_AI_USAGE_INPUT_TOKENS: 30_000,
    sc.GEN_AI_USAGE_OUTPUT_TOKENS: 1_000,
    sc.GEN_AI_USAGE_TOTAL_TOKENS: 31_000,
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 18_000,
    sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 2_000,
}


@pytest.fixture(scope="module")
def catalog() -> PriceCatalog:
    return load_catalog()


def _read(attrs: dict[str, object], scope: tuple[str, str] = ("", "")) -> CallFacts:
    facts = read_call(attrs, scope_name=scope[0], scope_version=scope[1])
    assert facts is not None
    return facts


def test_openllmetry_bedrock_input_excludes_cache(catalog: PriceCatalog) -> None:
    """30,000 uncached + 18,000 cache reads + 2,000 cache writes = a 50,000-token prompt.

    Claude 3.5 Sonnet v2 on Bedrock (aws.amazon.com/bedrock/pricing): $3 in, $3.75 cache write,
    $0.30 cache read, $15 out per 1M. 30,000 x 3 + 2,000 x 3.75 + 18,000 x 0.30 + 1,000 x 15
    = 90,000 + 7,500 + 5,400 + 15,000 -> $0.1179. Read as semconv (cache inside the 30,000) it
    came to 10,000 x 3 + 7,500 + 5,400 + 15,000 -> $0.0579, 51% under."""
    facts = _read(BEDROCK_CONVERSE, BEDROCK_SCOPE)
    assert facts.usage == TokenUsage(
        input_tokens=50_000, output_tokens=1_000, cache_read_tokens=18_000, cache_write_tokens=2_000
    )
    assert facts.usage is not None
    result = catalog.price_tokens(facts.model or "", facts.usage, provider=facts.provider)
    assert result.amount == Decimal("0.1179")
    # Without the scope only the numeric guard is left, and 20,000 cached < 30,000 hides it.
    unknown = _read(BEDROCK_CONVERSE)
    assert unknown.usage is not None and unknown.usage.input_tokens == 30_000


def test_openllmetry_bedrock_rule_is_for_bedrock_only() -> None:
    # The same scope naming another provider is not the Bedrock convention: the guard applies.
    attrs = {**BEDROCK_CONVERSE, sc.GEN_AI_PROVIDER_NAME: "anthropic"}
    facts = _read(attrs, BEDROCK_SCOPE)
    assert facts.usage is not None and facts.usage.input_tokens == 30_000


@pytest.mark.parametrize(
    ("scope", "attrs", "expected"),
    [
        pytest.param(
            # OpenLLMetry anthropic 0.62.4, __init__._set_token_usage: input = input_tokens +
            # cache_read + cache_creation (48,000 with 18,000 read), under the current names.
            ("opentelemetry.instrumentation.anthropic", "0.62.4"),
            {
                sc.GEN_AI_PROVIDER_NAME: "anthropic",
                sc.GEN_AI_REQUEST_MODEL: "claude-3-5-sonnet-20241022",
                sc.GEN_AI_USAGE_INPUT_TOKENS: 48_000,
                sc.GEN_AI_USAGE_OUTPUT_TOKENS: 1_000,
                sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 18_000,
            },
            TokenUsage(input_tokens=48_000, output_tokens=1_000, cache_read_tokens=18_000),
            id="openllmetry-anthropic",
        ),
        pytest.param(
            # openai-v2 2.4b0 through opentelemetry-util-genai 1.1b0 (scope opentelemetry.util.genai.handler):
            # OpenAI's prompt_tokens include cached_tokens.
            ("opentelemetry.util.genai.handler", "1.1b0"),
            {
                sc.GEN_AI_PROVIDER_NAME: "openai",
                sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
                sc.GEN_AI_USAGE_INPUT_TOKENS: 1_200,
                sc.GEN_AI_USAGE_OUTPUT_TOKENS: 300,
                sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1_024,
            },
            TokenUsage(input_tokens=1_200, output_tokens=300, cache_read_tokens=1_024),
            id="openai-v2",
        ),
        pytest.param(
            # opentelemetry-util-genai 1.3b0 (_inference_invocation): semconv's current cache
            # write name gen_ai.usage.cache_write.input_tokens, inside input.
            ("opentelemetry.util.genai.handler", "1.3b0"),
            {
                sc.GEN_AI_PROVIDER_NAME: "anthropic",
                sc.GEN_AI_REQUEST_MODEL: "claude-3-5-sonnet-20241022",
                sc.GEN_AI_USAGE_INPUT_TOKENS: 5_000,
                sc.GEN_AI_USAGE_OUTPUT_TOKENS: 100,
                sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 4_000,
            },
            TokenUsage(input_tokens=5_000, output_tokens=100, cache_write_tokens=4_000),
            id="util-genai-cache-write",
        ),
        pytest.param(
            # OpenInference bedrock 0.1.61, _converse_attributes.get_token_counts: prompt =
            # inputTokens + cacheRead + cacheWrite, details beside it.
            ("openinference.instrumentation.bedrock", "0.1.61"),
            {
                sc.LLM_PROVIDER: "aws",
                sc.LLM_MODEL_NAME: "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
                sc.LLM_TOKEN_COUNT_PROMPT: 48_000,
                sc.LLM_TOKEN_COUNT_COMPLETION: 1_000,
                sc.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ: 18_000,
            },
            TokenUsage(input_tokens=48_000, output_tokens=1_000, cache_read_tokens=18_000),
            id="openinference-bedrock-converse",
        ),
        pytest.param(
            # Same release, _wrappers._NovaStreamCallback: prompt = inputTokens as is (cache
            # excluded). Per code path, so only the guard: 30,000 < 40,000 cached is caught.
            ("openinference.instrumentation.bedrock", "0.1.61"),
            {
                sc.LLM_PROVIDER: "aws",
                sc.LLM_MODEL_NAME: "us.amazon.nova-lite-v1:0",
                sc.LLM_TOKEN_COUNT_PROMPT: 30_000,
                sc.LLM_TOKEN_COUNT_COMPLETION: 1_000,
                sc.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ: 40_000,
            },
            TokenUsage(input_tokens=70_000, output_tokens=1_000, cache_read_tokens=40_000),
            id="openinference-bedrock-nova-stream",
        ),
        pytest.param(
            # OpenInference anthropic 3.1.0, _utils: prompt = input + cache_creation + cache_read;
            # llm.request.model_name / llm.response.model_name (_wrappers).
            ("openinference.instrumentation.anthropic", "3.1.0"),
            {
                sc.LLM_PROVIDER: "anthropic",
                sc.LLM_REQUEST_MODEL_NAME: "claude-sonnet-4-5",
                sc.LLM_RESPONSE_MODEL_NAME: "claude-sonnet-4-5-20250929",
                sc.LLM_TOKEN_COUNT_PROMPT: 6_000,
                sc.LLM_TOKEN_COUNT_COMPLETION: 200,
                sc.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ: 1_000,
                sc.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE: 4_000,
            },
            TokenUsage(
                input_tokens=6_000, output_tokens=200, cache_read_tokens=1_000, cache_write_tokens=4_000
            ),
            id="openinference-anthropic",
        ),
        pytest.param(
            # openinference-semantic-conventions 0.1.42: prompt_details.cache_input, "input tokens
            # in the prompt that were cached" (a cache read under its older name).
            ("openinference.instrumentation.openai", "0.1.66"),
            {
                sc.LLM_PROVIDER: "openai",
                sc.LLM_MODEL_NAME: "gpt-4o-mini",
                sc.LLM_TOKEN_COUNT_PROMPT: 2_000,
                sc.LLM_TOKEN_COUNT_COMPLETION: 10,
                sc.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_INPUT: 1_536,
            },
            TokenUsage(input_tokens=2_000, output_tokens=10, cache_read_tokens=1_536),
            id="openinference-cache-input",
        ),
        pytest.param(
            # Official google-genai 1.3b0, generate_content: output = candidates + thoughts,
            # gen_ai.usage.reasoning.output_tokens = thoughts (through util-genai 1.3b0).
            ("opentelemetry.instrumentation.google_genai", "1.3b0"),
            {
                sc.GEN_AI_PROVIDER_NAME: "gcp.gen_ai",
                sc.GEN_AI_REQUEST_MODEL: "gemini-2.5-flash",
                sc.GEN_AI_USAGE_INPUT_TOKENS: 1_000,
                sc.GEN_AI_USAGE_OUTPUT_TOKENS: 2_000,
                sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 1_800,
            },
            TokenUsage(input_tokens=1_000, output_tokens=2_000, reasoning_tokens=1_800),
            id="google-genai-official",
        ),
        pytest.param(
            # OpenInference google-genai 1.4.14, _utils: completion = candidates + thoughts,
            # completion_details.reasoning = thoughts, total = max(prompt + completion, total).
            ("openinference.instrumentation.google_genai", "1.4.14"),
            {
                sc.LLM_PROVIDER: "google",
                sc.LLM_MODEL_NAME: "gemini-2.5-flash",
                sc.LLM_TOKEN_COUNT_PROMPT: 1_000,
                sc.LLM_TOKEN_COUNT_COMPLETION: 2_000,
                sc.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING: 1_800,
                sc.LLM_TOKEN_COUNT_TOTAL: 3_000,
            },
            TokenUsage(input_tokens=1_000, output_tokens=2_000, reasoning_tokens=1_800),
            id="openinference-google-genai",
        ),
    ],
)
def test_convention_per_instrumentation(
    scope: tuple[str, str], attrs: dict[str, object], expected: TokenUsage
) -> None:
    facts = _read(attrs, scope)
    assert facts.usage == expected
    assert not facts.reasoning_inferred


GEMINI_THINKING = [
    pytest.param(
        # OpenLLMetry vertexai 0.62.4, span_utils.set_model_response_attributes: output =
        # candidates_token_count, llm.usage.total_tokens = total_token_count (thoughts included).
        ("opentelemetry.instrumentation.vertexai", "0.62.4"),
        {
            sc.GEN_AI_SYSTEM: "Google",
            sc.GEN_AI_REQUEST_MODEL: "gemini-2.5-flash",
            sc.GEN_AI_RESPONSE_MODEL: "gemini-2.5-flash",
            sc.GEN_AI_USAGE_INPUT_TOKENS: 1_000,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: 200,
            sc.OPENLLMETRY_LLM_USAGE_TOTAL_TOKENS: 3_000,
        },
        id="openllmetry-vertexai",
    ),
    pytest.param(
        # OpenLLMetry google_generativeai 0.62.4 (instruments google-genai), span_utils: the same
        # counts, total under gen_ai.usage.total_tokens, provider gcp.gen_ai.
        ("opentelemetry.instrumentation.google_generativeai", "0.62.4"),
        {
            sc.GEN_AI_PROVIDER_NAME: "gcp.gen_ai",
            sc.GEN_AI_REQUEST_MODEL: "gemini-2.5-flash",
            sc.GEN_AI_USAGE_INPUT_TOKENS: 1_000,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: 200,
            sc.GEN_AI_USAGE_TOTAL_TOKENS: 3_000,
        },
        id="openllmetry-google-genai",
    ),
    pytest.param(
        # OpenInference vertexai 0.1.29, _wrapper: prompt / completion = candidates / total.
        ("openinference.instrumentation.vertexai", "0.1.29"),
        {
            sc.LLM_PROVIDER: "google",
            sc.LLM_SYSTEM: "vertexai",
            sc.LLM_MODEL_NAME: "projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash",
            sc.LLM_TOKEN_COUNT_PROMPT: 1_000,
            sc.LLM_TOKEN_COUNT_COMPLETION: 200,
            sc.LLM_TOKEN_COUNT_TOTAL: 3_000,
        },
        id="openinference-vertexai",
    ),
]


@pytest.mark.parametrize(("scope", "attrs"), GEMINI_THINKING)
def test_gemini_thinking_left_out_of_output_is_read_from_the_total(
    catalog: PriceCatalog, scope: tuple[str, str], attrs: dict[str, object]
) -> None:
    """1,000 prompt + 200 candidates + 1,800 thoughts = 3,000 total; Gemini bills thoughts as
    output. gemini-2.5-flash (ai.google.dev/gemini-api/docs/pricing): $0.30 in, $2.50 out per 1M.
    1,000 x 0.30 + 2,000 x 2.50 = 300 + 5,000 -> $0.0053; without the thoughts 300 + 500 ->
    $0.0008, 6.6x too low."""
    facts = _read(attrs, scope)
    assert facts.usage == TokenUsage(input_tokens=1_000, output_tokens=2_000, reasoning_tokens=1_800)
    assert facts.reasoning_inferred
    assert facts.usage is not None
    result = catalog.price_tokens(facts.model or "", facts.usage, provider=facts.provider)
    assert result.amount == (1_000 * Decimal("0.30") + 2_000 * Decimal("2.50")) / M == Decimal("0.0053")


def test_total_gap_is_not_reasoning_where_the_provider_does_not_bill_thinking_so() -> None:
    # Bedrock's total counts cache tokens; a gap there is not thinking.
    facts = _read({**BEDROCK_CONVERSE, sc.GEN_AI_USAGE_TOTAL_TOKENS: 51_000})
    assert facts.usage is not None and facts.usage.reasoning_tokens == 0 and not facts.reasoning_inferred
    # A Gemini call that reports its reasoning: the count is taken as written.
    gemini = {
        sc.GEN_AI_PROVIDER_NAME: "gcp.gen_ai",
        sc.GEN_AI_REQUEST_MODEL: "gemini-2.5-flash",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 1_000,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 2_000,
        sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 1_800,
        sc.GEN_AI_USAGE_TOTAL_TOKENS: 3_500,
    }
    facts = _read(gemini)
    assert facts.usage is not None and facts.usage.output_tokens == 2_000 and not facts.reasoning_inferred


def test_cache_write_current_name_first_and_old_name_still_read() -> None:
    base: dict[str, object] = {
        sc.GEN_AI_PROVIDER_NAME: "anthropic",
        sc.GEN_AI_REQUEST_MODEL: "claude-3-5-sonnet-20241022",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 5_000,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 100,
    }
    old = _read({**base, sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 4_000})
    new = _read({**base, sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 4_000})
    both = _read(
        {
            **base,
            sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 4_000,
            sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 1,
        }
    )
    for facts in (old, new, both):
        assert facts.usage is not None and facts.usage.cache_write_tokens == 4_000


def test_openinference_request_and_response_model_names() -> None:
    facts = _read(
        {
            sc.OPENINFERENCE_SPAN_KIND: "LLM",
            sc.LLM_PROVIDER: "anthropic",
            sc.LLM_REQUEST_MODEL_NAME: "claude-sonnet-4-5",
            sc.LLM_RESPONSE_MODEL_NAME: "claude-sonnet-4-5-20250929",
            sc.LLM_TOKEN_COUNT_PROMPT: 10,
            sc.LLM_TOKEN_COUNT_COMPLETION: 5,
        }
    )
    assert (facts.request_model, facts.response_model) == ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929")
    assert facts.model == "claude-sonnet-4-5-20250929"


def test_convention_lookup_by_scope_version_and_prefix() -> None:
    # OpenLLMetry's anthropic instrumentation folds the cache into input since 0.38; before that
    # nothing was checked, so the guard applies.
    assert (
        convention_for("opentelemetry.instrumentation.anthropic", "0.62.4", "anthropic").input
        == "includes_cache"
    )
    assert convention_for("opentelemetry.instrumentation.anthropic", "0.37.1", "anthropic").input == "guard"
    # OpenLLMetry's openai scope is opentelemetry.instrumentation.openai.v1: a dotted child matches.
    assert (
        convention_for("opentelemetry.instrumentation.openai.v1", "0.62.4", "openai").input
        == "includes_cache"
    )
    assert convention_for("opentelemetry.instrumentation.openaix", "1", "openai").input == "guard"
    assert convention_for("", "", "aws.bedrock").input == "guard"
    assert (
        convention_for("opentelemetry.instrumentation.bedrock", "0.62.4", "aws.bedrock").input
        == "excludes_cache"
    )
    assert all(row.checked for row in CONVENTIONS)
