"""Start a throwaway PostgreSQL server (Debian package binaries) on a free loopback port.

Skips the test when the binaries are missing, unless OTEL_COST_REQUIRE_INTEGRATION=1 (CI), where it
fails. As root (CI), the server runs as the ``postgres`` system user, since PostgreSQL refuses to
run as root. ``fsync=off``: a test server's durability is not what these tests measure.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port, missing_tool


def _bin_dir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield ``postgresql://postgres@127.0.0.1:PORT/postgres`` of a fresh server; stop it after."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        missing_tool("PostgreSQL not available: no initdb (Debian package 'postgresql')")
    prefix: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="otel-cost-pg-"))
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            missing_tool("PostgreSQL not available: running as root without runuser")
        try:
            shutil.chown(workdir, user="postgres", group="postgres")
        except (LookupError, PermissionError) as exc:
            missing_tool(f"PostgreSQL not available: no 'postgres' system user to run the server as ({exc})")
        prefix = ["runuser", "-u", "postgres", "--"]
    data = workdir / "data"
    port = free_port()
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - closed in finally
    server = subprocess.Popen(
        [
            *prefix,
            str(bin_dir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(workdir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(url, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"PostgreSQL did not start: {(workdir / 'server.log').read_text(errors='replace')}"
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def fresh_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server and return its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return server_url.rsplit("/", 1)[0] + "/" + name
