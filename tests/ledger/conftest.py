"""A PostgreSQL server for the ledger tests that need one (started once per session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ledger.pg_server import fresh_database, postgres_server


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server_url: str, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on the session's server."""
    name = "t_" + "".join(ch if ch.isalnum() else "_" for ch in request.node.name)[:50].lower()
    return fresh_database(postgres_server_url, name)
