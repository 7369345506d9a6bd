"""Local token estimates (``otel_cost.estimate``) for gen_ai spans that carry content but no usage.

Token counts below are derived by hand: OpenAI models by o200k_base, split as written beside
each figure (checked with tiktoken), plus OpenAI's documented chat accounting (openai-cookbook,
"How to count tokens with tiktoken": 3 tokens per message besides its role and content, 3
priming the reply); other vendors' models as one token per four characters, rounded up.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from otel_cost import semconv as sc
from otel_cost.estimate import estimate_usage
from otel_cost.pricing.types import TokenUsage

MESSAGES = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Hello, world!"}]}])
SYSTEM = json.dumps([{"type": "text", "content": "Be brief."}])
REPLY = json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "Hi there"}]}])
CHAT: Mapping[str, object] = {
    sc.GEN_AI_INPUT_MESSAGES: MESSAGES,
    sc.GEN_AI_SYSTEM_INSTRUCTIONS: SYSTEM,
    sc.GEN_AI_OUTPUT_MESSAGES: REPLY,
}


def test_openai_chat_accounting_with_system_instructions() -> None:
    # system (1) + "Be brief." (3: "Be", " brief", ".") + 3; user (1) + "Hello, world!" (4: "Hello",
    # ",", " world", "!") + 3; 3 priming: 7 + 8 + 3 = 18. Output "Hi there" (2: "Hi", " there").
    assert estimate_usage(CHAT, "gpt-4o") == TokenUsage(input_tokens=18, output_tokens=2)


def test_openai_embeddings_count_the_text_as_is() -> None:
    # "Hello, world!\nBe brief." = "Hello", ",", " world", "!\n", "Be", " brief", "." = 7
    assert estimate_usage(CHAT, "gpt-4o", "embeddings") == TokenUsage(input_tokens=7, output_tokens=2)


def test_other_vendors_approximate_the_prompt_text() -> None:
    # "Hello, world!\nBe brief." is 13 + 1 + 9 = 23 chars -> 6; "Hi there" 8 chars -> 2
    assert estimate_usage(CHAT, "acme-chat") == TokenUsage(input_tokens=6, output_tokens=2)


@pytest.mark.parametrize(
    ("messages", "input_tokens"),
    [
        # Not JSON: the string is the prompt: "plain", " prompt" = 2.
        ("plain prompt", 2),
        # JSON but not a list: its text, "Hello, world!" = 4.
        (json.dumps({"role": "user", "content": "Hello, world!"}), 4),
        # A message without a role: no chat accounting, the text "Hello, world!" = 4.
        (json.dumps([{"content": "Hello, world!"}]), 4),
    ],
)
def test_openai_prompt_not_chat_messages_is_counted_as_text(messages: str, input_tokens: int) -> None:
    attrs = {sc.GEN_AI_INPUT_MESSAGES: messages}
    assert estimate_usage(attrs, "gpt-4o") == TokenUsage(input_tokens=input_tokens, output_tokens=0)


def test_openai_indexed_prompt_with_roles_uses_chat_accounting() -> None:
    # OpenLLMetry keys. user (1) + "What is 2 plus 2?" (8: "What", " is", " ", "2", " plus", " ",
    # "2", "?") + 3 + 3 priming = 15. Output "It is 4." (5: "It", " is", " ", "4", ".").
    attrs = {
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": "What is 2 plus 2?",
        "gen_ai.completion.0.content": "It is 4.",
    }
    assert estimate_usage(attrs, "gpt-4o") == TokenUsage(input_tokens=15, output_tokens=5)


def test_openinference_values_and_no_content() -> None:
    # input.value "What is 2 plus 2?" 17 chars -> 5; output.value "It is 4." 8 chars -> 2
    attrs = {sc.INPUT_VALUE: "What is 2 plus 2?", sc.OUTPUT_VALUE: "It is 4."}
    assert estimate_usage(attrs, "acme-chat") == TokenUsage(input_tokens=5, output_tokens=2)
    assert estimate_usage({sc.GEN_AI_REQUEST_MODEL: "gpt-4o"}, "gpt-4o") is None


def test_prompt_messages_are_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The prompt's text and its chat accounting read one parse of the messages (and of the
    system instructions). ``json.loads`` is wrapped only to count what it is asked to parse; it
    still parses. No tokenizer is needed: gpt-4o takes the chat path with or without tiktoken."""
    parsed: Counter[str] = Counter()
    loads = json.loads

    def counting(document: Any, *args: Any, **kwargs: Any) -> Any:
        parsed[document] += 1
        return loads(document, *args, **kwargs)

    monkeypatch.setattr(json, "loads", counting)
    assert estimate_usage(CHAT, "gpt-4o") is not None
    assert parsed[MESSAGES] == 1
    assert parsed[SYSTEM] == 1
    assert parsed[REPLY] == 1


def _prose() -> list[str]:
    """English prose not used to measure the factor: the module docstrings of otel_cost."""
    import ast
    from pathlib import Path

    import otel_cost

    texts: list[str] = []
    for path in sorted(Path(otel_cost.__file__).parent.rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        if doc and len(doc) > 300:
            texts.append(doc)
    return texts


def test_mistral_embed_estimate_follows_mistral_s_tokenizer() -> None:
    """mistral-embed counts match Mistral's v1 SentencePiece tokenizer (mistral-common's
    MistralTokenizer.v1()). The estimate (cl100k_base x 1.19, rounded up) must come within 5% of
    it over a corpus not used to measure the factor; chars/4, the estimate before, was 10-19% low."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # mistral-common's own imports
        from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    reference = MistralTokenizer.v1().instruct_tokenizer.tokenizer
    texts = _prose()
    assert len(texts) >= 20
    truth = sum(len(reference.encode(t, bos=False, eos=False)) for t in texts)
    span = {sc.GEN_AI_PROMPT + f".{i}.content": t for i, t in enumerate(texts)}
    usage = estimate_usage(span, "mistral-embed", "embeddings")
    assert usage is not None
    # Joined with one newline per text, which the tokenizer counts too: at most one token each.
    assert 0.95 <= usage.input_tokens / truth <= 1.05, (usage.input_tokens, truth)
    chars4 = sum(math.ceil(len(t) / 4) for t in texts)
    assert chars4 / truth < 0.9
