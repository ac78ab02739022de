"""A throwaway PostgreSQL server for the read-DB tests (when PostgreSQL is installed).

``KSTREAMY_TEST_POSTGRES_URL`` points the tests at an existing server instead. Otherwise the
fixture runs ``initdb`` + ``pg_ctl`` from the installed PostgreSQL in a temporary directory on a
free loopback port (as the ``postgres`` user when the tests run as root, since PostgreSQL refuses
to run as root) and stops it at the end of the session.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import pytest

PG_URL_ENV = "KSTREAMY_TEST_POSTGRES_URL"
PORTS = range(39700, 39800)


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A server URL (without a database name); skips when PostgreSQL is not installed."""
    pytest.importorskip("psycopg", reason="psycopg is not installed")
    configured = os.environ.get(PG_URL_ENV)
    if configured:
        yield configured.rstrip("/")
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip(f"no PostgreSQL server: set {PG_URL_ENV} or install PostgreSQL")
    root = tempfile.mkdtemp(prefix="h6-pg-", dir="/tmp")
    data = os.path.join(root, "data")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    os.chmod(root, 0o700)
    port = _free_port()
    try:
        subprocess.run(
            _as_postgres([initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
            check=True,
            capture_output=True,
            timeout=120,
        )
        opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres([pg_ctl, "-D", data, "-o", opts, "-l", f"{root}/log", "-w", "start"]),
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL from {initdb}: {exc}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                _as_postgres([pg_ctl, "-D", data, "-m", "fast", "-w", "stop"]),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's server."""
    import psycopg  # type: ignore[import-not-found, unused-ignore]

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"
