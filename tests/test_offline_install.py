"""A fresh install counts OpenAI tokens exactly with no network at all.

The checkout is built into a wheel and installed into an empty folder; a Python process in a new
network namespace (``unshare -n``: only a loopback interface, no route anywhere) with an empty
tiktoken cache imports otel-cost from that folder and estimates tokens. Its counts must be
tiktoken's, which tiktoken itself could only give there with network or a pre-seeded cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import tiktoken

from tests.conftest import REPO, missing_tool
from tests.encoding_texts import SAMPLE_TEXTS

_IN_NAMESPACE = r"""
import json, socket, sys
import otel_cost, tiktoken
from otel_cost import semconv as sc
from otel_cost.estimate import count_tokens, estimate_usage

texts = json.loads(sys.argv[1])
try:
    tiktoken.get_encoding("o200k_base")
    tiktoken_alone = "loaded"
except Exception as exc:
    tiktoken_alone = type(exc).__name__
messages = [{"role": "user", "parts": [{"type": "text", "content": t}]} for t in texts]
chat = {sc.GEN_AI_INPUT_MESSAGES: json.dumps(messages)}
usage = estimate_usage(chat, "gpt-4o", "chat")
print(json.dumps({
    "otel_cost": otel_cost.__file__,
    "interfaces": [name for _, name in socket.if_nameindex()],
    "tiktoken_alone": tiktoken_alone,
    "gpt-4o": [count_tokens(t, "gpt-4o") for t in texts],
    "gpt-4": [count_tokens(t, "gpt-4") for t in texts],
    "chat_input": usage.input_tokens if usage else None,
}))
"""


@pytest.mark.timeout(600)
def test_fresh_install_counts_tokens_offline(tmp_path: Path) -> None:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        missing_tool("a network namespace needs `unshare` (Debian package util-linux) and root")
    wheels, target, cache = tmp_path / "wheels", tmp_path / "site", tmp_path / "tiktoken-cache"
    cache.mkdir()
    # No build isolation: the build uses this environment's setuptools, nothing is downloaded.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("otel_cost-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        timeout=120,
    )
    # -S: no site processing, so this environment's .pth files (the checkout's editable install
    # among them) do not apply; its packages are reached through PYTHONPATH, after the wheel.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(
            [str(target), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
        ),
        "PYTHONNOUSERSITE": "1",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "TIKTOKEN_CACHE_DIR": str(cache),
    }
    run = subprocess.run(
        ["unshare", "-n", sys.executable, "-S", "-c", _IN_NAMESPACE, json.dumps(SAMPLE_TEXTS)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert got["otel_cost"].startswith(str(target))  # the installed wheel, not this checkout
    assert got["interfaces"] == ["lo"]
    assert got["tiktoken_alone"] != "loaded"  # tiktoken by itself cannot load its encoding there
    assert list(cache.iterdir()) == []
    # openai-cookbook, "How to count tokens with tiktoken": "tiktoken is great!" is 6 cl100k_base tokens.
    assert SAMPLE_TEXTS[0] == "tiktoken is great!" and got["gpt-4"][0] == 6
    try:
        o200k, cl100k = tiktoken.get_encoding("o200k_base"), tiktoken.get_encoding("cl100k_base")
    except Exception as exc:
        pytest.skip(f"offline counts checked on the cookbook example only: tiktoken cannot load here: {exc}")
    assert got["gpt-4o"] == [len(o200k.encode(t, disallowed_special=())) for t in SAMPLE_TEXTS]
    assert got["gpt-4"] == [len(cl100k.encode(t, disallowed_special=())) for t in SAMPLE_TEXTS]
    # OpenAI's chat accounting: 3 per message + "user" (1 token) + content, 3 priming the reply.
    expected_chat = 3 + sum(3 + 1 + len(o200k.encode(t, disallowed_special=())) for t in SAMPLE_TEXTS)
    assert got["chat_input"] == expected_chat
