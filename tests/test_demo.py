"""`otel-cost demo` runs offline and prints the right figures.

The demo drives the real `openai` SDK (with opentelemetry-instrumentation-openai-v2) and an
instrumented `httpx` client against recorded responses bundled in the package (no ../shared, no
network, no key), prices the spans with CostSpanProcessor, sends them over OTLP/gRPC to an
in-process receiver and reads the ledger that receiver wrote.

Expected figures, by hand, from the recorded usage (otel_cost/demo/data/openai_responses.json)
and the published prices (genai-prices 0.2.3, as on openai.com/api/pricing):
- gpt-4o-mini: $0.15 per 1M input tokens, $0.60 per 1M output tokens.
  First call of a turn: 75 in, 51 out -> 75*0.15e-6 + 51*0.60e-6 = 0.00001125 + 0.0000306 = 0.00004185
  Second call:          99 in, 25 out -> 99*0.15e-6 + 25*0.60e-6 = 0.00001485 + 0.000015  = 0.00002985
  One turn 0.0000717; three users -> 6 calls, 0.0002151.
- Weather API (data/demo-catalog.yaml): $1.50 per 1,000 calls = $0.0015 a call; 2 per turn
  -> 6 calls, 0.009.
- text-embedding-3-small: $0.02 per 1M tokens; 6 tokens -> 0.00000012.
- Total: 0.0002151 + 0.009 + 0.00000012 = 0.00921522 over 13 calls; the agent and tool spans
  carry no spend of their own (the ledger holds 13 rows, not 13 + 3 agents + 6 tools).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from otel_cost.cli import main
from otel_cost.ledger import open_ledger

GPT_4O_MINI = Decimal("0.0002151")
WEATHER_API = Decimal("0.009")
EMBEDDING = Decimal("0.00000012")
TOTAL = Decimal("0.00921522")


def _table(output: str) -> dict[tuple[str, str], tuple[int, Decimal]]:
    """(project, model) -> (calls, spend) from the printed table."""
    rows: dict[tuple[str, str], tuple[int, Decimal]] = {}
    in_table = False
    for line in output.splitlines():
        if line.startswith("Spend by project and model"):
            in_table = True
            continue
        parts = line.split()
        if in_table and len(parts) >= 5 and parts[-1] == "USD" and parts[0] != "total":
            rows[(parts[0], " ".join(parts[1:-3]))] = (int(parts[-3]), Decimal(parts[-2]))
        if in_table and parts[:1] == ["total"]:
            rows[("total", "")] = (int(parts[1]), Decimal(parts[2]))
            in_table = False
    return rows


def test_demo_prints_spend_by_project_and_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = tmp_path / "ledger.sqlite"
    assert main(["demo", "--ledger", str(ledger)]) == 0
    output = capsys.readouterr().out
    table = _table(output)
    assert table == {
        ("knowledge-base", "text-embedding-3-small"): (1, EMBEDDING),
        ("travel-assistant", "api/demo-weather-api (per call)"): (6, WEATHER_API),
        ("travel-assistant", "gpt-4o-mini-2024-07-18"): (6, GPT_4O_MINI),
        ("total", ""): (13, TOTAL),
    }
    assert "cost_spend_USD_total: 0.00921522 USD (matches the ledger)" in output
    assert "San Francisco, it's 70 degrees and sunny" in output

    with open_ledger(str(ledger)) as book:
        assert book.count() == 13
        by_user = {row.key[0]: row.amount for row in book.spend(["user"])}
    # Each user's turn: 0.0000717 (LLM) + 0.003 (two API calls); the indexer has no user.
    assert by_user == {
        "alice": Decimal("0.0030717"),
        "bob": Decimal("0.0030717"),
        "carol": Decimal("0.0030717"),
        None: EMBEDDING,
    }


def test_demo_reports_only_its_own_run_on_a_reused_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    assert main(["demo", "--ledger", str(ledger)]) == 0
    capsys.readouterr()
    assert main(["demo", "--ledger", str(ledger)]) == 0
    assert _table(capsys.readouterr().out)[("total", "")] == (13, TOTAL)
    with open_ledger(str(ledger)) as book:
        assert book.count() == 26
        assert sum(row.amount for row in book.spend()) == 2 * TOTAL


def test_demo_without_ledger_uses_a_temporary_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    output = capsys.readouterr().out
    assert _table(output)[("total", "")] == (13, TOTAL)
    ledger = output.split("(ledger: ", 1)[1].split(")", 1)[0]
    assert not Path(ledger).exists(), "the temporary ledger should be removed after the demo"


def test_demo_sends_to_an_external_receiver(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--send-to` (the docker-compose path): spans go over OTLP/gRPC to a receiver elsewhere; the
    printed figures are the processor's and that receiver's ledger holds the same."""
    from otel_cost.receiver.app import Receiver
    from otel_cost.receiver.config import Endpoint, ReceiverConfig

    ledger = tmp_path / "remote.sqlite"
    config = ReceiverConfig(
        grpc_endpoint=Endpoint("127.0.0.1", 0),
        http_endpoint=None,
        prometheus_endpoint=None,
        ledger=str(ledger),
    )
    # The API price lives in the demo's catalog file; the spans arrive priced, and the receiver
    # keeps the processor's figures.
    receiver = Receiver(config)
    ports = receiver.start()
    try:
        assert main(["demo", "--send-to", f"127.0.0.1:{ports.grpc}"]) == 0
    finally:
        receiver.stop()
    output = capsys.readouterr().out
    assert _table(output)[("total", "")] == (13, TOTAL)
    assert "sent to 127.0.0.1:" in output
    with open_ledger(str(ledger)) as book:
        assert book.count() == 13
        assert sum(row.amount for row in book.spend()) == TOTAL


def test_demo_refuses_a_ledger_with_send_to(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--ledger", str(tmp_path / "x.sqlite"), "--send-to", "127.0.0.1:4317"]) == 1
    assert "--send-to" in capsys.readouterr().err


def test_spend_series_is_the_documented_exposition_name() -> None:
    """The demo reads and prints the receiver's spend counter by the name built from the registry
    (``cost.spend``, unit USD, counter): the one docs/receiver.md documents."""
    from otel_cost.demo.run import SPEND_SERIES

    assert SPEND_SERIES == "cost_spend_USD_total"
