"""The typed (metered) layer: serdes and simple metrics over the bytes layers.

It is the outermost layer, the one registered with the task. The inner stack is assembled at
`init`, when the task context says whether a thread cache and a state directory exist:
caching (if enabled and the worker has a cache) -> change-logging (if enabled) -> LMDB (if
persistent and the task has a state directory) or in-memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from kstreamy.errors import InvalidStateStoreError
from kstreamy.serdes import Bytes, Integer, Long, Serde, String
from kstreamy.state.api import (
    FlushListener,
    RecordContext,
    RecordFields,
    StateStore,
    StoreContext,
    ValueAndTimestamp,
)
from kstreamy.state.base import BytesItems, BytesStore, closed_error, prefix_successor
from kstreamy.state.caching import BytesFlushListener, CachingKeyValueStore
from kstreamy.state.logging_layer import ChangeLoggingKeyValueStore
from kstreamy.state.memory import InMemoryKeyValueStore
from kstreamy.state.serde_util import TimestampedSerde, pack_long, resolve_serde
from kstreamy.state.value_memo import (
    NATIVE_ATOMS,
    OBJECT_MEMO_MAX,
    UNSHAREABLE,
    copy_flat_vat,
    deeply_immutable,
    exact_round_trip,
    memo_copier,
    memo_decoder,
    native_flat,
)

__all__ = [
    "MeteredKeyValueStore",
    "StoreMetrics",
    "deeply_immutable",
    "memo_copier",
    "memo_decoder",
]

K = TypeVar("K")
V = TypeVar("V")

_now_ns = time.perf_counter_ns
_new_vat = tuple.__new__  # a ValueAndTimestamp without its Python-level __new__ (hot path)


class _NotOpen:
    """Stands in for the inner layers before `init` and after `close`: every use raises."""

    is_open = False

    def __init__(self, name: str) -> None:
        self._store_name = name

    def __getattr__(self, attribute: str) -> Any:
        raise closed_error(self._store_name)


class StoreMetrics:
    """Counts of the typed operations of one store, and their latency (ns).

    Every operation is counted; only one in `SAMPLE_EVERY` is timed (a `perf_counter` pair per
    call would cost more than the operation itself), so `get_ns`/`put_ns` are estimated totals:
    the sampled time scaled by count / samples.
    """

    __slots__ = ("get_count", "get_sampled", "get_sampled_ns", "put_count", "put_sampled",
                 "put_sampled_ns")  # fmt: skip

    SAMPLE_EVERY = 64

    def __init__(self) -> None:
        self.get_count = 0
        self.get_sampled = 0
        self.get_sampled_ns = 0
        self.put_count = 0
        self.put_sampled = 0
        self.put_sampled_ns = 0

    @property
    def get_ns(self) -> int:
        """Estimated total nanoseconds spent in `get`."""
        if not self.get_sampled:
            return 0
        return self.get_sampled_ns * self.get_count // self.get_sampled

    @property
    def put_ns(self) -> int:
        """Estimated total nanoseconds spent in `put`/`put_if_absent`/`delete`."""
        if not self.put_sampled:
            return 0
        return self.put_sampled_ns * self.put_count // self.put_sampled

    def as_dict(self) -> dict[str, int]:
        return {
            "get_count": self.get_count,
            "get_ns": self.get_ns,
            "put_count": self.put_count,
            "put_ns": self.put_ns,
        }


_SAMPLE_MASK = StoreMetrics.SAMPLE_EVERY - 1
# the read memo is given up after this many values it could not keep (nested mutable values)
_READS_GIVE_UP = 16
# Exact classes whose objects cannot change: a key of one of them serialized by `get` can be
# reused by the `put` that follows with the same object (no second serialization).
_IMMUTABLE = frozenset({str, int, bytes, float, bool})
# Serdes whose round trip gives back an equal object of the same exact class: the flush
# listener may reuse the object last put instead of deserializing its bytes again.
_ROUND_TRIP: dict[type, type] = {String: str, Long: int, Integer: int, Bytes: bytes}


class MeteredKeyValueStore(Generic[K, V]):
    """`KeyValueStore[K, V]` over bytes layers; `timestamped` stores hold `ValueAndTimestamp`."""

    # Slots: see `Task.__slots__` (fast attribute reads on the per-record path).
    __slots__ = (
        "__dict__",
        "_bytes_flush_listener",
        "_caching",
        "_context",
        "_flush_listener",
        "_get_kb",
        "_get_key",
        "_get_vde",
        "_inner_get",
        "_inner_put",
        "_kde",
        "_key_round_trip",
        "_key_serde_cfg",
        "_kser",
        "_logging",
        "_name",
        "_objects",
        "_persistent",
        "_put_kb",
        "_put_key",
        "_put_value",
        "_put_vb",
        "_reads",
        "_reads_generation",
        "_reads_unshareable",
        "_topic",
        "_ts_vser",
        "_value_round_trip",
        "_value_serde_cfg",
        "_vde",
        "_vser",
        "bytes_store",
        "inner",
        "key_serde",
        "logging_config",
        "metrics",
        "timestamped",
        "value_serde",
    )

    def __init__(
        self,
        name: str,
        key_serde: Serde | None = None,
        value_serde: Serde | None = None,
        *,
        persistent: bool = True,
        logging: bool = True,
        caching: bool = True,
        timestamped: bool = False,
        logging_config: Mapping[str, str] | None = None,
    ) -> None:
        self._name = name
        self._key_serde_cfg = key_serde
        self._value_serde_cfg = value_serde
        self._persistent = persistent
        self._logging = logging
        self._caching = caching
        self.timestamped = timestamped
        self.logging_config = dict(logging_config or {})
        self.metrics = StoreMetrics()
        self.inner: Any = _NotOpen(name)

        def not_open(topic: str, obj: Any) -> Any:
            raise closed_error(name)

        self._kser: Any = not_open
        self._kde: Any = not_open
        self._vser: Any = not_open
        self._ts_vser: Any = None
        self._vde: Any = not_open
        self._get_vde: Any = not_open  # `get`'s deserializer: `_vde` or a read memo over it
        self.bytes_store: BytesStore | None = None
        self.key_serde: Serde | None = None
        self.value_serde: Serde | None = None
        self._topic = name
        self._flush_listener: tuple[FlushListener, bool] | None = None
        self._bytes_flush_listener: tuple[BytesFlushListener, bool] | None = None
        self._context: StoreContext | None = None
        self._bind_closed()
        # memo of the last get's key (its bytes serve the put that usually follows) and of the
        # last put (its objects serve the flush listener); reused only for the same objects
        self._get_key: Any = None
        self._get_kb: bytes = b""
        self._put_key: Any = None
        self._put_kb: bytes = b""
        self._put_value: Any = None
        self._put_vb: bytes | None = None
        self._key_round_trip: type | None = None
        self._value_round_trip: type | None = None
        # objects memo (caching stores whose serde round-trips flat values exactly): value
        # bytes put under a key -> a private copy of the flat value they encode; a read or a
        # cache flush that finds these very bytes (identity) copies it instead of decoding
        self._objects: dict[bytes, tuple[bytes, Any, Any]] | None = None
        self._reads: dict[Any, tuple[Any, Any]] | None = None
        self._reads_generation = -1
        self._reads_unshareable = 0

    def _memo_give_up(self) -> None:
        self._get_vde = self._vde

    def _bind_closed(self) -> None:
        """Before `init` and after `close`: the bound inner operations raise."""
        name = self._name

        def not_open(*args: Any) -> Any:
            raise closed_error(name)

        self._inner_get: Any = not_open
        self._inner_put: Any = not_open

    def _bind_open(self) -> None:
        """Bind the inner layer's hot operations once (no attribute chain per call)."""
        self._inner_get = self.inner.get
        self._inner_put = self.inner.put

    # --- lifecycle ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def persistent(self) -> bool:
        if self.bytes_store is not None:
            return self.bytes_store.persistent
        return self._persistent

    @property
    def is_open(self) -> bool:
        return bool(self.inner.is_open)

    @property
    def fresh(self) -> bool:
        """True when the store opened without existing local data: restore it from the start
        of its changelog, whatever a checkpoint says."""
        return self.bytes_store is None or self.bytes_store.fresh

    @property
    def caching_enabled(self) -> bool:
        return isinstance(self.inner, CachingKeyValueStore)

    @property
    def logging_enabled(self) -> bool:
        return self._logging

    def _assemble(self, context: StoreContext) -> Any:
        bytes_store: BytesStore
        if self._persistent and context.state_dir is not None:
            from kstreamy.state.lmdb_store import LmdbKeyValueStore

            bytes_store = LmdbKeyValueStore(self._name)
        else:
            bytes_store = InMemoryKeyValueStore(self._name)
        self.bytes_store = bytes_store
        layer: Any = bytes_store
        if self._logging:
            layer = ChangeLoggingKeyValueStore(layer)
        cache = context.thread_cache()
        if self._caching and cache is not None and getattr(cache, "max_bytes", 1) > 0:
            layer = CachingKeyValueStore(layer)
        return layer

    def init(self, context: StoreContext, root: StateStore) -> None:
        if self.is_open:
            raise InvalidStateStoreError(f"State store '{self._name}' is already open")
        self._context = context
        self._topic = context.changelog_topic(self._name)
        config = context.app_config
        self.key_serde = resolve_serde(self._key_serde_cfg, config.get("default.key.serde"))
        value_serde = resolve_serde(self._value_serde_cfg, config.get("default.value.serde"))
        self.value_serde = TimestampedSerde(value_serde) if self.timestamped else value_serde
        self._kser = self.key_serde.serialize
        self._kde = self.key_serde.deserialize
        self._vser = self.value_serde.serialize
        self._vde = self.value_serde.deserialize
        # a timestamped value is serialized here (8-byte timestamp + value bytes, what
        # TimestampedSerde does) without the wrapper's call (per-record path)
        self._ts_vser = value_serde.serialize if self.timestamped else None
        self._key_round_trip = _ROUND_TRIP.get(type(self.key_serde))
        self._value_round_trip = _ROUND_TRIP.get(type(value_serde))
        # a built-in scalar serde decodes about as fast as a memo lookup: no memo for those
        self._get_vde = (
            self._vde
            if self._value_round_trip is not None
            else memo_decoder(self._vde, self._memo_give_up)
        )
        self.inner = self._assemble(context)
        self.inner.init(context, root)
        self._objects = (
            {}
            if isinstance(self.inner, CachingKeyValueStore) and exact_round_trip(value_serde)
            else None
        )
        # read memo by key object: for stores read straight from LMDB or memory (no cache),
        # such as a GlobalKTable looked up on every join. A write through this layer forgets
        # its key; a restore or reopen below (the bytes store's generation) forgets everything.
        self._reads = (
            {}
            if not isinstance(self.inner, CachingKeyValueStore)
            and getattr(self.bytes_store, "counts_generations", False)
            and self._key_round_trip is not None
            else None
        )
        self._reads_generation = -1
        self._bind_open()
        if self._flush_listener is not None:
            self.set_flush_listener(*self._flush_listener)
        if self._bytes_flush_listener is not None:
            self.set_bytes_flush_listener(*self._bytes_flush_listener)

    def flush(self) -> None:
        store = self.bytes_store
        if store is not None and store._is_open and self.inner.__class__ is not _NotOpen:
            self.inner.flush()

    def close(self) -> None:
        """Close every layer; unflushed cache entries and LMDB writes are dropped (a clean
        shutdown flushes first, as the task's commit does)."""
        inner = self.inner
        if inner.is_open:
            self.inner = _NotOpen(self._name)
            self._bind_closed()
            self._get_key = self._put_key = self._put_value = None
            self._objects = self._reads = None
            inner.close()

    def set_flush_listener(self, listener: FlushListener, send_old_values: bool) -> bool:
        """Forward flushed cache entries as typed values; False when this store has no cache.

        Call it after `init` (as Kafka's processors do); before `init` the listener is kept and
        installed at `init`, and the answer is only whether caching was requested.
        """
        self._flush_listener = (listener, send_old_values)
        self._bytes_flush_listener = None  # one listener: the last one set
        if not self.inner.is_open:
            return self._caching
        if not isinstance(self.inner, CachingKeyValueStore):
            return False
        kde, vde, topic = self._kde, self._vde, self._topic
        key_type, value_type = self._key_round_trip, self._value_round_trip
        timestamped = self.timestamped

        # The entry flushed is usually the one just put: reuse its objects when the bytes are
        # the very ones put and the serde round-trips that exact class (no deserialization).
        def typed_listener(
            key: bytes, new: bytes | None, old: bytes | None, fields: RecordFields
        ) -> None:
            rc: Any = (  # typed listeners get a RecordContext (the cache keeps plain tuples)
                fields if fields.__class__ is RecordContext else _new_vat(RecordContext, fields)
            )
            typed_key: Any = None
            typed_new: Any = None
            if new is not None:
                objects = self._objects
                hit = None if objects is None else objects.get(key)
                if hit is not None and hit[0] is new:
                    typed_new = self._copy_object(hit[1])
                    typed_key = hit[2]  # the key object put, when it round-trips exactly
                elif new is not self._put_vb:
                    typed_new = vde(topic, new)
                else:
                    last = self._put_value
                    if timestamped:
                        typed_new = (
                            last
                            if last.__class__ is ValueAndTimestamp
                            and last[0].__class__ is value_type
                            and last[1].__class__ is int
                            else vde(topic, new)
                        )
                    else:
                        typed_new = last if last.__class__ is value_type else vde(topic, new)
            if typed_key is None:
                last_key = self._put_key
                typed_key = (
                    last_key
                    if key is self._put_kb and last_key.__class__ is key_type
                    else kde(topic, key)
                )
            listener(typed_key, typed_new, None if old is None else vde(topic, old), rc)

        return self.inner.set_flush_listener(typed_listener, send_old_values)

    def set_bytes_flush_listener(self, listener: BytesFlushListener, send_old_values: bool) -> bool:
        """Forward flushed cache entries as the bytes stored (key bytes; value bytes, with the
        8-byte timestamp first in a timestamped store), decoding nothing: for a downstream that
        would only encode them again with the same serdes. False when this store has no cache.
        """
        self._bytes_flush_listener = (listener, send_old_values)
        self._flush_listener = None
        if not self.inner.is_open:
            return self._caching
        if not isinstance(self.inner, CachingKeyValueStore):
            return False
        return self.inner.set_flush_listener(listener, send_old_values)

    # --- key-value operations -----------------------------------------------------------------
    def _key(self, key: K) -> bytes:
        if key is None:
            raise ValueError(f"State store '{self._name}': the key must not be None")
        data = self._kser(self._topic, key)
        if data is None:
            raise ValueError(f"State store '{self._name}': key {key!r} serialized to None")
        return bytes(data)

    def get(self, key: K) -> V | None:
        metrics = self.metrics
        count = metrics.get_count
        metrics.get_count = count + 1
        if not count & _SAMPLE_MASK:
            start = _now_ns()
            value = self._read(key)
            metrics.get_sampled += 1
            metrics.get_sampled_ns += _now_ns() - start
            return value
        if self._reads is not None:  # stores read straight from LMDB/memory: the read memo
            return self._read(key)
        # the unsampled path inlines `_get` (one call less per read)
        kb = None if key is None else self._kser(self._topic, key)
        if kb.__class__ is not bytes:
            kb = self._key(key)
        self._get_key = key
        self._get_kb = kb
        raw = self._inner_get(kb)
        if raw is None:
            return None
        objects = self._objects
        if objects is not None:
            hit = objects.get(kb)
            if hit is not None and hit[0] is raw:  # the very bytes put: copy, do not decode
                snapshot = hit[1]  # `_copy_object`, inlined (per-record path)
                copied: Any = (
                    _new_vat(ValueAndTimestamp, (snapshot[0].copy(), snapshot[1]))
                    if self.timestamped
                    else snapshot.copy()
                )
                return copied  # type: ignore[no-any-return]
        result: V = self._get_vde(self._topic, raw)
        return result

    def get_pair(self, key: K) -> Any:
        """`get` for the DSL's processors on a timestamped store: (value, timestamp), as a plain
        tuple when it comes from the object memo (a ValueAndTimestamp costs about as much to
        build and free as the rest of a cached read), else the ValueAndTimestamp; None when
        absent. Other stores: `get`."""
        metrics = self.metrics
        count = metrics.get_count
        if not count & _SAMPLE_MASK or not self.timestamped:
            return self.get(key)  # `get` times the sampled reads; plain stores have no pairs
        metrics.get_count = count + 1
        objects = self._objects
        if objects is None:  # no cache: straight from LMDB/memory, through the read memo
            return self._read(key, True)
        # as in `get`, `_get` is inlined: a call costs as much as the tuple this saves
        kb = None if key is None else self._kser(self._topic, key)
        if kb.__class__ is not bytes:
            kb = self._key(key)
        self._get_key = key
        self._get_kb = kb
        raw = self._inner_get(kb)
        if raw is None:
            return None
        hit = objects.get(kb)
        if hit is not None and hit[0] is raw:
            snapshot = hit[1]
            return (snapshot[0].copy(), snapshot[1])
        return self._get_vde(self._topic, raw)

    def _read(self, key: K, pair: bool = False) -> V | None:
        """`get` without its metrics, through the read memo when the store has one; `pair`: a
        memoized ValueAndTimestamp comes back as a plain (value, timestamp) copy."""
        reads = self._reads
        if reads is not None and key.__class__ is self._key_round_trip:
            generation = self.bytes_store.generation  # type: ignore[union-attr]
            if generation == self._reads_generation:
                memo = reads.get(key)
                if memo is not None:  # (value, None: shared | a copy function)
                    copy = memo[1]
                    if copy is None:
                        return memo[0]  # type: ignore[no-any-return]
                    if copy is copy_flat_vat:  # inlined (a global table read on every join)
                        vat = memo[0]
                        if pair:
                            return (vat[0].copy(), vat[1])  # type: ignore[return-value]
                        fresh: Any = _new_vat(ValueAndTimestamp, (vat[0].copy(), vat[1]))
                        return fresh  # type: ignore[no-any-return]
                    return copy(memo[0])  # type: ignore[no-any-return]
            else:
                reads.clear()
                self._reads_generation = generation
            value = self._get(key)
            self._remember_read(key, value)
            return value
        return self._get(key)

    def _get(self, key: K) -> V | None:
        kb = None if key is None else self._kser(self._topic, key)
        if kb.__class__ is not bytes:
            kb = self._key(key)  # None keys, odd serde results: the checked path
        self._get_key = key
        self._get_kb = kb
        raw = self._inner_get(kb)
        if raw is None:
            return None
        objects = self._objects
        if objects is not None:
            hit = objects.get(kb)
            if hit is not None and hit[0] is raw:
                copied: V = self._copy_object(hit[1])
                return copied
        value: V = self._get_vde(self._topic, raw)
        return value

    def _forget_read(self, key: Any) -> None:
        """`key` is being written: its memoized read (or, for a key of another class that may
        serialize alike, every memoized read) is stale."""
        reads = self._reads
        if reads is not None:
            if key.__class__ is self._key_round_trip:
                reads.pop(key, None)
            else:
                reads.clear()

    def _remember_read(self, key: Any, value: Any) -> None:
        """Keep what a read of `key` returned: None, a deeply immutable value (shared), or a
        private copy of a flat container (copied again for every reader)."""
        reads = self._reads
        if reads is None:
            return
        if value is None:
            reads[key] = (None, None)
            return
        copier = memo_copier(value)
        if copier is UNSHAREABLE:  # nested mutable values: after a few, stop trying
            self._reads_unshareable += 1
            if self._reads_unshareable >= _READS_GIVE_UP:
                self._reads = None
            return
        if len(reads) >= OBJECT_MEMO_MAX:
            reads.clear()
        reads[key] = (value if copier is None else copier(value), copier)

    def put(self, key: K, value: V | None) -> None:
        metrics = self.metrics
        count = metrics.put_count
        metrics.put_count = count + 1
        if not count & _SAMPLE_MASK:
            start = _now_ns()
            self._put(key, value)
            metrics.put_sampled += 1
            metrics.put_sampled_ns += _now_ns() - start
            return
        # the unsampled path inlines `_put` (one call less per write)
        kb: Any
        if key is self._get_key and key.__class__ in _IMMUTABLE:
            kb = self._get_kb
        else:
            kb = None if key is None else self._kser(self._topic, key)
            if kb.__class__ is not bytes:
                kb = self._key(key)
        vb: bytes | None
        if value is None:
            vb = None
        elif self._ts_vser is not None and (
            value.__class__ is ValueAndTimestamp or (value.__class__ is tuple and len(value) == 2)  # type: ignore[arg-type]
        ):
            data = self._ts_vser(self._topic, value[0])  # type: ignore[index]
            vb = None if data is None else pack_long(value[1]) + data  # type: ignore[index]
        else:
            vb = self._vser(self._topic, value)
        self._inner_put(kb, vb)
        if self._objects is not None:
            self._remember_object(kb, vb, value, key)
        elif self._reads is not None:
            self._forget_read(key)
        self._put_key = key
        self._put_kb = kb
        self._put_value = value
        self._put_vb = vb

    def _put(self, key: K, value: V | None) -> None:
        kb: Any
        if key is self._get_key and key.__class__ in _IMMUTABLE:
            kb = self._get_kb  # the get before this put serialized this very object
        else:
            kb = None if key is None else self._kser(self._topic, key)
            if kb.__class__ is not bytes:
                kb = self._key(key)
        vb = None if value is None else self._vser(self._topic, value)
        self._inner_put(kb, vb)
        if self._objects is not None:
            self._remember_object(kb, vb, value, key)
        elif self._reads is not None:
            self._forget_read(key)
        self._put_key = key
        self._put_kb = kb
        self._put_value = value
        self._put_vb = vb

    def _remember_object(self, kb: bytes, vb: bytes | None, value: Any, key: Any) -> None:
        """After a put: keep a private copy of a flat value with the bytes that encode it, and
        the key object when its serde gives back that very class (immutable: shared)."""
        objects: Any = self._objects
        snapshot = None
        if vb is not None:
            if self.timestamped:
                inner = (
                    value[0]
                    if value.__class__ is ValueAndTimestamp
                    or (value.__class__ is tuple and len(value) == 2)
                    else None
                )
                if inner.__class__ is dict and value[1].__class__ is int:
                    for k, v in inner.items():  # `native_flat`, inlined (per-record path)
                        if k.__class__ is not str or v.__class__ not in NATIVE_ATOMS:
                            break
                    else:
                        snapshot = (inner.copy(), value[1])  # a plain tuple: copies rebuild the VAT
                elif inner is not None and value[1].__class__ is int and native_flat(inner):
                    snapshot = (inner.copy(), value[1])  # a plain tuple: copies rebuild the VAT
            elif native_flat(value):
                snapshot = value.copy()
        if snapshot is None:
            objects.pop(kb, None)
            return
        if len(objects) >= OBJECT_MEMO_MAX:
            objects.clear()
        objects[kb] = (vb, snapshot, key if key.__class__ is self._key_round_trip else None)

    def _copy_object(self, snapshot: Any) -> Any:
        if self.timestamped:
            return _new_vat(ValueAndTimestamp, (snapshot[0].copy(), snapshot[1]))
        return snapshot.copy()

    def _timed_write(self, start: int) -> None:
        metrics = self.metrics
        count = metrics.put_count
        metrics.put_count = count + 1
        if not count & _SAMPLE_MASK:
            metrics.put_sampled += 1
            metrics.put_sampled_ns += _now_ns() - start

    def put_if_absent(self, key: K, value: V) -> V | None:
        start = _now_ns()
        self._forget_read(key)
        if self._objects is not None:
            self._objects.pop(self._key(key), None)
        old = self.inner.put_if_absent(self._key(key), self._vser(self._topic, value))
        self._timed_write(start)
        return None if old is None else self._vde(self._topic, old)

    def put_all(self, entries: Iterable[tuple[K, V | None]]) -> None:
        for key, value in entries:
            self.put(key, value)

    def delete(self, key: K) -> V | None:
        start = _now_ns()
        self._forget_read(key)
        if self._objects is not None:
            self._objects.pop(self._key(key), None)
        old = self.inner.delete(self._key(key))
        self._timed_write(start)
        return None if old is None else self._vde(self._topic, old)

    def _typed(self, items: BytesItems) -> Iterator[tuple[K, V]]:
        kde, vde, topic = self._kde, self._vde, self._topic
        for key, value in items:
            yield kde(topic, key), vde(topic, value)

    def _bound(self, key: K | None) -> bytes | None:
        return None if key is None else self._key(key)

    def range(self, from_key: K | None, to_key: K | None) -> Iterator[tuple[K, V]]:
        return self._typed(self.inner.range(self._bound(from_key), self._bound(to_key)))

    def all(self) -> Iterator[tuple[K, V]]:
        return self._typed(self.inner.all())

    def _prefix_bytes(self, prefix: Any, prefix_serde: Any) -> bytes:
        serde = prefix_serde if prefix_serde is not None else self.key_serde
        assert serde is not None
        data = serde.serialize(self._topic, prefix)
        return b"" if data is None else bytes(data)

    def prefix_scan(self, prefix: Any, prefix_serde: Any = None) -> Iterator[tuple[K, V]]:
        return self._typed(self.inner.prefix_scan(self._prefix_bytes(prefix, prefix_serde)))

    def approximate_num_entries(self) -> int:
        return int(self.inner.approximate_num_entries())

    # --- thread-safe reads (interactive queries: below the cache) ------------------------------
    def _queryable(self) -> BytesStore:
        store = self.bytes_store
        if store is None or not store.is_open:
            raise closed_error(self._name)
        return store

    def query_get(self, key: K) -> V | None:
        raw = self._queryable().query_get(self._key(key))
        return None if raw is None else self._vde(self._topic, raw)

    def query_range(self, from_key: K | None, to_key: K | None) -> Iterator[tuple[K, V]]:
        lo, hi = self._bound(from_key), self._bound(to_key)
        if lo is not None and hi is not None and lo > hi:
            return iter(())
        return self._typed(self._queryable().query_scan(lo, hi, True))

    def query_all(self) -> Iterator[tuple[K, V]]:
        return self._typed(self._queryable().query_scan(None, None, True))

    def query_prefix_scan(self, prefix: Any, prefix_serde: Any = None) -> Iterator[tuple[K, V]]:
        lo = self._prefix_bytes(prefix, prefix_serde)
        return self._typed(self._queryable().query_scan(lo, prefix_successor(lo), False))

    def query_count(self) -> int:
        return self._queryable().query_count()
