"""Serdes used when neither a node nor the config names one."""

from __future__ import annotations

from typing import Any


class _Passthrough:
    """Used when neither the node nor the config names a serde: bytes in, bytes out."""

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None or isinstance(obj, bytes):
            return obj
        if isinstance(obj, str):
            return obj.encode()
        raise TypeError(
            f"no serde configured for topic {topic} and value {type(obj).__name__} is not bytes; "
            "pass key_serde=/value_serde= or set default.key.serde / default.value.serde"
        )

    def deserialize(self, topic: str, data: bytes | None) -> Any:
        return data


PASSTHROUGH = _Passthrough()


class PythonObjectSerde:
    """Type-preserving msgpack for internal topics and DSL stores whose serde is unknown (neither
    given nor configured as default.key.serde / default.value.serde); Kafka would fail there."""

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        import msgpack

        if obj is None:
            return None
        data: bytes = msgpack.packb(obj, use_bin_type=True)
        return data

    def deserialize(self, topic: str, data: bytes | None) -> Any:
        import msgpack

        if data is None:
            return None
        return msgpack.unpackb(data, raw=False, strict_map_key=False)


PYTHON_OBJECTS = PythonObjectSerde()
