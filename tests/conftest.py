"""Shared fixtures. ``../shared`` (cassettes, tiktoken cache) is optional: tests that need it skip
with a reason where it is absent, except under CI where it is always beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

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


@pytest.fixture
def cassettes_dir() -> Path:
    """The folder of recorded provider traffic; skips where ``../shared`` is absent."""
    if not CASSETTES.is_dir():
        pytest.skip(f"recorded cassettes not found at {CASSETTES} (only in the project's CI checkout)")
    return CASSETTES
