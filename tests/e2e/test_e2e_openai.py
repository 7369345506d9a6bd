"""The real ``openai`` SDK, instrumented by opentelemetry-instrumentation-openai-v2 (2.4b0) and by
OpenLLMetry's opentelemetry-instrumentation-openai (0.62.x), against a loopback server replaying
recorded OpenAI traffic. Each exported span's cost is checked against the cost derived here from
the recorded usage block and OpenAI's published price (see e2e_support)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import openai
import pytest
from e2e_support import Pipeline, expected_cost, recorded_usage  # pyright: ignore[reportImplicitRelativeImport]

from otel_cost import semconv as sc
from otel_cost.replay import Interaction, ReplayServer, load_cassette


def _drive(client: openai.OpenAI, interaction: Interaction) -> None:
    """Send the recorded request through the SDK, as the recorded test did."""
    body = json.loads(interaction.request_body)
    if interaction.path == "/v1/chat/completions":
        result = client.chat.completions.create(**body)
    elif interaction.path == "/v1/embeddings":
        result = client.embeddings.create(**body)
    elif interaction.path == "/v1/responses":
        result = client.responses.create(**body)
    else:  # pragma: no cover - a cassette this test does not know
        raise AssertionError(interaction.path)
    if body.get("stream"):
        for _ in result:  # type: ignore[union-attr]
            pass


def _run(cassettes_dir: Path, name: str, pipeline: Pipeline) -> list[Interaction]:
    interactions = load_cassette(cassettes_dir / "openai-v2" / name)
    with ReplayServer(interactions) as server:
        with openai.OpenAI(
            base_url=server.url + "/v1", api_key="test_openai_api_key", max_retries=0
        ) as client:
            for interaction in interactions:
                _drive(client, interaction)
        assert all(r.matched for r in server.received)
    return interactions


CHAT_CASES = [
    "test_chat_completion_with_content.yaml",  # chat
    "test_chat_completion_streaming.yaml",  # streaming, usage in the final chunk
    "test_chat_completion_tool_calls_with_content.yaml",  # tool call, then the tool result (2 calls)
    "test_chat_completion_multiple_tools_streaming_with_content.yaml",  # streamed parallel tool calls
    "test_embeddings_with_content.yaml",  # embeddings
    "test_embeddings_with_batch_input.yaml",
]
RESPONSES_CASES = [
    "test_responses_create_basic[content_mode0].yaml",
    "test_responses_create_streaming[content_mode0].yaml",
    "test_responses_create_captures_tool_call_content[content_mode0].yaml",
]


def _check(pipeline: Pipeline, interactions: list[Interaction]) -> None:
    spans = pipeline.llm_spans()
    assert len(spans) == len(interactions)
    for span, interaction in zip(spans, interactions, strict=True):
        usage = recorded_usage(interaction)
        expected = expected_cost(usage)
        attrs = span.attributes or {}
        assert attrs[sc.COST_STATUS] == "priced", dict(attrs)
        assert attrs[sc.COST_AMOUNT] == pytest.approx(float(expected), rel=1e-12), (
            usage,
            expected,
            dict(attrs),
        )
        assert attrs[sc.COST_CURRENCY] == "USD"
        assert attrs[sc.COST_SOURCE] == "local"
        assert attrs[sc.GEN_AI_USAGE_COST_AMOUNT] == attrs[sc.COST_AMOUNT]
        assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == usage.input_tokens
        assert sc.COST_PRICE_REF in attrs
        assert sc.COST_USAGE_ESTIMATED not in attrs


# openai-v2 tests first: see the ``instrument`` fixture for why the order matters.
@pytest.mark.parametrize("cassette", CHAT_CASES)
def test_openai_v2_chat_and_embeddings(
    cassettes_dir: Path, pipeline: Pipeline, instrument: Callable[[str], None], cassette: str
) -> None:
    instrument("openai-v2")
    _check(pipeline, _run(cassettes_dir, cassette, pipeline))


def test_worked_example_gpt_4o_mini(
    cassettes_dir: Path, pipeline: Pipeline, instrument: Callable[[str], None]
) -> None:
    """One figure by hand: recorded usage 12 prompt + 5 completion tokens of gpt-4o-mini at $0.15
    and $0.60 per 1M (openai.com/api/pricing): 12 x 0.15/1e6 + 5 x 0.60/1e6 = $0.0000048."""
    instrument("openai-v2")
    _run(cassettes_dir, "test_chat_completion_with_content.yaml", pipeline)
    (span,) = pipeline.llm_spans()
    assert (span.attributes or {})[sc.COST_AMOUNT] == float(Decimal("0.0000048"))
    assert (span.attributes or {})[sc.COST_ATTRIBUTION + ".service"] == "e2e"


def test_failed_call_gets_no_spend(
    cassettes_dir: Path, pipeline: Pipeline, instrument: Callable[[str], None]
) -> None:
    """A 404 (unknown model) carries no usage: unpriced with a reason, never $0."""
    instrument("openai-v2")
    interactions = load_cassette(cassettes_dir / "openai-v2" / "test_chat_completion_404.yaml")
    with (
        ReplayServer(interactions) as server,
        openai.OpenAI(base_url=server.url + "/v1", api_key="k", max_retries=0) as client,
        pytest.raises(openai.NotFoundError),
    ):
        _drive(client, interactions[0])
    (span,) = pipeline.llm_spans()
    attrs = span.attributes or {}
    assert attrs[sc.COST_STATUS] == "unpriced"
    assert attrs[sc.COST_REASON] == "no_usage"
    assert sc.COST_AMOUNT not in attrs


@pytest.mark.parametrize("cassette", [*CHAT_CASES, *RESPONSES_CASES])
def test_openinference_chat_embeddings_responses(
    cassettes_dir: Path, pipeline: Pipeline, instrument: Callable[[str], None], cassette: str
) -> None:
    """OpenInference's instrumentation writes llm.token_count.* and llm.model_name /
    embedding.model_name instead of gen_ai.*; the cost must come out the same."""
    instrument("openinference-openai")
    _check(pipeline, _run(cassettes_dir, cassette, pipeline))


@pytest.mark.parametrize("cassette", CHAT_CASES)
def test_openllmetry_chat_and_embeddings(
    cassettes_dir: Path, pipeline: Pipeline, instrument: Callable[[str], None], cassette: str
) -> None:
    instrument("openllmetry-openai")
    _check(pipeline, _run(cassettes_dir, cassette, pipeline))


@pytest.mark.parametrize("cassette", RESPONSES_CASES)
def test_openai_responses_api(
    cassettes_dir: Path, pipeline: Pipeline, instrument: Callable[[str], None], cassette: str
) -> None:
    """The responses API through OpenLLMetry (openai-v2 2.4b0 does not instrument it)."""
    instrument("openllmetry-openai")
    _check(pipeline, _run(cassettes_dir, cassette, pipeline))


def test_stream_without_usage_is_estimated(
    cassettes_dir: Path, pipeline: Pipeline, instrument: Callable[[str], None]
) -> None:
    """A stream that ends without a usage chunk (no stream_options.include_usage), through
    OpenLLMetry (which records the prompt and completion on the span): otel-cost counts the
    tokens with tiktoken (cl100k_base for gpt-4) and flags them estimated. Input by OpenAI's chat
    accounting: 3 + "user" (1) + "Say this is a test" (5) + 3 = 12; output "This is a test." = 5.
    That is exactly the usage OpenAI reported for the same prompt in the streaming recording that
    has a usage chunk (test_chat_completion_streaming.yaml: 12 prompt, 5 completion).
    Cost at gpt-4's $30/$60 per 1M (openai.com/api/pricing): 12 x 30 + 5 x 60 = 660 -> $0.00066."""
    instrument("openllmetry-openai")
    _run(cassettes_dir, "test_chat_completion_streaming_not_complete.yaml", pipeline)
    truth = recorded_usage(
        load_cassette(cassettes_dir / "openai-v2" / "test_chat_completion_streaming.yaml")[0]
    )
    (span,) = pipeline.llm_spans()
    attrs = span.attributes or {}
    assert attrs[sc.COST_USAGE_ESTIMATED] is True
    assert (attrs[sc.GEN_AI_USAGE_INPUT_TOKENS], attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (12, 5)
    assert (truth.input_tokens, truth.output_tokens) == (12, 5)
    assert attrs[sc.COST_AMOUNT] == pytest.approx(0.00066, rel=1e-12)
