"""Store factories for the contract suite: every bytes store and every layering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kstreamy.state.api import ValueAndTimestamp
from kstreamy.state.cache import ThreadCache
from kstreamy.state.caching import CachingKeyValueStore
from kstreamy.state.lmdb_store import LmdbKeyValueStore
from kstreamy.state.logging_layer import ChangeLoggingKeyValueStore
from kstreamy.state.memory import InMemoryKeyValueStore
from kstreamy.state.stores import Stores
from kstreamy.state.testing import FakeStoreContext


@dataclass
class StoreUnderTest:
    """A store plus how to build it again over the same files, and value (un)wrapping."""

    kind: str
    build: Callable[[], Any]
    tmp: Path
    cached: bool
    persistent: bool
    timestamped: bool = False
    ctx: FakeStoreContext = field(init=False)
    store: Any = field(init=False)

    def open(self) -> Any:
        budget = 400 if "tiny-cache" in self.kind else 1 << 20
        cache = ThreadCache(budget) if self.cached else None
        self.ctx = FakeStoreContext(state_dir=self.tmp, cache=cache)
        self.ctx.set_record(1000)
        self.store = self.build()
        self.store.init(self.ctx, self.store)
        return self.store

    def wrap(self, value: bytes | None) -> Any:
        if value is None or not self.timestamped:
            return value
        return ValueAndTimestamp(value, 42)

    def unwrap(self, value: Any) -> bytes | None:
        if value is None or not self.timestamped:
            return value  # type: ignore[no-any-return]
        assert value.timestamp == 42
        return value.value  # type: ignore[no-any-return]

    def items(self, iterator: Any) -> list[tuple[bytes, bytes | None]]:
        return [(k, self.unwrap(v)) for k, v in iterator]


def _layered(bytes_factory: Callable[[str], Any], logging: bool, caching: bool) -> Any:
    def build() -> Any:
        layer = bytes_factory("s")
        if logging:
            layer = ChangeLoggingKeyValueStore(layer)
        if caching:
            layer = CachingKeyValueStore(layer)
        return layer

    return build


KINDS: dict[str, tuple[Callable[[], Any], bool, bool, bool]] = {
    # name: (build, cached, persistent, timestamped)
    "memory": (_layered(InMemoryKeyValueStore, False, False), False, False, False),
    "lmdb": (_layered(LmdbKeyValueStore, False, False), False, True, False),
    "memory+logging": (_layered(InMemoryKeyValueStore, True, False), False, False, False),
    "lmdb+logging": (_layered(LmdbKeyValueStore, True, False), False, True, False),
    "memory+caching": (_layered(InMemoryKeyValueStore, False, True), True, False, False),
    "lmdb+logging+caching": (_layered(LmdbKeyValueStore, True, True), True, True, False),
    "memory+logging+tiny-cache": (_layered(InMemoryKeyValueStore, True, True), True, False, False),
    "typed-lmdb-tiny-cache": (lambda: Stores.key_value("s").build(), True, True, False),
    "typed-memory": (lambda: Stores.in_memory_key_value("s").build(), False, False, False),
    "typed-lmdb": (lambda: Stores.persistent_key_value("s").build(), False, True, False),
    "typed-lmdb-cached": (lambda: Stores.key_value("s").build(), True, True, False),
    "timestamped-memory-cached": (
        lambda: Stores.timestamped_key_value("s", persistent=False).build(),
        True,
        False,
        True,
    ),
    "timestamped-lmdb": (lambda: Stores.timestamped_key_value("s").build(), False, True, True),
}


@pytest.fixture(params=sorted(KINDS))
def sut(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    build, cached, persistent, timestamped = KINDS[request.param]
    under_test = StoreUnderTest(request.param, build, tmp_path, cached, persistent, timestamped)
    under_test.open()
    yield under_test
    if under_test.store.is_open:
        under_test.store.close()


def make_sut(kind: str, tmp_path: Path) -> StoreUnderTest:
    build, cached, persistent, timestamped = KINDS[kind]
    under_test = StoreUnderTest(kind, build, tmp_path, cached, persistent, timestamped)
    under_test.open()
    return under_test


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store() -> Callable[[str, Path], StoreUnderTest]:
    return make_sut


LOGGING_KINDS = sorted(k for k in KINDS if k not in ("memory", "lmdb", "memory+caching"))


@pytest.fixture(params=LOGGING_KINDS)
def logging_kind(request: pytest.FixtureRequest) -> str:
    """The stacks that have a change-logging layer."""
    return str(request.param)
