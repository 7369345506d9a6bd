"""The catalog version names exactly the bytes that were parsed.

Each catalog file and a replacement genai-prices data file is read once; the version hashes those
same bytes. The tests rewrite a file on disk right after the parser has seen it (what an editor
or a deploy saving the file mid-load does): the catalog must keep the prices it parsed and the
version those prices' bytes give, not the new file's. The parser (``yaml.load``, ``json.loads``)
is wrapped only to do the rewrite at that moment; it still does the real parsing.

Prices here are the files' own: $1 / $2 per MTok before the rewrite, $5 / $6 after; 1,000,000
input + 100,000 output tokens cost 1 + 0.2 = 1.2 before, 5 + 0.6 = 5.6 after.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_cost.pricing import CatalogError, TokenUsage, load_catalog
from otel_cost.pricing.catalog import GENAI_PRICES_DATA_ENV

USAGE = TokenUsage(input_tokens=1_000_000, output_tokens=100_000)

_MODEL = """
version: 1
models:
  - id: acme-70b
    provider: acme
    prices: {{input_mtok: {inp}, output_mtok: {out}}}
"""
BEFORE = _MODEL.format(inp=1, out=2)
AFTER = _MODEL.format(inp=5, out=6)


def _as_bytes(document: Any) -> bytes | None:
    if isinstance(document, bytes):
        return document
    return document.encode("utf-8") if isinstance(document, str) else None


def _rewrite_after_parse(
    parse: Callable[..., Any], path: Path, seen: bytes, new: bytes
) -> Callable[..., Any]:
    """``parse``, which rewrites ``path`` to ``new`` once it has parsed ``seen`` (its old bytes)."""

    def wrapper(document: Any, *args: Any, **kwargs: Any) -> Any:
        result = parse(document, *args, **kwargs)
        if _as_bytes(document) == seen:
            path.write_bytes(new)
        return result

    return wrapper


def test_user_file_rewritten_after_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(AFTER, encoding="utf-8")
    after_version = load_catalog([path]).version
    path.write_text(BEFORE, encoding="utf-8")
    before_version = load_catalog([path]).version
    assert before_version != after_version

    monkeypatch.setattr(yaml, "load", _rewrite_after_parse(yaml.load, path, BEFORE.encode(), AFTER.encode()))
    catalog = load_catalog([path])

    assert path.read_text(encoding="utf-8") == AFTER  # the rewrite did happen mid-load
    assert catalog.price_tokens("acme-70b", USAGE, provider="acme").amount == Decimal("1.2")
    assert catalog.version == before_version


def _snapshot(inp: str, out: str) -> bytes:
    """A genai-prices ``data.json`` holding one model, openai/gpt-4o, at ``inp`` / ``out`` per MTok."""
    model = {"id": "gpt-4o", "match": {"equals": "gpt-4o"}, "prices": {"input_mtok": inp, "output_mtok": out}}
    provider = {
        "id": "openai",
        "name": "OpenAI",
        "api_pattern": "https://api\\.openai\\.com",
        "models": [model],
    }
    return json.dumps([provider]).encode("utf-8")


def test_genai_prices_data_rewritten_after_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data.json"
    monkeypatch.setenv(GENAI_PRICES_DATA_ENV, str(data))
    before, after = _snapshot("1", "2"), _snapshot("5", "6")
    data.write_bytes(after)
    after_version = load_catalog().version
    data.write_bytes(before)
    before_version = load_catalog().version
    assert before_version != after_version

    monkeypatch.setattr(json, "loads", _rewrite_after_parse(json.loads, data, before, after))
    catalog = load_catalog()

    assert data.read_bytes() == after  # the rewrite did happen mid-load
    assert catalog.price_tokens("gpt-4o", USAGE, provider="openai").amount == Decimal("1.2")
    assert catalog.version == before_version


def test_file_not_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("aliases: {caf\xe9: gpt-4o}\n".encode("latin-1"))
    with pytest.raises(CatalogError, match=r"latin1\.yaml.*not UTF-8"):
        load_catalog([path])
