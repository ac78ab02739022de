"""Serde helpers for stores: default-serde resolution, bytes pass-through, timestamped values."""

from __future__ import annotations

import struct
from typing import Any

from kstreamy.serdes import Serde
from kstreamy.state.api import ValueAndTimestamp

_LONG = struct.Struct(">q")
_pack_long = _LONG.pack
pack_long = _pack_long  # 8-byte big-endian timestamp (the timestamped value layout)
_unpack_long_from = _LONG.unpack_from
_new_vat = tuple.__new__  # skips NamedTuple's Python-level __new__ on the per-record path


class BytesPassThroughSerde:
    """Keys/values that already are bytes (the fallback when no serde is configured)."""

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None:
            return None
        if isinstance(obj, bytes):
            return obj
        if isinstance(obj, bytearray | memoryview):
            return bytes(obj)
        raise TypeError(
            f"No serde configured for a store of changelog '{topic}': got {type(obj).__name__}, "
            "expected bytes. Pass key_serde=/value_serde= or set default.key.serde / "
            "default.value.serde."
        )

    def deserialize(self, topic: str, data: bytes | None) -> Any:
        return data


BYTES_PASS_THROUGH = BytesPassThroughSerde()


def resolve_serde(explicit: Any, default: Any) -> Serde:
    """The explicit serde, else the app's default (an instance or a class), else pass-through."""
    for candidate in (explicit, default):
        if candidate is None:
            continue
        if isinstance(candidate, type):
            candidate = candidate()
        if isinstance(candidate, Serde):
            return candidate
        raise TypeError(f"expected a Serde instance, got {candidate!r}")
    return BYTES_PASS_THROUGH


class TimestampedSerde:
    """`ValueAndTimestamp` <-> 8-byte big-endian timestamp + value bytes (Kafka's layout)."""

    def __init__(self, value_serde: Serde) -> None:
        self.value_serde = value_serde
        # bound once: two attribute lookups less per store read and write
        self._serialize = value_serde.serialize
        self._deserialize = value_serde.deserialize

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None:
            return None
        value, timestamp = obj
        data = self._serialize(topic, value)
        if data is None:
            return None
        return _pack_long(timestamp) + data

    def deserialize(self, topic: str, data: bytes | None) -> Any:
        if data is None:
            return None
        return _new_vat(
            ValueAndTimestamp, (self._deserialize(topic, data[8:]), _unpack_long_from(data)[0])
        )
