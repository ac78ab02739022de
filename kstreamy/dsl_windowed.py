"""Windowed fronts of the DSL: `windowed_by(...)` views, stream-stream joins and suppress.

`kstreamy.dsl` delegates here (`KGroupedStream.windowed_by`, `KStream.join/left_join/outer_join`
with `windows=JoinWindows...`, `KTable.suppress`). Each operator follows the DSL recipe: check the
arguments, name the node and its store like Kafka does, add one processor, return a front.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kstreamy._internal.tables import KGroupedStream, KTable, repartition_through
from kstreamy.processor import ProcessorContext
from kstreamy.processors.table import TableSupplierFlags, ValueGetter
from kstreamy.serdes import Serde, SessionWindowed, TimeWindowed
from kstreamy.state.api import StoreBuilder, ValueAndTimestamp
from kstreamy.windows import SessionWindows, SlidingWindows, TimeWindows

if TYPE_CHECKING:
    from kstreamy.dsl import KStream
    from kstreamy.suppressed import Suppressed
    from kstreamy.windows import JoinWindows

__all__ = [
    "SessionWindowedKStream",
    "SlidingWindowedKStream",
    "TimeWindowedKStream",
    "WindowedKTable",
    "stream_stream_join",
    "suppress",
    "windowed_by",
]


def _long() -> Serde:
    from kstreamy.serdes import Long

    return Long()


def _check_callable(fn: Any, what: str) -> None:
    if not callable(fn):
        raise TypeError(f"{what} must be callable, got {type(fn).__name__}")


class WindowedKTable(KTable):
    """A KTable keyed by `Windowed(key, window)`, materialized in a window or session store.

    It remembers its windows' grace (for `suppress(until_window_closes())`) and reads values
    from its store by windowed key (for joins and lookups)."""

    window_grace_ms: int = 0
    window_size_ms: int = 0
    session: bool = False

    def value_getter(self) -> tuple[Any, list[str]]:
        store_name = self.flags.store
        assert store_name is not None
        session = self.session

        def factory(ctx: ProcessorContext) -> ValueGetter:
            store = ctx.get_state_store(store_name)

            def get(wkey: Any) -> ValueAndTimestamp[Any] | None:
                window = wkey.window
                if session:
                    value = store.fetch_session(wkey.key, window.start, window.end)
                    return None if value is None else ValueAndTimestamp(value, window.end)
                vt: ValueAndTimestamp[Any] | None = store.get(wkey.key, window.start)
                return vt

            return get

        return factory, [store_name]


class _WindowedFront:
    """What every windowed view shares: the grouped stream, and how an aggregation is added."""

    def __init__(self, grouped: KGroupedStream) -> None:
        self.grouped = grouped
        self.stream = grouped.stream
        self.graph = grouped.stream.graph

    def _add(
        self,
        operator: str,
        prefix: str,
        store: str | None,
        name: str | None,
        value_serde: Serde | None,
        make_store: Callable[[str, Serde | None], StoreBuilder],
        make: Callable[[TableSupplierFlags], Any],
        key_serde: Serde,
    ) -> WindowedKTable:
        grouped, graph = self.grouped, self.graph
        store_name = graph.aggregate_store_name(operator, store, name, prefix)
        func = graph.name_or_new(name, prefix)
        parent = self.stream.name
        topics = self.stream.source_topics
        if grouped.repartition_required:
            parent, topic = repartition_through(
                self.stream, grouped.name or store_name, grouped.key_serde, grouped.value_serde,
                None,
            )  # fmt: skip
            topics = frozenset([topic])
        flags = TableSupplierFlags(store_name)
        graph.add_processor(func, lambda: make(flags), parent)
        graph.add_store(make_store(store_name, value_serde), func)
        return WindowedKTable(
            self.stream.builder, func, key_serde, value_serde, topics, flags, kind="aggregate"
        )


class TimeWindowedKStream(_WindowedFront):
    """`grouped.windowed_by(TimeWindows...)`: count/reduce/aggregate per key and time window."""

    def __init__(self, grouped: KGroupedStream, windows: TimeWindows) -> None:
        super().__init__(grouped)
        self.windows = windows

    def _store(self, name: str, value_serde: Serde | None) -> StoreBuilder:
        from kstreamy.state.stores import Stores

        w = self.windows
        builder: StoreBuilder = Stores.window_store(
            name, w.size_ms + w.grace_ms, w.size_ms, key_serde=self.grouped.key_serde,
            value_serde=value_serde, timestamped=True,
        ).with_caching_enabled()  # fmt: skip
        return builder

    def _aggregate(
        self,
        operator: str,
        prefix: str,
        store: str | None,
        name: str | None,
        value_serde: Serde | None,
        make: Callable[[TableSupplierFlags], Any],
    ) -> KTable:
        key_serde = TimeWindowed(self.grouped.key_serde, self.windows.size_ms)
        table = self._add(operator, prefix, store, name, value_serde, self._store, make, key_serde)
        table.window_grace_ms = self.windows.grace_ms
        table.window_size_ms = self.windows.size_ms
        return table

    def count(self, store: str | None = None, *, name: str | None = None) -> KTable:
        from kstreamy.processors.windowed.time_window_aggregate import TimeWindowAggregate

        w = self.windows
        return self._aggregate(
            "count", "KSTREAM-AGGREGATE-", store, name, _long(),
            lambda f: TimeWindowAggregate(f, w, _zero, _plus_one),
        )  # fmt: skip

    def reduce(
        self,
        reducer: Callable[[Any, Any], Any],
        store: str | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
    ) -> KTable:
        from kstreamy.processors.windowed.time_window_aggregate import TimeWindowAggregate

        _check_callable(reducer, "reducer")
        w = self.windows
        return self._aggregate(
            "reduce", "KSTREAM-REDUCE-", store, name, value_serde or self.grouped.value_serde,
            lambda f: TimeWindowAggregate(f, w, None, None, reducer),
        )  # fmt: skip

    def aggregate(
        self,
        initializer: Callable[[], Any],
        aggregator: Callable[[Any, Any, Any], Any],
        store: str | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
    ) -> KTable:
        from kstreamy.processors.windowed.time_window_aggregate import TimeWindowAggregate

        _check_callable(initializer, "initializer")
        _check_callable(aggregator, "aggregator")
        w = self.windows
        return self._aggregate(
            "aggregate", "KSTREAM-AGGREGATE-", store, name, value_serde,
            lambda f: TimeWindowAggregate(f, w, initializer, aggregator),
        )  # fmt: skip


def _zero() -> int:
    return 0


def _plus_one(key: Any, value: Any, agg: int) -> int:
    return agg + 1


def windowed_by(
    grouped: KGroupedStream, windows: TimeWindows | SlidingWindows | SessionWindows
) -> TimeWindowedKStream | SlidingWindowedKStream | SessionWindowedKStream:
    """`KGroupedStream.windowed_by(windows)`: the windowed view matching the window type."""
    if not isinstance(grouped, KGroupedStream):
        raise TypeError(f"windowed_by() needs a KGroupedStream, got {grouped!r}")
    if isinstance(windows, TimeWindows):
        return TimeWindowedKStream(grouped, windows)
    if isinstance(windows, SlidingWindows):
        return SlidingWindowedKStream(grouped, windows)
    if isinstance(windows, SessionWindows):
        return SessionWindowedKStream(grouped, windows)
    raise TypeError(
        "windowed_by() takes TimeWindows, SlidingWindows or SessionWindows, "
        f"got {type(windows).__name__}"
    )


class SessionWindowedKStream(_WindowedFront):
    """`grouped.windowed_by(SessionWindows...)`: count/reduce/aggregate per key and session."""

    def __init__(self, grouped: KGroupedStream, windows: SessionWindows) -> None:
        super().__init__(grouped)
        self.windows = windows

    def _store(self, name: str, value_serde: Serde | None) -> StoreBuilder:
        from kstreamy.state.stores import Stores

        w = self.windows
        builder: StoreBuilder = Stores.session_store(
            name, w.inactivity_gap_ms + w.grace_ms, key_serde=self.grouped.key_serde,
            value_serde=value_serde,
        ).with_caching_enabled()  # fmt: skip
        return builder

    def _aggregate(
        self,
        operator: str,
        prefix: str,
        store: str | None,
        name: str | None,
        value_serde: Serde | None,
        initializer: Callable[[], Any],
        aggregator: Callable[[Any, Any, Any], Any],
        merger: Callable[[Any, Any, Any], Any],
    ) -> KTable:
        from kstreamy.processors.windowed.session_window_aggregate import SessionWindowAggregate

        w = self.windows
        table = self._add(
            operator, prefix, store, name, value_serde, self._store,
            lambda f: SessionWindowAggregate(f, w, initializer, aggregator, merger),
            SessionWindowed(self.grouped.key_serde),
        )  # fmt: skip
        # Kafka: a session closes `gap + grace` after its end (GraphGraceSearchUtil)
        table.window_grace_ms = w.inactivity_gap_ms + w.grace_ms
        table.window_size_ms = w.inactivity_gap_ms
        table.session = True
        return table

    def count(self, store: str | None = None, *, name: str | None = None) -> KTable:
        return self._aggregate(
            "count", "KSTREAM-AGGREGATE-", store, name, _long(), _zero, _plus_one, _sum_merger
        )

    def reduce(
        self,
        reducer: Callable[[Any, Any], Any],
        store: str | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
    ) -> KTable:
        _check_callable(reducer, "reducer")

        def aggregator(key: Any, value: Any, agg: Any) -> Any:
            return value if agg is None else reducer(agg, value)

        def merger(key: Any, agg: Any, other: Any) -> Any:
            return aggregator(key, other, agg)

        return self._aggregate(
            "reduce", "KSTREAM-REDUCE-", store, name, value_serde or self.grouped.value_serde,
            _none, aggregator, merger,
        )  # fmt: skip

    def aggregate(
        self,
        initializer: Callable[[], Any],
        aggregator: Callable[[Any, Any, Any], Any],
        merger: Callable[[Any, Any, Any], Any],
        store: str | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
    ) -> KTable:
        _check_callable(initializer, "initializer")
        _check_callable(aggregator, "aggregator")
        _check_callable(merger, "session merger")
        return self._aggregate(
            "aggregate", "KSTREAM-AGGREGATE-", store, name, value_serde, initializer, aggregator,
            merger,
        )  # fmt: skip


def _none() -> Any:
    return None


def _sum_merger(key: Any, a: int, b: int) -> int:
    return a + b


class SlidingWindowedKStream(_WindowedFront):
    """`grouped.windowed_by(SlidingWindows...)`: count/reduce/aggregate per key and sliding
    window `[start, start + time_difference]` (both ends inclusive)."""

    def __init__(self, grouped: KGroupedStream, windows: SlidingWindows) -> None:
        super().__init__(grouped)
        self.windows = windows

    def _store(self, name: str, value_serde: Serde | None) -> StoreBuilder:
        from kstreamy.state.stores import Stores

        w = self.windows
        builder: StoreBuilder = Stores.window_store(
            name, w.default_retention_ms, w.time_difference_ms,
            key_serde=self.grouped.key_serde, value_serde=value_serde, timestamped=True,
        ).with_caching_enabled()  # fmt: skip
        return builder

    def _aggregate(
        self,
        operator: str,
        prefix: str,
        store: str | None,
        name: str | None,
        value_serde: Serde | None,
        initializer: Callable[[], Any],
        aggregator: Callable[[Any, Any, Any], Any],
    ) -> KTable:
        from kstreamy.processors.windowed.sliding_window_aggregate import SlidingWindowAggregate

        w = self.windows
        table = self._add(
            operator, prefix, store, name, value_serde, self._store,
            lambda f: SlidingWindowAggregate(f, w, initializer, aggregator),
            TimeWindowed(self.grouped.key_serde, w.time_difference_ms),
        )  # fmt: skip
        table.window_grace_ms = w.grace_ms
        table.window_size_ms = w.time_difference_ms
        return table

    def count(self, store: str | None = None, *, name: str | None = None) -> KTable:
        return self._aggregate("count", "KSTREAM-AGGREGATE-", store, name, _long(), _zero,
                               _plus_one)  # fmt: skip

    def reduce(
        self,
        reducer: Callable[[Any, Any], Any],
        store: str | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
    ) -> KTable:
        _check_callable(reducer, "reducer")

        def aggregator(key: Any, value: Any, agg: Any) -> Any:
            return value if agg is None else reducer(agg, value)

        return self._aggregate(
            "reduce", "KSTREAM-REDUCE-", store, name, value_serde or self.grouped.value_serde,
            _none, aggregator,
        )  # fmt: skip

    def aggregate(
        self,
        initializer: Callable[[], Any],
        aggregator: Callable[[Any, Any, Any], Any],
        store: str | None = None,
        value_serde: Serde | None = None,
        *,
        name: str | None = None,
    ) -> KTable:
        _check_callable(initializer, "initializer")
        _check_callable(aggregator, "aggregator")
        return self._aggregate(
            "aggregate", "KSTREAM-AGGREGATE-", store, name, value_serde, initializer, aggregator
        )


class SuppressedKTable(KTable):
    """The table after `suppress`: its buffer holds the prior values, so it can always send them."""

    buffer_store: str = ""

    def enable_send_old_values(self, force_materialization: bool = True) -> bool:
        self.parents[0].enable_send_old_values(force_materialization)
        self.flags.send_old_values = True
        return True

    def value_getter(self) -> tuple[Any, list[str]]:
        """Kafka's suppress view: a key held in the buffer reads as its prior value (what
        downstream has seen), other keys as the parent table's value."""
        from kstreamy.processors.windowed.suppress import buffered_getter

        parent, stores = self.parents[0].value_getter()
        store, ks, vs = self.buffer_store, self.key_serde, self.value_serde

        def factory(ctx: ProcessorContext) -> ValueGetter:
            return buffered_getter(ctx, store, ks, vs, parent(ctx))

        return factory, [*stores, store]


def _window_grace(table: KTable) -> int | None:
    """The grace of the windowed aggregation this table derives from (Kafka's
    GraphGraceSearchUtil); the smallest one when it derives from several, None if none."""
    if isinstance(table, WindowedKTable):
        return table.window_grace_ms
    graces = [g for g in (_window_grace(p) for p in table.parents) if g is not None]
    return min(graces) if graces else None


def suppress(table: KTable, suppressed: Suppressed, name: str | None = None) -> KTable:
    """`KTable.suppress(suppressed, name=None)`: hold back updates as `suppressed` says."""
    from kstreamy.errors import TopologyError
    from kstreamy.processors.windowed.suppress import KTableSuppress
    from kstreamy.suppressed import Suppressed

    if not isinstance(suppressed, Suppressed):
        raise TypeError(f"suppress() needs a Suppressed, got {suppressed!r}")
    graph = table.graph
    # unlike most operators, a named suppress takes no generated-name index (Kafka's suppress)
    node = name if name else graph.new_name("KTABLE-SUPPRESS-")
    grace = 0
    if suppressed.final_results:
        found = _window_grace(table)
        if found is None:
            raise TopologyError(
                f"suppress(until_window_closes()) at {node}: window close time is only defined "
                "for windowed computations; use it on a table from windowed_by(...), or use "
                "Suppressed.until_time_limit(...)"
            )
        grace = found
    # the buffer emits Change(new, value before the first held update): ask for old values
    table.enable_send_old_values()
    flags = TableSupplierFlags(None)
    ks, vs = table.key_serde, table.value_serde
    # the buffer is changelogged (Kafka: KTABLE-SUPPRESS-STATE-STORE-n / <name>-store)
    store = f"{name}-store" if name else graph.new_store_name("KTABLE-SUPPRESS-")
    graph.add_processor(
        node, lambda: KTableSuppress(flags, suppressed, grace, ks, vs, store), table.name
    )
    graph.add_store(_suppress_store(store), node)
    result = SuppressedKTable(
        table.builder, node, ks, vs, table.source_topics, flags, kind="suppress",
        parents=(table,), derive=_same_value,
    )  # fmt: skip
    result.buffer_store = store
    return result


def _suppress_store(name: str) -> StoreBuilder:
    from kstreamy.serdes import Bytes
    from kstreamy.state.stores import Stores

    builder: StoreBuilder = Stores.in_memory_key_value(name, Bytes(), Bytes(), caching=False)
    return builder


def _same_value(parent: ValueGetter) -> ValueGetter:
    return parent


JOIN_KINDS = ("inner", "left", "outer")


def _join_input(stream: KStream, repartition_name: str, keep_null_keys: bool) -> KStream:
    """The stream itself, or (Kafka's repartitionForJoin) a repartitioned copy of it; an outer
    side keeps null-key records (KIP-962), so its repartition does not filter them."""
    if not stream.repartition_required:
        return stream
    from kstreamy.dsl import KStream

    source, topic = repartition_through(
        stream, repartition_name, stream.key_serde, stream.value_serde, None,
        null_key_filter=not keep_null_keys,
    )  # fmt: skip
    return KStream(
        stream.builder, source, stream.key_serde, stream.value_serde, False, frozenset([topic])
    )


def stream_stream_join(
    left: KStream,
    right: KStream,
    joiner: Callable[[Any, Any], Any],
    windows: JoinWindows | None = None,
    kind: str = "inner",
    name: str | None = None,
) -> KStream:
    """`KStream.join/left_join/outer_join(other, joiner, windows=JoinWindows...)`."""
    from kstreamy.dsl import KStream
    from kstreamy.processors.windowed.stream_stream_join import (
        JoinWindowStore,
        StreamStreamJoin,
        TimeTrackers,
    )
    from kstreamy.state.windowed_stores import OuterJoinStoreBuilder, WindowStoreBuilder
    from kstreamy.windows import JoinWindows

    if kind not in JOIN_KINDS:
        raise ValueError(f"stream-stream join kind must be one of {JOIN_KINDS}, got {kind!r}")
    if not isinstance(right, KStream) or right.builder is not left.builder:
        raise TypeError("stream-stream joins need a KStream of the same StreamsBuilder")
    if not isinstance(windows, JoinWindows):
        raise TypeError(f"stream-stream joins need windows=JoinWindows..., got {windows!r}")
    _check_callable(joiner, "joiner")
    left_outer, right_outer = kind in ("left", "outer"), kind == "outer"
    graph = left.graph
    this_in = _join_input(left, f"{name}-left" if name else left.name, left_outer)
    if right is left and left.repartition_required:
        other_in = this_in  # a self-join repartitions once
    else:
        other_in = _join_input(right, f"{name}-right" if name else right.name, right_outer)
    this_windowed = graph.name_or_new(f"{name}-this-windowed" if name else None,
                                      "KSTREAM-WINDOWED-")  # fmt: skip
    other_windowed = graph.name_or_new(f"{name}-other-windowed" if name else None,
                                       "KSTREAM-WINDOWED-")  # fmt: skip
    this_gen = graph.new_name("KSTREAM-OUTERTHIS-" if right_outer else "KSTREAM-JOINTHIS-")
    other_gen = graph.new_name("KSTREAM-OUTEROTHER-" if left_outer else "KSTREAM-JOINOTHER-")
    this_suffix = "-outer-this-join" if right_outer else "-this-join"
    other_suffix = "-outer-other-join" if left_outer else "-other-join"
    this_join = f"{name}{this_suffix}" if name else this_gen
    other_join = f"{name}{other_suffix}" if name else other_gen
    merge = graph.name_or_new(f"{name}-merge" if name else None, "KSTREAM-MERGE-")
    this_store = f"{name}{this_suffix}-store" if name else f"{this_gen}-store"
    other_store = f"{name}{other_suffix}-store" if name else f"{other_gen}-store"
    outer_store: str | None = None
    if left_outer and windows.spurious_result_fix:
        # Kafka: generated names are KSTREAM-OUTERSHARED-<n>-store for left joins too
        outer_store = (
            f"{name}-{'outer' if right_outer else 'left'}-shared-join-store"
            if name
            else this_gen.replace("OUTERTHIS" if right_outer else "JOINTHIS", "OUTERSHARED")
            + "-store"
        )
    if name is None:
        graph.warn_generated("stream-stream join", this_store)
    size, retention = windows.size_ms, windows.size_ms + windows.grace_ms
    ks = left.key_serde or right.key_serde
    trackers = TimeTrackers()
    graph.add_processor(this_windowed, lambda: JoinWindowStore(this_store), this_in.name)
    graph.add_processor(other_windowed, lambda: JoinWindowStore(other_store), other_in.name)
    graph.add_processor(
        this_join,
        lambda: StreamStreamJoin(
            True, other_store, windows, joiner, left_outer, outer_store, trackers
        ),
        this_windowed,
    )
    graph.add_processor(
        other_join,
        lambda: StreamStreamJoin(
            False, this_store, windows, joiner, right_outer, outer_store, trackers
        ),
        other_windowed,
    )
    graph.add_processor(merge, _pass_through, this_join, other_join)
    graph.add_store(
        WindowStoreBuilder(this_store, retention, size, True, ks, left.value_serde),
        this_windowed, other_join,
    )  # fmt: skip
    graph.add_store(
        WindowStoreBuilder(other_store, retention, size, True, ks, right.value_serde),
        other_windowed, this_join,
    )  # fmt: skip
    if outer_store is not None:
        graph.add_store(
            OuterJoinStoreBuilder(outer_store, ks, left.value_serde, right.value_serde),
            this_join, other_join,
        )  # fmt: skip
    topics = this_in.source_topics | other_in.source_topics
    graph.copartition_groups.append(set(topics))
    return KStream(left.builder, merge, ks, None, False, topics)


def _pass_through() -> Any:
    from kstreamy.processors.stateless import PassThrough

    return PassThrough()
