"""KTable.suppress (Kafka's KTableSuppressProcessor over a time-ordered buffer).

Rules:
- every update is buffered by key; a key keeps its place (buffer time) from its first buffered
  update ("non-resetting"), the latest value replaces the held one, and the value emitted is
  `Change(latest new, value before the first held update)`;
- buffer time is the window end for `until_window_closes` (expiry: stream time - grace) and the
  record timestamp for `until_time_limit` (expiry: stream time - time limit); after each update,
  every entry whose buffer time <= expiry is emitted, oldest first (ties: by serialized key);
- stream time is the highest record timestamp this processor has seen;
- final results drop tombstones (a window deleted before it closed emits nothing);
- over `max_records` / `max_bytes`: `emit_early` emits oldest entries until within bounds,
  `shut_down` raises a StreamsError naming the node.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

import msgpack

from kstreamy.errors import StreamsError
from kstreamy.processor import ProcessorContext, Record
from kstreamy.processors.table import Change, TableSupplierFlags
from kstreamy.processors.windowed._common import WindowedProcessor
from kstreamy.serdes import Serde
from kstreamy.suppressed import Suppressed

NO_TIMESTAMP = -1
# bytes Kafka counts per buffered record besides key and values: timestamp, offset, partition
CONTEXT_OVERHEAD = 8 + 8 + 4


class _Entry:
    __slots__ = ("headers", "new", "prior", "size", "time", "timestamp", "token")

    def __init__(self, time: int, prior: Any, token: Any) -> None:
        self.time = time
        self.prior = prior
        self.token = token
        self.new: Any = None
        self.timestamp = 0
        self.headers: Any = ()
        self.size = 0


class KTableSuppress(WindowedProcessor):
    def __init__(
        self,
        flags: TableSupplierFlags,
        suppressed: Suppressed,
        grace_ms: int,
        key_serde: Serde | None,
        value_serde: Serde | None,
        store_name: str | None = None,
    ) -> None:
        self.store_name = store_name
        self.flags = flags
        self.suppressed = suppressed
        self.delay = grace_ms if suppressed.final_results else suppressed.time_limit_ms
        self.key_serde = key_serde
        self.value_serde = value_serde
        self.observed_stream_time = NO_TIMESTAMP
        self.entries: dict[Any, _Entry] = {}
        self.heap: list[tuple[int, Any, Any]] = []
        self.bytes = 0
        self._seq = itertools.count()

    def init(self, context: ProcessorContext) -> None:
        super().init(context)
        self.topic = f"{context.application_id}-{self.store_name or self.node}"
        self.key_serde = _with_default_inner(self.key_serde, context)
        self.store: Any = None
        if self.store_name is not None:
            self.store = context.get_state_store(self.store_name)
            self.value_serde = _value_serde(self.value_serde, context)
            self._restore_entries()

    # -- the changelogged buffer -----------------------------------------------------------------
    def _restore_entries(self) -> None:
        """Rebuild the buffer from its store (restored from the changelog after a restart)."""
        assert self.key_serde is not None and self.value_serde is not None
        vd = self.value_serde.deserialize
        for kb, data in list(self.store.all()):
            time, prior, new, ts, headers = msgpack.unpackb(data, raw=False)
            key = self.key_serde.deserialize(self.topic, kb)
            entry = _Entry(time, _opt(vd, self.topic, prior), (0, kb, next(self._seq)))
            entry.new, entry.timestamp = _opt(vd, self.topic, new), ts
            entry.headers = tuple((k, v) for k, v in headers)
            entry.size = self._size(entry.token, Change(entry.new, None), entry.prior)
            self.bytes += entry.size
            self.entries[key] = entry
            heapq.heappush(self.heap, (time, entry.token, key))

    def _log_entry(self, entry: _Entry) -> None:
        assert self.value_serde is not None
        vs = self.value_serde.serialize
        topic = self.topic
        data = msgpack.packb(
            [
                entry.time,
                None if entry.prior is None else vs(topic, entry.prior),
                None if entry.new is None else vs(topic, entry.new),
                entry.timestamp,
                [list(h) for h in entry.headers],
            ],
            use_bin_type=True,
        )
        self.store.put(entry.token[1], data)

    # -- sizes and ordering ----------------------------------------------------------------------
    def _token(self, key: Any) -> Any:
        """Sort key among entries with the same buffer time: the serialized key (Kafka's order),
        else arrival order when the key cannot be serialized here (only without a changelog)."""
        serde = self.key_serde
        if self.store is not None:
            assert serde is not None
            return (0, bytes(serde.serialize(self.topic, key) or b""), next(self._seq))
        if serde is not None:
            try:
                data = serde.serialize(self.topic, key)
                if data is not None:
                    return (0, bytes(data), next(self._seq))
            except Exception:  # a key the serde cannot take: arrival order
                pass
        return (1, b"", next(self._seq))

    def _size(self, key_token: Any, change: Change, prior: Any) -> int:
        if self.suppressed.max_bytes is None:
            return 0
        return CONTEXT_OVERHEAD + len(key_token[1]) + self._len(change.new) + self._len(prior)

    def _len(self, value: Any) -> int:
        if value is None:
            return 0
        serde = self.value_serde
        if serde is not None:
            try:
                data = serde.serialize(self.topic, value)
                return 0 if data is None else len(data)
            except Exception:  # fall back to an estimate
                pass
        return len(repr(value))

    # -- processing ------------------------------------------------------------------------------
    def process(self, record: Record[Any, Any]) -> None:
        ts = record.timestamp
        if ts > self.observed_stream_time:
            self.observed_stream_time = ts
        change: Change = record.value
        key = record.key
        entry = self.entries.get(key)
        if entry is None:
            time = key.window.end if self.suppressed.final_results else ts
            entry = _Entry(time, change.old, self._token(key))
            self.entries[key] = entry
            heapq.heappush(self.heap, (time, entry.token, key))
        else:
            self.bytes -= entry.size
        entry.new, entry.timestamp, entry.headers = change.new, ts, record.headers
        entry.size = self._size(entry.token, change, entry.prior)
        self.bytes += entry.size
        if self.store is not None:
            self._log_entry(entry)
        self._enforce()

    def _over_capacity(self) -> bool:
        s = self.suppressed
        return (s.max_records is not None and len(self.entries) > s.max_records) or (
            s.max_bytes is not None and self.bytes > s.max_bytes
        )

    def _enforce(self) -> None:
        expiry = self.observed_stream_time - self.delay
        heap = self.heap
        while heap and heap[0][0] <= expiry:
            self._emit_first()
        if self._over_capacity():
            if self.suppressed.when_full == "shut_down":
                s = self.suppressed
                raise StreamsError(
                    f"Suppress buffer of node {self.node} exceeded its max capacity: "
                    f"[{len(self.entries)}/{s.max_records}] records and "
                    f"[{self.bytes}/{s.max_bytes}] bytes; raise max_records/max_bytes or use "
                    "until_time_limit(..., when_full='emit_early')"
                )
            while heap and self._over_capacity():
                self._emit_first()

    def _emit_first(self) -> None:
        _, _, key = heapq.heappop(self.heap)
        entry = self.entries.pop(key)
        self.bytes -= entry.size
        if self.store is not None:
            self.store.delete(entry.token[1])
        if entry.new is None and self.suppressed.final_results:
            return  # Kafka: final results may drop tombstones
        old = entry.prior if self.flags.send_old_values else None
        self.forward(Record(key, Change(entry.new, old), entry.timestamp, entry.headers))

    def buffered(self) -> int:
        """How many keys are held back (for tests and metrics)."""
        return len(self.entries)


def _with_default_inner(serde: Serde | None, context: ProcessorContext) -> Serde:
    """The table's key serde, else the app's default key serde, else the internal
    type-preserving one; a windowed key serde left without its inner serde by the DSL gets that
    default inside it, as tasks do for topics."""
    from kstreamy.runtime.task import PYTHON_OBJECTS

    default = context.app_config.get("default.key.serde")
    fallback: Serde = (default() if isinstance(default, type) else default) or PYTHON_OBJECTS
    if serde is None:
        return fallback
    if getattr(serde, "inner", False) is None:
        wrapped: Serde = serde.with_inner(fallback)  # type: ignore[attr-defined]
        return wrapped
    return serde


def _value_serde(serde: Serde | None, context: ProcessorContext) -> Serde:
    if serde is not None:
        return serde
    from kstreamy.runtime.task import PYTHON_OBJECTS

    default = context.app_config.get("default.value.serde")
    chosen: Serde = (default() if isinstance(default, type) else default) or PYTHON_OBJECTS
    return chosen


def _opt(deserialize: Callable[[str, bytes | None], Any], topic: str, data: Any) -> Any:
    return None if data is None else deserialize(topic, data)


def buffered_getter(
    context: ProcessorContext,
    store_name: str,
    key_serde: Serde | None,
    value_serde: Serde | None,
    parent: Callable[[Any], Any],
) -> Callable[[Any], Any]:
    """The suppressed table's value getter: the prior value of a buffered key, else the
    parent's value."""
    from kstreamy.state.api import ValueAndTimestamp

    store = context.get_state_store(store_name)
    ks = _with_default_inner(key_serde, context)
    vs = _value_serde(value_serde, context)
    topic = f"{context.application_id}-{store_name}"

    def get(key: Any) -> Any:
        data = store.get(bytes(ks.serialize(topic, key) or b""))
        if data is None:
            return parent(key)
        _, prior, _, ts, _ = msgpack.unpackb(data, raw=False)
        return None if prior is None else ValueAndTimestamp(vs.deserialize(topic, prior), ts)

    return get
