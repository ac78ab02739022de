"""Serdes: turning keys and values into bytes and back (byte-compatible with Kafka's Java serdes)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Serde(Protocol):
    """Serializes and deserializes one type; `None` is a tombstone both ways."""

    def serialize(self, topic: str, obj: Any) -> bytes | None: ...

    def deserialize(self, topic: str, data: bytes | None) -> Any: ...
