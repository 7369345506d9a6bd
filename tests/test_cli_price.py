"""``otel-cost price`` and ``otel-cost catalog``, run in process through ``otel_cost.cli.main``."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from otel_cost.cli import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = str(REPO / "examples" / "catalog.yaml")


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, object]]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_price_json_cached(capsys: pytest.CaptureFixture[str]) -> None:
    # gpt-4o: $2.50 in, $1.25 cached, $10 out per MTok (openai.com/api/pricing, checked 2026-11).
    # --input-tokens counts cached ones too: 1,200 = 200 uncached + 1,000 cached.
    # 200*2.5 + 1000*1.25 + 300*10 = 500 + 1250 + 3000 = 4750 / 1e6 = 0.00475
    code, out = run_json(
        capsys,
        [
            "price",
            "gpt-4o",
            "--provider",
            "openai",
            "--input-tokens",
            "1200",
            "--output-tokens",
            "300",
            "--cache-read-tokens",
            "1000",
            "--at",
            "2025-09-01T12:00:00Z",
        ],
    )
    assert code == 0
    assert out["status"] == "priced"
    assert Decimal(str(out["amount"])) == Decimal("0.00475")
    assert out["currency"] == "USD"
    assert {k: Decimal(v) for k, v in dict(out["breakdown"]).items()} == {  # type: ignore[arg-type]
        "input": Decimal("0.0005"),
        "cache_read": Decimal("0.00125"),
        "output": Decimal("0.003"),
    }
    assert str(out["price_ref"]).startswith("openai/gpt-4o@gp")
    assert "reason" not in out


def test_price_batch_and_cache_writes(capsys: pytest.CaptureFixture[str]) -> None:
    # claude-haiku-4-5 batch (50%): $0.50 in, $0.625 5m write, $2.50 out per MTok
    # (docs.anthropic.com pricing, batch). 3,000 in = 1,000 + 2,000 written; 1,000 out:
    # 1000*0.5 + 2000*0.625 + 1000*2.5 = 500 + 1250 + 2500 = 4250 / 1e6 = 0.00425
    code, out = run_json(
        capsys,
        [
            "price",
            "claude-haiku-4-5",
            "--provider",
            "anthropic",
            "--input-tokens",
            "3000",
            "--output-tokens",
            "1000",
            "--cache-write-tokens",
            "2000",
            "--service-tier",
            "batch",
            "--at",
            "2025-09-01T12:00:00+00:00",
        ],
    )
    assert code == 0
    assert Decimal(str(out["amount"])) == Decimal("0.00425")


def test_price_unknown_model_exits_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(capsys, ["price", "no-such-model-1", "--input-tokens", "10", "--output-tokens", "1"])
    assert code == 1
    assert out["status"] == "unpriced"
    assert out["reason"] == "unknown_model"
    assert "amount" not in out


def test_price_plain_table(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "price",
            "gpt-4o-mini",
            "--provider",
            "openai",
            "--input-tokens",
            "1000000",
            "--output-tokens",
            "0",
            "--at",
            "2025-09-01",
        ]
    )
    out = capsys.readouterr().out
    # gpt-4o-mini: $0.15/MTok input -> 1,000,000 tokens = 0.15; printed with the exponent of the
    # exact product, 0.15E-6 per token x 1,000,000 = 0.15000000.
    assert code == 0
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["openai/gpt-4o-mini", "[priced]"]
    assert ["input", "0.15000000"] in lines
    assert ["total", "0.15000000", "USD"] in lines


def test_price_with_user_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    # examples/catalog.yaml: acme-support-ft at $0.30 in / $1.20 out per MTok.
    # 2,000 in = 0.0006; 400 out = 0.00048 -> 0.00108
    code, out = run_json(
        capsys,
        [
            "price",
            "acme-support-ft",
            "--input-tokens",
            "2000",
            "--output-tokens",
            "400",
            "--catalog",
            EXAMPLE,
        ],
    )
    assert code == 0
    assert Decimal(str(out["amount"])) == Decimal("0.00108")


def test_bad_catalog_exits_2_with_file_key_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  - id: x\n    prices: {input_mtok: lots}\n", encoding="utf-8")
    code = main(
        ["price", "x", "--input-tokens", "1", "--output-tokens", "1", "--catalog", str(bad), "--json"]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert str(bad) in captured.err
    assert "models[0].prices.input_mtok" in captured.err
    assert "lots" in captured.err
    assert captured.out == ""


def test_negative_tokens_rejected_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["price", "gpt-4o", "--input-tokens", "-5", "--output-tokens", "1"])
    assert caught.value.code == 2
    assert "must not be negative" in capsys.readouterr().err


def test_catalog_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "validate", EXAMPLE]) == 0
    out = capsys.readouterr().out
    assert "ok:" in out
    assert "4 API rules" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("apis:\n  - id: a\n    host: h\n    per_call: 1\n    per_unit: 2\n", encoding="utf-8")
    assert main(["catalog", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "apis[0]" in err


def test_catalog_show(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["catalog", "show", "gemini-2.5-pro", "--provider", "gcp.vertex_ai", "--at", "2025-09-01", "--json"]
    )
    info = json.loads(capsys.readouterr().out)
    assert code == 0
    assert info["entry"] == "google/gemini-2.5-pro"
    # Published: $1.25/MTok input up to 200k, $2.50 above (ai.google.dev/gemini-api/docs/pricing).
    assert info["prices"]["standard"]["input_mtok"] == "1.25 (input>200000: 2.5)"
    assert info["prices"]["batch"]["input_mtok"] == "0.625 (input>200000: 1.25)"
    assert info["prices"]["priority"] is None
    code = main(["catalog", "show", "no-such-model-1"])
    assert code == 1
    assert "unknown_model" in capsys.readouterr().out


def test_catalog_show_lists_a_free_tier(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A tier priced at $0 is a price and is shown; a component without tiers shows none."""
    path = tmp_path / "free.yaml"
    path.write_text(
        "version: 1\nmodels:\n  - id: promo\n    prices:\n"
        "      input_mtok: {base: '1.50', tiers: [{start: 100000, price: '0'}]}\n"
        "      output_mtok: '6'\n",
        encoding="utf-8",
    )
    code = main(["catalog", "show", "promo", "--catalog", str(path), "--json"])
    info = json.loads(capsys.readouterr().out)
    assert code == 0
    assert info["prices"]["standard"]["input_mtok"] == "1.5 (input>100000: 0)"
    assert info["prices"]["standard"]["output_mtok"] == "6"
