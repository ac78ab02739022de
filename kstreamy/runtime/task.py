"""The execution core: a Task is one sub-topology on one partition.

Both the TopologyTestDriver and the Kafka runtime run topologies through this class; it does no
I/O of its own. API for a runtime:

    config = task_config(streams_config)   # parsed StreamsConfig; user's default serdes only
    task = Task(TaskId(sub, partition), topology, subtopology, collector, config,
                application_id="app", global_stores={...}, thread_cache=cache,
                state_dir=None, clock=lambda: now_ms)
    task.initialize()            # build + init stores (registering them), then init processors
                                 # (= initialize_stores(); restore; initialize_processors())
    task.process(topic, partition, offset, timestamp, raw_key, raw_value, headers)
                                 # one input record: deserialize at the source node (handler on
                                 # failure), advance stream time, forward depth-first
    task.punctuate_stream_time() # fire due STREAM_TIME punctuators (call after process)
    task.punctuate_wall_clock(now_ms)  # fire due WALL_CLOCK_TIME punctuators
    task.commit()                # 1. flush stores/caches (emits downstream + changelogs)
                                 # 2. flush the record collector
                                 # (3. committing input offsets / transactions: the caller's job)
    task.commit_needed           # True after processing or punctuation since the last commit
    task.commit_requested        # a processor called context.commit()
    task.flush_stores()          # step 1 alone (e.g. the global task after a batch)
    task.stores                  # name -> outermost store (for interactive queries)
    task.restore_callbacks       # name -> RestoreCallback registered by each store
    task.close()                 # close processors, then stores

Exception handlers are resolved at `initialize()` from the config:
`deserialization.exception.handler` (else `default.deserialization.exception.handler`),
`processing.exception.handler`, `production.exception.handler` (else
`default.production.exception.handler`), with the dead-letter topic
`errors.dead.letter.queue.topic.name`; they are called through `errors.invoke_handler`, and
`ErrorHandlerContext.source_raw_key/value` are the bytes of the input record being processed
(None for records forwarded from a cache on commit, and in punctuations).
Output records (sinks, repartition topics, changelogs, dead letters) go to `collector.send(...)`
already serialized; internal topics carry their real name `<application.id>-<name>`.
A global task (`is_global=True`) runs the global sub-topology: its stores skip logging.
The Topology gives what a runtime needs around tasks: `task_subtopologies()`,
`global_subtopology()`, `repartition_topics`, `changelog_stores()`, `decorate(topic, app_id)` and
`validate_copartitioning(partition_counts, application_id)`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kstreamy._internal.nodes import NodeContext, PunctuationSchedule, SinkProcessor, SourceBinding
from kstreamy._internal.serde_fallback import PASSTHROUGH, PYTHON_OBJECTS, PythonObjectSerde
from kstreamy.errors import DeserializationError, ProcessingError, StreamsError, invoke_handler
from kstreamy.processor import (
    Headers,
    Processor,
    Record,
    TaskId,
)
from kstreamy.runtime.record_collector import RecordCollector
from kstreamy.serdes import Serde
from kstreamy.state.api import RecordContext, RecordFields, RestoreCallback, StateStore
from kstreamy.timestamps import negative_timestamp_error
from kstreamy.topology import ProcessorNode, SinkNode, SourceNode, SubTopology, Topology

log = logging.getLogger(__name__)

__all__ = ["PASSTHROUGH", "PYTHON_OBJECTS", "PythonObjectSerde", "Task", "task_config"]


def task_config(config: Any) -> dict[str, Any]:
    """The config a Task expects: a StreamsConfig (or mapping) parsed and defaulted, except that
    `default.key.serde` / `default.value.serde` stay None unless the user set them, so that
    internal topics and DSL stores without a serde keep Python types (type-preserving msgpack)
    instead of StreamsConfig's Bytes default."""
    from kstreamy.config import StreamsConfig

    streams_config = config if isinstance(config, StreamsConfig) else StreamsConfig(config)
    originals = streams_config.originals
    result = streams_config.as_dict()
    for key in ("default.key.serde", "default.value.serde"):
        result[key] = originals.get(key)
    return result


class Task:
    """One sub-topology on one partition; see the module docstring for the API."""

    # Slots: CPython 3.11 specializes attribute reads and method calls only for instances of
    # at most 30 dict attributes (measured ~40% slower past that); `__dict__` keeps others
    # (and test doubles) possible.
    __slots__ = (
        "__dict__",
        "_changelogs",
        "_collector_flushes",
        "_default_extractor",
        "_deserialization_handler",
        "_initialized",
        "_processing_handler",
        "_production_handler",
        "_state_dir",
        "_thread_cache",
        "application_id",
        "clock",
        "collector",
        "commit_needed",
        "commit_requested",
        "config",
        "contexts",
        "current_offset",
        "current_partition",
        "current_record",
        "current_topic",
        "global_stores",
        "is_global",
        "processors",
        "raw_key",
        "raw_value",
        "restore_callbacks",
        "skipped_records",
        "sources",
        "stores",
        "stream_schedules",
        "stream_time",
        "subtopology",
        "task_id",
        "topology",
        "wall_schedules",
    )

    def __init__(
        self,
        task_id: TaskId,
        topology: Topology,
        subtopology: SubTopology,
        collector: RecordCollector,
        config: Mapping[str, Any],
        *,
        application_id: str,
        global_stores: Mapping[str, StateStore] | None = None,
        thread_cache: Any = None,
        state_dir: Path | None = None,
        clock: Callable[[], int] | None = None,
        is_global: bool = False,
    ) -> None:
        import time

        self.task_id = task_id
        self.topology = topology
        self.subtopology = subtopology
        self.collector = collector
        self.config = config
        self.application_id = application_id
        self.global_stores: Mapping[str, StateStore] = global_stores or {}
        self._thread_cache = thread_cache
        self._state_dir = state_dir
        self.clock: Callable[[], int] = clock or (lambda: int(time.time() * 1000))
        self.is_global = is_global
        self.stream_time = -1
        self.skipped_records = 0  # dropped for a negative timestamp (log_and_skip extractors)
        self._default_extractor: Any = None
        self.current_record: Record[Any, Any] | None = None
        self.current_topic: str | None = None
        self.current_partition = -1
        self.current_offset = -1
        self.raw_key: bytes | None = None
        self.raw_value: bytes | None = None
        self.stream_schedules: list[PunctuationSchedule] = []
        self.wall_schedules: list[PunctuationSchedule] = []
        self.commit_requested = False
        self.commit_needed = False
        self.stores: dict[str, StateStore] = {}
        self.restore_callbacks: dict[str, RestoreCallback] = {}
        self.contexts: dict[str, NodeContext] = {}
        self.processors: dict[str, Processor[Any, Any, Any, Any]] = {}
        self.sources: dict[str, SourceBinding] = {}
        self._changelogs: dict[str, str] = {}
        # the in-memory collectors do not override flush(): skip the call per commit
        self._collector_flushes = type(collector).flush is not RecordCollector.flush
        self._processing_handler: Any = None
        self._deserialization_handler: Any = None
        self._production_handler: Any = None
        self._initialized = False

    # -- StoreContext ----------------------------------------------------------------------------
    @property
    def app_config(self) -> Mapping[str, Any]:
        return self.config

    @property
    def state_dir(self) -> Path | None:
        return self._state_dir

    @property
    def changelog_partition(self) -> int:
        return self.task_id.partition

    def register(self, store: StateStore, restore: RestoreCallback) -> None:
        self.stores[store.name] = store
        self.restore_callbacks[store.name] = restore

    def changelog_topic(self, store_name: str) -> str:
        topic = self._changelogs.get(store_name)
        if topic is None:
            topic = self._changelogs[store_name] = f"{self.application_id}-{store_name}-changelog"
        return topic

    def log_change(
        self,
        store_name: str,
        key: bytes,
        value: bytes | None,
        timestamp: int,
        headers: Headers = (),
    ) -> None:
        topic = self._changelogs.get(store_name) or self.changelog_topic(store_name)
        self.collector.send(topic, key, value, timestamp, headers, self.task_id.partition)

    def record_context(self) -> RecordContext | None:
        rec = self.current_record
        if rec is None:
            return None
        return tuple.__new__(  # RecordContext without its Python-level __new__ (hot path)
            RecordContext,
            (rec.timestamp, rec.headers, self.current_topic, self.current_partition,
             self.current_offset),
        )  # fmt: skip

    def record_fields(self) -> RecordFields | None:
        """`record_context` as a plain tuple (what the cache keeps per write: no NamedTuple
        built and freed per record)."""
        rec = self.current_record
        if rec is None:
            return None
        return (rec.timestamp, rec.headers, self.current_topic, self.current_partition,
                self.current_offset)  # fmt: skip

    def thread_cache(self) -> Any:
        return self._thread_cache

    # -- lifecycle ---------------------------------------------------------------------------------
    def _default_serde(self, key: bool) -> Serde | None:
        default = self.config.get("default.key.serde" if key else "default.value.serde")
        if isinstance(default, type):
            default = default()
        return default

    def _serde(self, serde: Serde | None, key: bool, internal: bool = False) -> Serde:
        """The node's serde, else the configured default, else bytes pass-through (user topics)
        or type-preserving msgpack (internal topics)."""
        with_inner: Any = getattr(serde, "with_inner", None)
        if with_inner is not None and getattr(serde, "inner", False) is None:
            rewrapped: Serde = with_inner(self._serde(None, key, internal))
            return rewrapped
        if serde is not None:
            return serde
        default = self._default_serde(key)
        if default is not None:
            return default
        return PYTHON_OBJECTS if internal else PASSTHROUGH

    def _build_store(self, name: str) -> StateStore:
        builder: Any = self.topology.store_builders[name]
        if name in self.topology.auto_serde_stores and hasattr(builder, "with_serdes"):
            ks = builder.key_serde or self._serde(None, True, True)
            vs = builder.value_serde or self._serde(None, False, True)
            builder = builder.with_serdes(ks, vs)
        if self.is_global:
            builder = builder.with_logging_disabled()
        store: StateStore = builder.build()
        return store

    def _resolve_handlers(self) -> None:
        """The three exception handlers from the config, with the dead-letter topic
        (`errors.dead.letter.queue.topic.name`); the deserialization handler under Kafka 4's
        `deserialization.exception.handler`, else the older `default.` name (likewise for
        production)."""
        from kstreamy.errors import resolve_handler
        from kstreamy.timestamps import resolve_timestamp_extractor

        cfg = self.config
        self._default_extractor = resolve_timestamp_extractor(
            cfg.get("default.timestamp.extractor")
        )

        def setting(name: str, legacy: str | None = None) -> Any:
            value = cfg.get(name)
            return cfg.get(legacy) if value is None and legacy is not None else value

        self._deserialization_handler = resolve_handler(
            setting("deserialization.exception.handler",
                    "default.deserialization.exception.handler"),
            "deserialization", config=cfg,
        )  # fmt: skip
        self._processing_handler = resolve_handler(
            setting("processing.exception.handler"), "processing", config=cfg
        )
        self._production_handler = resolve_handler(
            setting("production.exception.handler", "default.production.exception.handler"),
            "production", config=cfg,
        )  # fmt: skip

    def initialize(self) -> None:
        """Open the stores, then create and init every processor (for a task with nothing to
        restore; the Kafka runtime restores between the two steps, as Kafka Streams does)."""
        self.initialize_stores()
        self.initialize_processors()

    def initialize_stores(self) -> None:
        """Build and open the stores (each registers its restore callback)."""
        self._resolve_handlers()
        for store_name in self.subtopology.stores:
            store = self._build_store(store_name)
            store.init(self, store)
            if store_name not in self.stores:
                self.stores[store_name] = store

    def initialize_processors(self) -> None:
        """Create and init every processor, parents first; their `init` sees restored state."""
        topo = self.topology
        for name in self.subtopology.nodes:
            node = topo.nodes[name]
            stores = node.stores if isinstance(node, ProcessorNode) else []
            ctx = NodeContext(self, name, stores)
            self.contexts[name] = ctx
            proc: Processor[Any, Any, Any, Any] | None = None
            if isinstance(node, SourceNode):
                internal = node.topics[0] in topo.internal_topics
                src = SourceBinding(
                    ctx, node, self._serde(node.key_serde, True, internal),
                    self._serde(node.value_serde, False, internal),
                )  # fmt: skip
                for topic in node.topics:
                    self.sources[topo.decorate(topic, self.application_id)] = src
            elif isinstance(node, SinkNode):
                internal = isinstance(node.topic, str) and node.topic in topo.internal_topics
                proc = SinkProcessor(
                    self, node, self._serde(node.key_serde, True, internal),
                    self._serde(node.value_serde, False, internal),
                )  # fmt: skip
            else:
                proc = node.factory()
            if proc is not None:
                self.processors[name] = proc
            for parent in node.parents:
                if proc is not None:
                    self.contexts[parent].children.append((name, proc.process))
        # The current record is only needed by stores (their record context); a node whose
        # children own no store forwards without tracking it (the hot path of stateless chains)
        with_stores = {
            n for n in self.subtopology.nodes
            if isinstance(topo.nodes[n], ProcessorNode) and topo.nodes[n].stores  # type: ignore[union-attr]
        }  # fmt: skip
        for ctx in self.contexts.values():
            if not any(child in with_stores for child, _ in ctx.children):
                ctx.forward = ctx.forward_untracked  # type: ignore[method-assign]
        for name, proc in self.processors.items():
            try:
                proc.init(self.contexts[name])
            except StreamsError:
                raise
            except Exception as exc:
                raise StreamsError(f"Failed to initialize processor {name}: {exc}") from exc
        self._initialized = True

    def close(self) -> None:
        for proc in self.processors.values():
            proc.close()
        for store in self.stores.values():
            if store.is_open:
                store.close()

    # -- processing -------------------------------------------------------------------------------
    def process(
        self,
        topic: str,
        partition: int,
        offset: int,
        timestamp: int,
        raw_key: bytes | None,
        raw_value: bytes | None,
        headers: Headers = (),
    ) -> None:
        """Process one input record completely (depth-first through the sub-topology)."""
        src = self.sources.get(topic)
        if src is None:
            raise StreamsError(f"Task {self.task_id} has no source for topic {topic}")
        self.current_topic = topic
        self.current_partition = partition
        self.current_offset = offset
        self.raw_key = raw_key
        self.raw_value = raw_value
        try:
            key = src.kd(topic, raw_key)
            value = src.vd(topic, raw_value)
        except Exception as exc:
            self._handle_deserialization_error(
                topic, partition, offset, timestamp, raw_key, raw_value, headers, src, exc
            )
            return
        extractor = src.extractor or self._default_extractor
        if extractor is not None:
            timestamp = extractor(key, value, timestamp, self.stream_time)
        if timestamp < 0:
            if extractor is None:  # Kafka's default, FailOnInvalidTimestamp
                raise negative_timestamp_error(topic, partition, offset, timestamp)
            log.warning(
                "Skipping record with negative timestamp %d from %s-%d offset %d",
                timestamp, topic, partition, offset,
            )  # fmt: skip
            self.skipped_records += 1
            self.raw_key = self.raw_value = None
            return
        if timestamp > self.stream_time:
            self.stream_time = timestamp
        self.commit_needed = True
        src.ctx.forward(Record(key, value, timestamp, headers))
        # records forwarded later (cache flushes on commit) have no source bytes, as in Kafka
        self.current_topic = self.raw_key = self.raw_value = None

    def _handle_deserialization_error(
        self,
        topic: str,
        partition: int,
        offset: int,
        timestamp: int,
        raw_key: bytes | None,
        raw_value: bytes | None,
        headers: Headers,
        src: SourceBinding,
        exc: Exception,
    ) -> None:
        if isinstance(exc, DeserializationError):
            error = exc.with_location(partition, offset, topic)
        else:
            error = DeserializationError(
                topic, partition, offset, type(src.value_serde).__name__, exc
            )
        error.__cause__ = exc
        ctx = self._error_context(src.name, topic, partition, offset, headers, timestamp)
        response = invoke_handler(self._deserialization_handler, ctx, raw_key, raw_value, error)
        self._apply_response(response, error)
        self.current_topic = self.raw_key = self.raw_value = None

    def handle_processing_error(self, node: str, record: Record[Any, Any], exc: Exception) -> None:
        """Wrap `exc` (raised in `node`) with its location and let processing.exception.handler
        decide: raise (FAIL) or return (CONTINUE: the record is dropped at this node)."""
        topic, partition, offset = self.current_topic, self.current_partition, self.current_offset
        error = ProcessingError(node, topic, partition, offset, record.key, exc)
        error.__cause__ = exc
        if topic is None:
            partition = offset = -1
        ctx = self._error_context(node, topic, partition, offset, record.headers, record.timestamp)
        self._apply_response(invoke_handler(self._processing_handler, ctx, record, error), error)

    def handle_production_error(
        self, node: str, topic: str, record: Record[Any, Any], exc: Exception
    ) -> None:
        """A sink could not serialize: production.exception.handler decides (default: fail)."""
        from kstreamy.errors import SerializationError

        if isinstance(exc, SerializationError):
            error = SerializationError(topic, exc.serde, exc.cause, node=node)
        else:
            error = SerializationError(topic, None, exc, node=node)
        error.__cause__ = exc
        ctx = self._error_context(
            node, self.current_topic, self.current_partition, self.current_offset,
            record.headers, record.timestamp,
        )  # fmt: skip
        response = invoke_handler(
            self._production_handler, ctx, topic, record.key, record.value, error
        )
        self._apply_response(response, error)

    def _error_context(
        self,
        node: str,
        topic: str | None,
        partition: int,
        offset: int,
        headers: Headers,
        timestamp: int,
    ) -> Any:
        from kstreamy.errors import ErrorHandlerContext

        raw_key, raw_value = (self.raw_key, self.raw_value) if topic is not None else (None, None)
        return ErrorHandlerContext(
            topic=topic,
            partition=partition,
            offset=offset,
            headers=headers,
            processor_node_id=node,
            task_id=self.task_id,
            timestamp=timestamp,
            source_raw_key=raw_key,
            source_raw_value=raw_value,
        )

    def _apply_response(self, response: Any, error: StreamsError) -> None:
        from kstreamy.errors import HandlerResult

        for dlq in response.dead_letter_records:
            ts = dlq.timestamp if dlq.timestamp is not None else max(self.stream_time, 0)
            self.collector.send(dlq.topic, dlq.key, dlq.value, ts, dlq.headers, None)
        if response.result is not HandlerResult.CONTINUE:
            raise error

    # -- punctuation ------------------------------------------------------------------------------
    def _punctuate(self, schedules: list[PunctuationSchedule], now: int) -> bool:
        fired = False
        for sched in list(schedules):
            if sched.cancelled:
                schedules.remove(sched)
                continue
            if sched.next_time > now:
                continue
            fired = True
            self.current_topic = None
            self.current_record = Record(None, None, now)
            try:
                sched.callback(now)
            except StreamsError:
                raise
            except Exception as exc:
                self.handle_processing_error(sched.ctx.name, Record(None, None, now), exc)
            finally:
                self.current_record = None
            nxt = sched.next_time + sched.interval
            if nxt <= now:
                nxt = now - (now - sched.next_time) % sched.interval + sched.interval
            sched.next_time = nxt
        if fired:
            self.commit_needed = True
        return fired

    def punctuate_stream_time(self) -> bool:
        """Fire STREAM_TIME punctuators due at the current stream time; True if any fired."""
        if not self.stream_schedules or self.stream_time < 0:
            return False
        return self._punctuate(self.stream_schedules, self.stream_time)

    def punctuate_wall_clock(self, now_ms: int | None = None) -> bool:
        """Fire WALL_CLOCK_TIME punctuators due at `now_ms` (default: the task's clock)."""
        if not self.wall_schedules:
            return False
        return self._punctuate(self.wall_schedules, self.clock() if now_ms is None else now_ms)

    # -- commit -----------------------------------------------------------------------------------
    def flush_stores(self) -> None:
        if self.stores:
            self.current_topic = None
            for store in self.stores.values():
                store.flush()

    def sync_stores(self) -> None:
        """Make the flushed writes of every persistent store durable: call it before writing a
        checkpoint that names them (the stores sync data at flush, not their last commit)."""
        for store in self.stores.values():
            bytes_store = getattr(store, "bytes_store", None)
            if bytes_store is not None and bytes_store.is_open:
                bytes_store.sync()

    def commit(self) -> None:
        """Commit steps 1-2 (offsets, step 3, are the caller's)."""
        # 1. flush stores and their caches: cached updates are forwarded and logged now
        if self.stores:
            self.current_topic = None
            for store in self.stores.values():
                store.flush()
        # 2. flush the producer so every output and changelog record is acknowledged
        if self._collector_flushes:
            self.collector.flush()
        self.commit_needed = False
        self.commit_requested = False
