"""Bearer-token check shared by the gRPC and HTTP servers."""

from __future__ import annotations

import hmac


def bearer_matches(given: str | None, expected: str) -> bool:
    """True when the ``Authorization`` value ``given`` equals ``expected`` (``Bearer <token>``),
    compared in constant time so response timing does not reveal how much of a guess was right."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
