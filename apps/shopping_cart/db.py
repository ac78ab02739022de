"""The read DB: carts plus the connector's consumed offsets, written in one transaction.

:func:`open_db` takes an SQLite path (the default, stdlib ``sqlite3`` in WAL mode) or a
PostgreSQL URL (``postgresql://...``, needs the ``psycopg`` package). Both back ends run the same
SQL (``INSERT ... ON CONFLICT`` exists in both); only the placeholder style and connection
handling differ. Connections are per thread, so one DB object serves an executor safely.

Exactly-once into the DB: :meth:`CartDB.apply_batch` reads the stored offsets inside the
transaction, skips records below them (already applied), writes rows and the new offsets, and
commits once. A crash before the commit applies nothing; after it, everything.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

DEFAULT_DB: Final = "shopping_cart_read.db"

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS carts (
        customer_id TEXT PRIMARY KEY,
        cart TEXT NOT NULL,
        src_partition INTEGER NOT NULL,
        src_offset BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS consumer_offsets (
        topic TEXT NOT NULL,
        kafka_partition INTEGER NOT NULL,
        next_offset BIGINT NOT NULL,
        PRIMARY KEY (topic, kafka_partition)
    )""",
)
_UPSERT: Final = (
    "INSERT INTO carts (customer_id, cart, src_partition, src_offset) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (customer_id) DO UPDATE SET cart = excluded.cart, "
    "src_partition = excluded.src_partition, src_offset = excluded.src_offset"
)
_DELETE: Final = "DELETE FROM carts WHERE customer_id = ?"
_SAVE_OFFSET: Final = (
    "INSERT INTO consumer_offsets (topic, kafka_partition, next_offset) VALUES (?, ?, ?) "
    "ON CONFLICT (topic, kafka_partition) DO UPDATE SET next_offset = excluded.next_offset"
)
_LOAD_OFFSETS: Final = "SELECT kafka_partition, next_offset FROM consumer_offsets WHERE topic = ?"
_GET: Final = "SELECT cart FROM carts WHERE customer_id = ?"


@dataclass(frozen=True, slots=True)
class Row:
    """One consumed record: ``cart`` is the JSON text, or ``None`` for a tombstone (delete).

    ``customer_id`` ``None`` marks a record that is skipped (no key, not JSON): it only
    advances the stored offset.
    """

    partition: int
    offset: int
    customer_id: str | None
    cart: str | None


class CartDB:
    """SQL shared by the back ends; subclasses provide connections and the placeholder."""

    placeholder = "?"

    def _connect(self) -> Any:
        raise NotImplementedError

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _begin(self, conn: Any) -> None:
        """Start a write transaction (overridden for SQLite's BEGIN IMMEDIATE)."""

    def ensure_schema(self) -> None:
        """Create the tables if missing (both the connector and the read API call this)."""
        conn = self._conn()
        cur = conn.cursor()
        for stmt in _SCHEMA:
            cur.execute(stmt)
        conn.commit()

    def stored_offsets(self, topic: str) -> dict[int, int]:
        """The next offset to consume per partition, as committed with the rows."""
        conn = self._conn()
        cur = conn.cursor()
        cur.execute(self._sql(_LOAD_OFFSETS), (topic,))
        result = {int(p): int(o) for p, o in cur.fetchall()}
        conn.commit()
        return result

    def apply_batch(self, topic: str, rows: Sequence[Row]) -> int:
        """Apply rows not applied before and advance the offsets, atomically; return the count."""
        if not rows:
            return 0
        conn = self._conn()
        try:
            self._begin(conn)
            cur = conn.cursor()
            cur.execute(self._sql(_LOAD_OFFSETS), (topic,))
            stored = {int(p): int(o) for p, o in cur.fetchall()}
            applied = 0
            next_offsets: dict[int, int] = {}
            for row in rows:
                if row.offset < stored.get(row.partition, 0):
                    continue  # already in the DB (a redelivery): never apply twice
                if row.customer_id is None:
                    pass
                elif row.cart is None:
                    cur.execute(self._sql(_DELETE), (row.customer_id,))
                else:
                    cur.execute(
                        self._sql(_UPSERT), (row.customer_id, row.cart, row.partition, row.offset)
                    )
                applied += row.customer_id is not None
                next_offsets[row.partition] = max(
                    next_offsets.get(row.partition, 0), row.offset + 1
                )
            for partition, offset in next_offsets.items():
                cur.execute(self._sql(_SAVE_OFFSET), (topic, partition, offset))
            conn.commit()
            return applied
        except BaseException:
            conn.rollback()
            raise

    def get_cart(self, customer_id: str) -> str | None:
        """The latest cart JSON of a customer, or ``None``."""
        conn = self._conn()
        cur = conn.cursor()
        cur.execute(self._sql(_GET), (customer_id,))
        row = cur.fetchone()
        conn.commit()
        return None if row is None else str(row[0])

    def count_carts(self) -> int:
        conn = self._conn()
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM carts")
        (n,) = cur.fetchone()
        conn.commit()
        return int(n)

    def ping(self) -> None:
        """Raise if the DB cannot answer a trivial query."""
        conn = self._conn()
        conn.cursor().execute("SELECT 1")
        conn.commit()

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            # A connection made in another thread may refuse; it dies with its thread anyway.
            with contextlib.suppress(Exception):
                conn.close()
        self._local = threading.local()


class SqliteCartDB(CartDB):
    """The embedded default: one file, WAL mode (readers never block the connector)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None,
                               check_same_thread=False)  # fmt: skip
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        # isolation_level=None is autocommit; commit()/rollback() below are explicit statements.
        return _ExplicitTxn(conn)  # type: ignore[return-value]

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")


class _ExplicitTxn:
    """An autocommit sqlite3 connection whose commit/rollback end an explicit BEGIN, if any."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def cursor(self) -> sqlite3.Cursor:
        return self._conn.cursor()

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, tuple(params))

    def commit(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()


class PostgresCartDB(CartDB):
    """PostgreSQL through psycopg 3 (``pip install psycopg[binary]``); same SQL, ``%s`` params."""

    placeholder = "%s"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        try:
            import psycopg  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
        except ImportError:
            raise RuntimeError(
                f"--db {url.split('@')[-1]} is a PostgreSQL URL but the psycopg package is not "
                "installed; run `pip install 'psycopg[binary]'` or use an SQLite path"
            ) from None

    def _connect(self) -> Any:
        import psycopg  # type: ignore[import-not-found, unused-ignore]

        # A transaction starts implicitly with the first statement; commit() ends it.
        return psycopg.connect(self.url)

    def _begin(self, conn: Any) -> None:
        # Serialise writers (two connectors on one DB): the offsets read next stay current.
        conn.cursor().execute("LOCK TABLE consumer_offsets IN SHARE ROW EXCLUSIVE MODE")


def open_db(target: str | None) -> CartDB:
    """An SQLite path (default ``shopping_cart_read.db`` in the working dir) or a PostgreSQL URL."""
    target = target or DEFAULT_DB
    if target.startswith(("postgresql://", "postgres://")):
        return PostgresCartDB(target)
    if target.startswith("sqlite:///"):
        target = target.removeprefix("sqlite:///")
    return SqliteCartDB(target)
