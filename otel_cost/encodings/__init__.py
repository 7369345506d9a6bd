"""The tiktoken encodings otel-cost counts tokens with, shipped in the package and loaded offline.

tiktoken downloads its BPE rank files on first use; a machine without network (an air-gapped
receiver, a CI runner) could then not count OpenAI tokens, and an estimate fell back to chars/4.
The two encodings otel-cost uses (``o200k_base``: gpt-4o, gpt-4.1, gpt-5, o-series;
``cl100k_base``: gpt-4, gpt-3.5, text-embedding-3) ship here byte for byte as tiktoken fetches
them (``encodings.json``: file, source, sha256 as tiktoken checks it, split pattern and special
tokens as tiktoken's ``tiktoken_ext.openai_public`` defines them). :func:`load_encoding` checks
the hash and builds a ``tiktoken.Encoding`` from the file: no network, no cache directory.
"""

from __future__ import annotations

import base64
import hashlib
import json
from importlib import resources
from typing import Any

__all__ = ("ENCODINGS", "EncodingUnavailable", "load_encoding")


class EncodingUnavailable(RuntimeError):
    """A shipped encoding file is missing or does not match its hash (a broken install)."""


def _manifest() -> dict[str, dict[str, Any]]:
    raw = resources.files(__name__).joinpath("encodings.json").read_text(encoding="utf-8")
    return json.loads(raw)


ENCODINGS: frozenset[str] = frozenset(_manifest())
"""Names of the encodings shipped here."""


def ranks(name: str) -> dict[bytes, int]:
    """The BPE ranks of a shipped encoding, checked against its sha256 first."""
    spec = _manifest().get(name)
    if spec is None:
        raise EncodingUnavailable(f"encoding {name!r} is not shipped with otel-cost")
    try:
        data = resources.files(__name__).joinpath(spec["file"]).read_bytes()
    except OSError as exc:
        raise EncodingUnavailable(f"encoding {name!r}: cannot read {spec['file']}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec["sha256"]:
        raise EncodingUnavailable(
            f"encoding {name!r}: {spec['file']} has sha256 {digest}, expected {spec['sha256']}"
        )
    out: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            out[base64.b64decode(token)] = int(rank)
    return out


def load_encoding(name: str) -> Any:
    """A ``tiktoken.Encoding`` for a shipped encoding, built from the packaged file (no network).
    Raises :class:`EncodingUnavailable` when the file is missing or altered."""
    import tiktoken

    spec = _manifest().get(name)
    if spec is None:
        raise EncodingUnavailable(f"encoding {name!r} is not shipped with otel-cost")
    return tiktoken.Encoding(
        name=name,
        pat_str=spec["pat_str"],
        mergeable_ranks=ranks(name),
        special_tokens={str(k): int(v) for k, v in spec["special_tokens"].items()},
    )
