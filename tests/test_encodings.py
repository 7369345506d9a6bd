"""The tiktoken encodings shipped in the package: tiktoken's exact tokens, checked by hash, and no
network or cache directory needed (tests/test_offline_install.py runs an installed wheel with no
network at all)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import tiktoken
from tiktoken_ext import openai_public

from otel_cost import encodings, estimate
from otel_cost.encodings import ENCODINGS, EncodingUnavailable, load_encoding
from tests.encoding_texts import SAMPLE_TEXTS


def test_known_token_ids_without_any_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """openai-cookbook, "How to count tokens with tiktoken": cl100k_base encodes
    "tiktoken is great!" as [83, 1609, 5963, 374, 2294, 0]. An empty tiktoken cache: nothing can
    come from there or from the network."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert load_encoding("cl100k_base").encode("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]
    assert list(tmp_path.iterdir()) == []


def test_pattern_and_special_tokens_are_tiktoken_s(monkeypatch: pytest.MonkeyPatch) -> None:
    """The split pattern and special tokens shipped in encodings.json are the ones tiktoken's own
    constructors define, and the files are the ones they download (same sha256). The rank files
    are not fetched: the loader tiktoken_ext.openai_public uses is replaced here by one that only
    records what it was asked."""
    asked: dict[str, tuple[str, str | None]] = {}

    def record(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        asked["last"] = (url, expected_hash)
        return {}

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", record)
    manifest = encodings._manifest()  # pyright: ignore[reportPrivateUsage]
    assert {"o200k_base", "cl100k_base"} == ENCODINGS
    for name in ENCODINGS:
        spec: Any = getattr(openai_public, name)()
        url, sha256 = asked["last"]
        assert manifest[name]["sha256"] == sha256
        assert manifest[name]["source"] == url
        assert manifest[name]["pat_str"] == spec["pat_str"]
        assert manifest[name]["special_tokens"] == spec["special_tokens"]


@pytest.fixture
def tiktoken_reference() -> Iterator[None]:
    """tiktoken's own loading (its cache or the network) for comparison; skips where neither is there."""
    try:
        tiktoken.get_encoding("o200k_base")
        tiktoken.get_encoding("cl100k_base")
    except Exception as exc:
        pytest.skip(f"tiktoken cannot load its encodings here to compare with (no cache, no network): {exc}")
    yield


@pytest.mark.usefixtures("tiktoken_reference")
@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_same_tokens_as_tiktoken(name: str) -> None:
    shipped, reference = load_encoding(name), tiktoken.get_encoding(name)
    assert shipped.n_vocab == reference.n_vocab
    for text in SAMPLE_TEXTS:
        assert shipped.encode(text, disallowed_special=()) == reference.encode(text, disallowed_special=())


def test_an_altered_file_is_refused_and_estimation_falls_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    manifest = encodings._manifest()  # pyright: ignore[reportPrivateUsage]
    manifest["o200k_base"]["sha256"] = "0" * 64
    monkeypatch.setattr(encodings, "_manifest", lambda: manifest)
    with pytest.raises(EncodingUnavailable, match="expected 0000"):
        load_encoding("o200k_base")
    monkeypatch.setattr(estimate, "_encoders", {})
    monkeypatch.setattr(estimate, "_failed", set())
    with caplog.at_level(logging.WARNING, logger="otel_cost.estimate"):
        assert estimate.count_tokens("x" * 10, "gpt-4o") == 3  # chars/4, rounded up
    assert "o200k_base unavailable" in caplog.text
