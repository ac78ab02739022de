"""The read DB (rows and offsets in one transaction) and the read API, without Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from apps.shopping_cart.db import CartDB, PostgresCartDB, Row, SqliteCartDB, open_db
from apps.shopping_cart.read_api import running

T = "cart-details-event"


def cart(customer: str, version: int) -> str:
    return json.dumps({"customerId": customer, "version": version})


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Every DB test runs on both back ends."""
    if request.param == "sqlite":
        d: CartDB = SqliteCartDB(tmp_path / "read.db")
    else:
        d = open_db(request.getfixturevalue("postgres_url"))
        assert isinstance(d, PostgresCartDB)
    d.ensure_schema()
    yield d
    d.close()


def test_open_db_targets(tmp_path: Path) -> None:
    assert isinstance(open_db(str(tmp_path / "a.db")), SqliteCartDB)
    assert open_db(f"sqlite:///{tmp_path}/b.db").path == f"{tmp_path}/b.db"  # type: ignore[attr-defined]
    assert open_db(None).path == "shopping_cart_read.db"  # type: ignore[attr-defined]


def test_wal_mode(tmp_path: Path) -> None:
    db = SqliteCartDB(tmp_path / "wal.db")
    db.ping()
    with contextlib.closing(sqlite3.connect(db.path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_postgres_urls_select_the_postgres_back_end() -> None:
    assert isinstance(open_db("postgresql://u@127.0.0.1:1/db"), PostgresCartDB)
    assert isinstance(open_db("postgres://u@127.0.0.1:1/db"), PostgresCartDB)


def test_rows_and_offsets_are_written_together(db: CartDB) -> None:
    assert db.stored_offsets(T) == {}
    n = db.apply_batch(T, [Row(0, 0, "a", cart("a", 1)), Row(1, 5, "b", cart("b", 1))])
    assert n == 2
    assert db.stored_offsets(T) == {0: 1, 1: 6}
    assert json.loads(db.get_cart("a") or "")["version"] == 1
    assert db.get_cart("zzz") is None


def test_latest_value_wins_and_tombstone_deletes(db: CartDB) -> None:
    db.apply_batch(T, [Row(0, 0, "a", cart("a", 1)), Row(0, 1, "a", cart("a", 2))])
    assert json.loads(db.get_cart("a") or "")["version"] == 2
    db.apply_batch(T, [Row(0, 2, "a", None)])
    assert db.get_cart("a") is None and db.stored_offsets(T) == {0: 3}


def test_redelivered_records_are_not_applied_twice(db: CartDB) -> None:
    assert db.apply_batch(T, [Row(0, 0, "a", cart("a", 1)), Row(0, 1, "a", cart("a", 2))]) == 2
    # A redelivery of offset 1 (old value) plus one new record: only the new one applies.
    n = db.apply_batch(T, [Row(0, 0, "a", cart("a", 1)), Row(0, 2, "b", cart("b", 1))])
    assert n == 1
    assert json.loads(db.get_cart("a") or "")["version"] == 2
    assert db.stored_offsets(T) == {0: 3}


def test_skipped_records_only_advance_the_offset(db: CartDB) -> None:
    assert db.apply_batch(T, [Row(2, 7, None, None)]) == 0
    assert db.stored_offsets(T) == {2: 8} and db.count_carts() == 0


def test_a_failing_batch_applies_nothing(db: CartDB) -> None:
    unbindable: Any = object()  # the DB driver refuses it in the middle of the batch
    with pytest.raises(Exception, match=r"(?i)binding|adapt|type"):
        db.apply_batch(T, [Row(0, 0, "a", cart("a", 1)), Row(0, 1, "b", unbindable)])
    assert db.get_cart("a") is None and db.stored_offsets(T) == {}


def test_offsets_are_per_topic(db: CartDB) -> None:
    db.apply_batch("other", [Row(0, 9, "a", cart("a", 1))])
    assert db.stored_offsets(T) == {} and db.stored_offsets("other") == {0: 10}


def test_reader_threads_see_committed_rows(db: CartDB) -> None:
    db.apply_batch(T, [Row(0, 0, "a", cart("a", 1))])
    seen: list[str | None] = []
    threads = [threading.Thread(target=lambda: seen.append(db.get_cart("a"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [cart("a", 1)] * 4


def run_api(tmp_path: Path, scenario: Any, *, seed: list[Row] | None = None) -> None:
    target = str(tmp_path / "api.db")

    async def main() -> None:
        async with (
            running(open_db(target)) as base,
            aiohttp.ClientSession(base_url=base) as client,
        ):
            if seed:
                writer = open_db(target)
                writer.apply_batch(T, seed)
                writer.close()
            await scenario(client)

    asyncio.run(main())


def test_read_api_answers_404_before_anything_was_written(tmp_path: Path) -> None:
    async def scenario(client: aiohttp.ClientSession) -> None:
        resp = await client.get("/api/v1/123")
        assert resp.status == 404
        assert await resp.json() == {
            "error": "not_found",
            "reason": "no cart for customer '123'",
            "customerId": "123",
        }
        assert (await client.get("/healthz")).status == 200

    run_api(tmp_path, scenario)  # the DB file did not exist before: the app made the schema


def test_read_api_returns_the_latest_cart(tmp_path: Path) -> None:
    rows = [Row(0, 0, "123", cart("123", 1)), Row(0, 1, "123", cart("123", 2))]

    async def scenario(client: aiohttp.ClientSession) -> None:
        resp = await client.get("/api/v1/123")
        assert resp.status == 200 and resp.content_type == "application/json"
        assert (await resp.json()) == {"customerId": "123", "version": 2}
        assert (await client.get("/api/v1/456")).status == 404
        spec = await (await client.get("/openapi.json")).json()
        assert "/api/v1/{customerId}" in spec["paths"]

    run_api(tmp_path, scenario, seed=rows)


def test_healthz_is_503_when_the_db_fails(tmp_path: Path) -> None:
    class BrokenDB(SqliteCartDB):
        def ping(self) -> None:
            raise sqlite3.OperationalError("database is locked")

    async def main() -> None:
        async with (
            running(BrokenDB(tmp_path / "x.db")) as base,
            aiohttp.ClientSession(base_url=base) as client,
        ):
            resp = await client.get("/healthz")
            assert resp.status == 503
            assert "database is locked" in (await resp.json())["reason"]

    asyncio.run(main())


def test_read_api_decodes_the_customer_id_and_refuses_other_routes(tmp_path: Path) -> None:
    rows = [Row(0, 0, "a b", cart("a b", 1))]

    async def scenario(client: aiohttp.ClientSession) -> None:
        resp = await client.get("/api/v1/a%20b")
        assert resp.status == 200 and (await resp.json())["customerId"] == "a b"
        assert (await client.get("/api/v1/a/b")).status == 404
        assert (await client.get("/api/v1/")).status == 404
        resp = await client.post("/api/v1/a%20b", json={})
        assert resp.status == 405 and resp.headers["Allow"] == "GET"

    run_api(tmp_path, scenario, seed=rows)
