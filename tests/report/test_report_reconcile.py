"""Reconciliation against provider exports (shapes of the OpenAI and Anthropic admin APIs, CSV)."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from otel_cost.cli import main
from otel_cost.ledger import open_ledger
from tests.ledger.ledger_fixtures import make_record

# 2025-11-23T00:00:00Z and the next day, as the OpenAI API's bucket start_time (Unix seconds).
DAY0, DAY1 = 1_763_856_000, 1_763_942_400


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "l.db"
    ledger = open_ledger(str(path))
    ledger.append(
        [
            make_record(1, amount="1.25", model="gpt-4o-2024-08-06", input_tokens=1000, output_tokens=100),
            make_record(2, amount="0.75", model="gpt-4o", input_tokens=500, output_tokens=50),
            make_record(3, amount="0.10", model="gpt-4o-mini", day=1, input_tokens=2000, output_tokens=10),
            make_record(4, amount="9", provider="anthropic", model="claude-sonnet-4-5-20250929"),
        ]
    )
    ledger.close()
    return path


def _csv(capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_openai_costs_api_page(ledger_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = {
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": DAY0,
                "end_time": DAY1,
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": 1.5, "currency": "usd"},
                        "line_item": "gpt-4o-2024-08-06, input",
                        "project_id": None,
                    },
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": 0.45, "currency": "usd"},
                        "line_item": "gpt-4o-2024-08-06, output",
                        "project_id": None,
                    },
                ],
            },
            {"object": "bucket", "start_time": DAY1, "end_time": DAY1 + 86400, "results": []},
        ],
        "has_more": False,
    }
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(export))
    argv = ["reconcile", "--ledger", str(ledger_path), "--provider", "openai", "--usage-export", str(path)]
    assert main([*argv, "--format", "csv"]) == 0
    rows = _csv(capsys)
    # Day 0, gpt-4o (both snapshots fold to the base name): ledger 1.25 + 0.75 = 2, export 1.5 + 0.45 = 1.95:
    # variance +0.05 = 2.56% of 1.95. Day 1: the export has no gpt-4o-mini cost: 0.10 over (100%).
    assert [
        (r["day"], r["model"], r["ledger_amount"], r["export_amount"], r["variance"], r["variance_pct"])
        for r in rows
    ] == [
        ("2025-11-23", "gpt-4o", "2", "1.95", "0.05", "2.56"),
        ("2025-11-24", "gpt-4o-mini", "0.1", "0", "0.1", "100"),
    ]
    assert main([*argv, "--tolerance", "5"]) == 1  # the 100% line
    assert "total: ledger 2.1, export 1.95, variance 0.15" in capsys.readouterr().out


def test_anthropic_cost_report_amounts_are_cents(
    ledger_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = {
        "data": [
            {
                "starting_at": "2025-11-23T00:00:00Z",
                "ending_at": "2025-11-24T00:00:00Z",
                "results": [
                    {
                        "amount": "600",
                        "currency": "USD",
                        "cost_type": "tokens",
                        "model": "claude-sonnet-4-5-20250929",
                        "token_type": "uncached_input_tokens",
                        "description": "x",
                        "service_tier": "standard",
                    },
                    {
                        "amount": "300.5",
                        "currency": "USD",
                        "cost_type": "tokens",
                        "model": "claude-sonnet-4-5-20250929",
                        "token_type": "output_tokens",
                        "description": "y",
                        "service_tier": "standard",
                    },
                ],
            }
        ],
        "has_more": False,
        "next_page": None,
    }
    path = tmp_path / "cost_report.json"
    path.write_text(json.dumps(export))
    argv = ["reconcile", "--ledger", str(ledger_path), "--provider", "anthropic", "--usage-export", str(path)]
    assert main([*argv, "--format", "json"]) == 0
    (line,) = json.loads(capsys.readouterr().out)
    # 600 + 300.5 cents = $9.005; the ledger has $9: variance -0.005 (-0.06%).
    assert (line["model"], line["export_amount"], line["variance"], line["variance_pct"]) == (
        "claude-sonnet-4-5",
        "9.005",
        "-0.005",
        "-0.06",
    )


def test_anthropic_usage_report_tokens(
    ledger_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = {
        "data": [
            {
                "starting_at": "2025-11-23T00:00:00Z",
                "results": [
                    {
                        "model": "claude-sonnet-4-5-20250929",
                        "uncached_input_tokens": 60,
                        "cache_read_input_tokens": 30,
                        "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 0},
                        "output_tokens": 50,
                    },
                ],
            }
        ]
    }
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(export))
    argv = ["reconcile", "--ledger", str(ledger_path), "--provider", "anthropic", "--usage-export", str(path)]
    assert main([*argv, "--format", "csv"]) == 0
    (row,) = _csv(capsys)
    # Input in our convention: 60 uncached + 30 cache reads + 10 cache writes = 100; ledger 100 in + 50 out.
    assert (row["export_input_tokens"], row["ledger_input_tokens"], row["variance"]) == ("100", "100", "0")


def test_csv_export_and_bad_input(
    ledger_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Date,Model,Cost,Currency\n2025-11-23,gpt-4o,2.00,USD\n2025-11-24,gpt-4o-mini,0.1,USD\n")
    argv = ["reconcile", "--ledger", str(ledger_path), "--provider", "openai", "--usage-export", str(path)]
    assert main([*argv, "--format", "csv"]) == 0
    assert [r["variance"] for r in _csv(capsys)] == ["0", "0"]
    path.write_text("when,what\n1,2\n")
    assert main(argv) == 2
    assert "needs a date column and a model column" in capsys.readouterr().err


def test_export_times_without_offset_are_utc_days(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CSV time with no offset is a UTC time, whatever the machine's time zone: 23:30 on the 5th
    stays on the 5th (the ledger's days are UTC days), it does not move to the 6th in UTC-2."""
    import time

    from otel_cost.report.reconcile import load_export

    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available on this platform")
    path = tmp_path / "export.csv"
    path.write_text(
        "date,model,amount\n2026-03-05T23:30:00,gpt-4o,1.25\n2026-03-05T23:30:00+00:00,gpt-4o,1\n"
    )
    monkeypatch.setenv("TZ", "Etc/GMT+2")  # POSIX sign: UTC-2
    time.tzset()
    try:
        export = load_export(path, "openai")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert export.days == ("2026-03-05",)
    assert export.table[("2026-03-05", "gpt-4o")].amount == Decimal("2.25")
