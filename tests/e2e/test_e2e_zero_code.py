"""Zero-code: ``opentelemetry-instrument python examples/zero-code/app.py`` with
OTEL_COST_ENABLED=true, in a subprocess, console exporter; the exported spans carry the cost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from otel_cost import semconv as sc
from otel_cost.replay import ReplayServer, load_cassette

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "examples" / "zero-code" / "app.py"


def _console_spans(stdout: str) -> list[dict[str, object]]:
    """The JSON objects ConsoleSpanExporter printed (one indented object per span)."""
    decoder = json.JSONDecoder()
    spans: list[dict[str, object]] = []
    i = 0
    while (start := stdout.find("{", i)) != -1:
        try:
            obj, end = decoder.raw_decode(stdout, start)
        except ValueError:
            i = start + 1
            continue
        if isinstance(obj, dict) and "context" in obj:
            spans.append(obj)  # pyright: ignore[reportUnknownArgumentType]
        i = end
    return spans


def _run(cassettes_dir: Path, enabled: str) -> list[dict[str, object]]:
    instrument = shutil.which("opentelemetry-instrument", path=str(Path(sys.executable).parent))
    if instrument is None:
        pytest.fail("opentelemetry-instrument not installed (opentelemetry-distro is a dev dependency)")
    interactions = load_cassette(cassettes_dir / "openai-v2" / "test_chat_completion_with_content.yaml")
    with ReplayServer(interactions * 2) as server:
        env = {
            **os.environ,
            "OTEL_COST_ENABLED": enabled,
            "OTEL_SERVICE_NAME": "zero-code-demo",
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OPENAI_BASE_URL": server.url + "/v1",
            "OPENAI_API_KEY": "test_openai_api_key",
            "PYTHONWARNINGS": "ignore",
        }
        env.pop("OTEL_COST_RAISE_ERRORS", None)
        proc = subprocess.run(
            [instrument, sys.executable, str(APP)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "This is a test." in proc.stdout
    return _console_spans(proc.stdout)


def test_zero_code_spans_are_priced(cassettes_dir: Path) -> None:
    spans = _run(cassettes_dir, "true")
    llm = [s for s in spans if sc.GEN_AI_USAGE_INPUT_TOKENS in (s.get("attributes") or {})]  # type: ignore[operator]
    assert llm, spans
    for span in llm:
        attrs = span["attributes"]
        assert isinstance(attrs, dict)
        # 12 prompt + 5 completion tokens of gpt-4o-mini at $0.15/$0.60 per 1M (openai.com/api/pricing)
        assert attrs[sc.COST_AMOUNT] == pytest.approx(0.0000048, rel=1e-12)
        assert attrs[f"{sc.COST_ATTRIBUTION}.project"] == "zero-code-demo"
        assert attrs[f"{sc.COST_ATTRIBUTION}.service"] == "zero-code-demo"


def test_zero_code_off_without_the_env_var(cassettes_dir: Path) -> None:
    spans = _run(cassettes_dir, "")
    assert spans
    assert not any(sc.COST_STATUS in (s.get("attributes") or {}) for s in spans)  # type: ignore[operator]
