"""A cached table whose only downstream is `to_stream().to(topic)`: its cache flushes straight
to the sink.

A cache flush of an aggregation (or of any cached KTable) normally decodes each entry, wraps it
in a `Change`, forwards it through `KTableToStream`, and the sink encodes key and value again,
with the very serdes the store used. When that chain is all there is downstream, the flushed
bytes are what the sink would write: the key bytes as stored, the value bytes after the store's
8-byte timestamp (Kafka's timestamped layout), and that timestamp as the record's (a delete: no
value, the timestamp of the record that deleted). The same records, in the same order, with
nothing decoded or encoded twice: at a 100 ms commit interval a flush forwards about every
second update of an aggregate, so this is a large share of its per-record cost.
"""

from __future__ import annotations

import struct
from typing import Any

from kstreamy._internal.nodes import SinkProcessor
from kstreamy.processors.table import KTableToStream
from kstreamy.state.api import RecordFields
from kstreamy.state.caching import BytesFlushListener
from kstreamy.state.serde_util import TimestampedSerde
from kstreamy.state.typed import MeteredKeyValueStore

_unpack_long_from = struct.Struct(">q").unpack_from


def table_to_sink_listener(context: Any, store: Any) -> BytesFlushListener | None:
    """The bytes flush listener that sends `store`'s flushed entries straight to the sink, when
    the node of `context` forwards only to a plain `to_stream()` that forwards only to a sink
    encoding like the store; else None (forward as usual)."""
    task = getattr(context, "task", None)
    children = getattr(context, "children", None)
    if task is None or children is None or len(children) != 1:
        return None
    if not isinstance(store, MeteredKeyValueStore) or not store.caching_enabled:
        return None
    value_serde = store.value_serde
    if not isinstance(value_serde, TimestampedSerde) or store.key_serde is None:
        return None
    to_stream_name = children[0][0]
    if type(task.processors.get(to_stream_name)) is not KTableToStream:
        return None
    grandchildren = task.contexts[to_stream_name].children
    if len(grandchildren) != 1:
        return None
    sink = task.processors.get(grandchildren[0][0])
    if type(sink) is not SinkProcessor:
        return None
    send = sink.bytes_sender(store.key_serde, value_serde.value_serde)
    if send is None:
        return None

    def flush_to_sink(key: bytes, new: bytes | None, old: bytes | None, rc: RecordFields) -> None:
        if new is None:
            send(key, None, rc[0], rc[1])
        else:
            send(key, new[8:], _unpack_long_from(new)[0], rc[1])

    return flush_to_sink
