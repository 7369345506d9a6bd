"""User catalog files: custom models, overrides with dates, discounts, aliases, errors, refresh.

List prices the figures below start from (per million tokens, input / output): gpt-4o $2.50 /
$10.00, gpt-4o-mini $0.15 / $0.60 and gpt-4.1 $2.00 / $8.00 (openai.com/api/pricing);
claude-sonnet-4-5 $3 / $15 (anthropic.com/pricing). The user files' own prices are written in
each test."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from price_support import AT_2025, UTC

from otel_cost.pricing import CatalogError, TokenUsage, load_catalog
from otel_cost.pricing.catalog import GENAI_PRICES_DATA_ENV

REPO = Path(__file__).resolve().parents[2]
USAGE = TokenUsage(input_tokens=1_000_000, output_tokens=100_000)


def write(tmp_path: Path, text: str, name: str = "catalog.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_custom_model_with_dated_prices(tmp_path: Path) -> None:
    # Internal rate card: $0.40 in / $0.80 out until 2026-12-01, then $0.30 / $0.60 per MTok.
    # 1,000,000 in + 100,000 out: before 0.40 + 0.08 = 0.48; after 0.30 + 0.06 = 0.36
    path = write(
        tmp_path,
        """
version: 1
models:
  - id: acme-70b
    provider: acme
    match: ["acme-70b-*"]
    prices:
      - {effective_until: "2026-12-01", input_mtok: "0.40", output_mtok: "0.80"}
      - {effective_from: "2026-12-01", input_mtok: "0.30", output_mtok: "0.60"}
""",
    )
    catalog = load_catalog([path])
    before = catalog.price_tokens("acme-70b", USAGE, at=datetime(2026, 11, 30, 23, tzinfo=UTC))
    after = catalog.price_tokens("acme-70b-v2", USAGE, provider="acme", at=datetime(2026, 12, 1, tzinfo=UTC))
    assert before.amount == Decimal("0.48")
    assert after.amount == Decimal("0.36")
    assert after.price_ref == f"acme/acme-70b@{catalog.version}"


def test_custom_model_has_no_price_outside_its_dates(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
models:
  - id: pilot-model
    prices: {effective_from: "2026-06-01", effective_until: "2026-07-01", input_mtok: "1", output_mtok: "2"}
""",
    )
    catalog = load_catalog([path])
    for at in (datetime(2026, 5, 31, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)):
        result = catalog.price_tokens("pilot-model", USAGE, at=at)
        assert (result.status, result.reason) == ("unpriced", "no_price"), at
    # In June: 1,000,000 in * $1 + 100,000 out * $2 per MTok = 1 + 0.2
    assert catalog.price_tokens("pilot-model", USAGE, at=datetime(2026, 6, 15, tzinfo=UTC)).amount == Decimal(
        "1.2"
    )


def test_override_applies_from_its_date(tmp_path: Path) -> None:
    # Contract price for gpt-4.1 from 2026-12-01: $1.80 in / $7.20 out (list: $2 / $8 per MTok).
    # 1,000,000 in + 100,000 out: list 2 + 0.8 = 2.8; contract 1.8 + 0.72 = 2.52
    path = write(
        tmp_path,
        """
overrides:
  - id: contract
    provider: openai
    model: gpt-4.1
    effective_from: "2026-12-01"
    prices: {input_mtok: "1.80", output_mtok: "7.20"}
""",
    )
    catalog = load_catalog([path])
    before = catalog.price_tokens("gpt-4.1", USAGE, provider="openai", at=datetime(2026, 11, 30, tzinfo=UTC))
    after = catalog.price_tokens(
        "gpt-4.1-2025-04-14", USAGE, provider="openai", at=datetime(2026, 12, 2, tzinfo=UTC)
    )
    assert before.amount == Decimal("2.8")
    assert after.amount == Decimal("2.52")
    assert after.price_ref == f"openai/gpt-4.1+override:contract@{catalog.version}"


def test_discount_only_for_matching_project(tmp_path: Path) -> None:
    # 15% negotiated discount on claude-* for project=search. claude-sonnet-4-5: $3 in / $15 out.
    # 100,000 in + 10,000 out = 0.3 + 0.15 = 0.45; discounted 0.45 * 0.85 = 0.3825
    path = write(
        tmp_path,
        """
discounts:
  - id: search-commit
    provider: anthropic
    model: "claude-*"
    when: {project: search}
    multiplier: "0.85"
""",
    )
    catalog = load_catalog([path])
    usage = TokenUsage(input_tokens=100_000, output_tokens=10_000)
    search = catalog.price_tokens(
        "claude-sonnet-4-5", usage, provider="anthropic", at=AT_2025, attribution={"project": "search"}
    )
    other = catalog.price_tokens(
        "claude-sonnet-4-5", usage, provider="anthropic", at=AT_2025, attribution={"project": "ads"}
    )
    nobody = catalog.price_tokens("claude-sonnet-4-5", usage, provider="anthropic", at=AT_2025)
    assert search.amount == Decimal("0.3825")
    assert search.breakdown == {"input": Decimal("0.255"), "output": Decimal("0.1275")}
    assert search.price_ref == f"anthropic/claude-sonnet-4-5+discount:search-commit@{catalog.version}"
    assert other.amount == nobody.amount == Decimal("0.45")


def test_discount_with_the_serving_provider(tmp_path: Path) -> None:
    # An Azure agreement: 10% off every model Azure serves. gpt-4o via Azure at list $2.50 in /
    # $10 out per MTok: 100,000 in + 10,000 out = 0.25 + 0.1 = 0.35; * 0.9 = 0.315.
    # The same model straight from OpenAI keeps its list price.
    path = write(tmp_path, "discounts:\n  - {id: azure-ea, provider: az.ai.openai, multiplier: '0.9'}\n")
    catalog = load_catalog([path])
    usage = TokenUsage(input_tokens=100_000, output_tokens=10_000)
    assert catalog.price_tokens("gpt-4o", usage, provider="azure", at=AT_2025).amount == Decimal("0.315")
    assert catalog.price_tokens("gpt-4o", usage, provider="openai", at=AT_2025).amount == Decimal("0.35")


def test_aliases_from_file_and_argument(tmp_path: Path) -> None:
    # Azure deployment names -> models. gpt-4o $2.50/$10; gpt-4o-mini $0.15/$0.60 per MTok.
    # 1,000,000 in + 100,000 out: gpt-4o 2.5 + 1 = 3.5; gpt-4o-mini 0.15 + 0.06 = 0.21
    path = write(tmp_path, "aliases:\n  prod-eastus-chat: gpt-4o\n")
    catalog = load_catalog([path], aliases={"Cheap-Deployment": "gpt-4o-mini"})
    assert catalog.price_tokens(
        "prod-eastus-chat", USAGE, provider="az.ai.openai", at=AT_2025
    ).amount == Decimal("3.5")
    cheap = catalog.price_tokens("cheap-deployment", USAGE, provider="azure.ai.openai", at=AT_2025)
    assert cheap.amount == Decimal("0.21")
    assert cheap.model == "gpt-4o-mini"


def test_custom_model_batch_multiplier(tmp_path: Path) -> None:
    # A fine-tune at $0.30 in / $1.20 out, batch at half: 1,000,000 in + 100,000 out
    # standard 0.30 + 0.12 = 0.42; batch 0.21
    path = write(
        tmp_path,
        """
models:
  - id: ft-support
    provider: openai
    prices: {input_mtok: "0.30", output_mtok: "1.20"}
    service_tiers:
      batch: {multiplier: "0.5"}
""",
    )
    catalog = load_catalog([path])
    assert catalog.price_tokens("ft-support", USAGE, at=AT_2025).amount == Decimal("0.42")
    assert catalog.price_tokens("ft-support", USAGE, at=AT_2025, service_tier="batch").amount == Decimal(
        "0.21"
    )


def test_without_defaults_only_user_models(tmp_path: Path) -> None:
    path = write(tmp_path, "models:\n  - id: m1\n    prices: {input_mtok: 1, output_mtok: 2}\n")
    catalog = load_catalog([path], include_defaults=False)
    assert catalog.price_tokens("gpt-4o", USAGE, provider="openai").reason == "unknown_provider"
    assert catalog.price_tokens("gpt-4o", USAGE).reason == "unknown_model"
    # 1,000,000 * 1 + 100,000 * 2 per MTok = 1 + 0.2
    assert catalog.price_tokens("m1", USAGE).amount == Decimal("1.2")


def test_example_catalog_is_valid() -> None:
    catalog = load_catalog([REPO / "examples" / "catalog.yaml"])
    # acme-support-ft: $0.30 in / $1.20 out: 1,000,000 in + 100,000 out = 0.30 + 0.12
    assert catalog.price_tokens("acme-support-ft", USAGE).amount == Decimal("0.42")


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("models:\n  - id: x\n", "models[0]", "'prices' is a required property"),
        (
            "models:\n  - id: x\n    prices: {input_mtok: -1}\n",
            "models[0].prices",
            "-1 is less than the minimum of 0",
        ),
        (
            "models:\n  - id: x\n    prices: {inptu_mtok: 1}\n",
            "models[0].prices",
            "'inptu_mtok' was unexpected",
        ),
        (
            "overrides:\n  - model: gpt-4o\n    effective_from: 2026-13-01\n    prices: {input_mtok: 1}\n",
            "overrides[0]",
            "bad date",
        ),
        (
            "overrides:\n  - model: no-such-model-x\n    provider: openai\n    prices: {input_mtok: 1}\n",
            "overrides[0].model",
            "unknown_model",
        ),
        ("apis:\n  - id: a\n    host: h\n", "apis[0]", "valid"),
        ("bogus: 1\n", "<root>", "Additional properties are not allowed ('bogus' was unexpected)"),
        ("models: [\n", "line", "not valid YAML"),
        ("discounts:\n  - multiplier: 0.5\n    api: a\n    model: m\n", "discounts[0]", "either an api"),
        # YAML's .inf/.nan are numbers >= 0 to the schema; the reader must still name the key.
        (
            "models:\n  - id: x\n    prices: {input_mtok: .inf}\n",
            "models[0].prices.input_mtok",
            "not a non-negative decimal",
        ),
        (
            "models:\n  - id: x\n    prices: {input_mtok: {base: .nan, tiers: [{start: 1, price: 1}]}}\n",
            "models[0].prices.input_mtok.base",
            "not a non-negative decimal",
        ),
        ("discounts:\n  - multiplier: .inf\n", "discounts[0].multiplier", "not a non-negative decimal"),
        (
            "models:\n  - id: x\n    prices: [{input_mtok: 1}, {input_mtok: .inf}]\n",
            "models[0].prices[1].input_mtok",
            "not a non-negative decimal",
        ),
        (
            "apis:\n  - {id: a, host: h, per_call: 1}\n  - {id: a, host: h, per_call: 2}\n",
            "apis[1].id",
            "overlaps apis[0]",
        ),
        (  # undated first, dated second: the dated one would never be reached
            "apis:\n  - {id: a, host: h, per_call: 1}\n"
            "  - {id: a, host: h, per_call: 2, effective_from: '2026-01-01'}\n",
            "apis[1].id",
            "overlaps apis[0]",
        ),
        (
            "apis:\n  - {id: a, host: h, per_call: 1, effective_until: '2026-02-01'}\n"
            "  - {id: a, host: h, per_call: 2, effective_from: '2026-01-01'}\n",
            "apis[1].id",
            "overlaps apis[0]",
        ),
        (
            "apis:\n  - id: a\n    host: h\n    per_unit: .nan\n",
            "apis[0].per_unit",
            "not a non-negative decimal",
        ),
    ],
)
def test_bad_file_error_names_file_key_and_reason(tmp_path: Path, text: str, key: str, reason: str) -> None:
    path = write(tmp_path, text, "bad.yaml")
    with pytest.raises(CatalogError) as caught:
        load_catalog([path])
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}"), message
    assert reason in message, message
    assert isinstance(caught.value, ValueError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog([tmp_path / "nope.yaml"])


SNAPSHOT = [
    {
        "id": "openai",
        "name": "OpenAI",
        "api_pattern": "https://api\\.openai\\.com",
        "models": [
            {
                "id": "gpt-4o",
                "match": {"equals": "gpt-4o"},
                "prices": [
                    {"prices": {"input_mtok": "2.5", "output_mtok": "10"}},
                    {
                        "constraint": {"start_date": "2027-01-01"},
                        "prices": {"input_mtok": "2", "output_mtok": "8"},
                    },
                ],
            }
        ],
    }
]


def test_newer_genai_prices_data_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A refreshed data file (what genai-prices publishes as data.json) with a gpt-4o price cut
    # on 2027-01-01 to $2 / $8: 1,000,000 in + 100,000 out = 2 + 0.8 = 2.8 (was 2.5 + 1 = 3.5)
    data = tmp_path / "data.json"
    data.write_text(json.dumps(SNAPSHOT), encoding="utf-8")
    monkeypatch.setenv(GENAI_PRICES_DATA_ENV, str(data))
    catalog = load_catalog(include_defaults=True)
    assert catalog.price_tokens("gpt-4o", USAGE, provider="openai", at=AT_2025).amount == Decimal("3.5")
    after = catalog.price_tokens("gpt-4o", USAGE, provider="openai", at=datetime(2027, 1, 2, tzinfo=UTC))
    assert after.amount == Decimal("2.8")
    # Only what the file holds: claude is not in it.
    assert catalog.price_tokens("claude-sonnet-4-5", USAGE).reason == "unknown_model"
    monkeypatch.delenv(GENAI_PRICES_DATA_ENV)
    assert catalog.version != load_catalog().version  # the data file is part of the version


def test_newer_genai_prices_data_from_catalog_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GENAI_PRICES_DATA_ENV, raising=False)
    (tmp_path / "data.json").write_text(json.dumps(SNAPSHOT), encoding="utf-8")
    path = write(tmp_path, "genai_prices_data: data.json\n")
    catalog = load_catalog([path])
    after = catalog.price_tokens("gpt-4o", USAGE, provider="openai", at=datetime(2027, 1, 2, tzinfo=UTC))
    assert after.amount == Decimal("2.8")
    bad = write(tmp_path, "genai_prices_data: missing.json\n", "bad.yaml")
    with pytest.raises(CatalogError, match="genai_prices_data"):
        load_catalog([bad])


def test_catalog_version_changes_with_user_files(tmp_path: Path) -> None:
    one = load_catalog([write(tmp_path, "aliases: {a: gpt-4o}\n", "one.yaml")])
    two = load_catalog([write(tmp_path, "aliases: {b: gpt-4o}\n", "two.yaml")])
    assert one.version != two.version
    assert one.version.startswith("gp")
