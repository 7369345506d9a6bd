"""Shared fixtures. ``../shared`` (cassettes, tiktoken cache) is optional: tests that need it skip
with a reason where it is absent, except under CI where it is always beside the checkout."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CASSETTES = SHARED / "cassettes"
TIKTOKEN_CACHE = SHARED / "tiktoken-cache"

if TIKTOKEN_CACHE.is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(TIKTOKEN_CACHE))


def require_integration() -> bool:
    """True when a missing external tool must fail the test instead of skipping it (CI)."""
    return os.environ.get("OTEL_COST_REQUIRE_INTEGRATION") == "1"


def missing_tool(reason: str) -> NoReturn:
    """Skip the test for want of an external tool (``reason`` names it and its Debian package),
    or fail it under CI (:func:`require_integration`), where every tool must be there."""
    if require_integration():
        pytest.fail(f"{reason} (OTEL_COST_REQUIRE_INTEGRATION=1: a missing tool fails the test)")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def cassettes_dir() -> Path:
    """The folder of recorded provider traffic; skips where ``../shared`` is absent."""
    if not CASSETTES.is_dir():
        pytest.skip(f"recorded cassettes not found at {CASSETTES} (only in the project's CI checkout)")
    return CASSETTES
