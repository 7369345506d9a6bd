"""examples/quickstart.py runs as written (in a subprocess, against the replayed recording)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from otel_cost.replay import ReplayServer, load_cassette

REPO = Path(__file__).resolve().parents[2]


def test_quickstart_prints_priced_span(cassettes_dir: Path) -> None:
    interactions = load_cassette(cassettes_dir / "openai-v2" / "test_chat_completion_with_content.yaml")
    with ReplayServer(interactions) as server:
        env = {
            **os.environ,
            "OPENAI_BASE_URL": server.url + "/v1",
            "OPENAI_API_KEY": "test",
            "PYTHONWARNINGS": "ignore",
        }
        proc = subprocess.run(
            [sys.executable, str(REPO / "examples" / "quickstart.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "This is a test." in proc.stdout
    # 12 prompt + 5 completion tokens of gpt-4o-mini at $0.15/$0.60 per 1M = $0.0000048
    assert '"cost.amount": 4.8e-06' in proc.stdout
    assert '"cost.attribution.project": "search"' in proc.stdout
    assert '"cost.spend"' in proc.stdout  # the metrics were exported too
