"""Serdes: turning keys and values into bytes and back (byte-compatible with Kafka's Java serdes).

`String`, `Integer`, `Long`, `Double`, `Bytes` and the windowed serdes write exactly the bytes
Kafka's `Serdes.String()`, `Serdes.Integer()`, ... write, so a kstreamy application and a Java
one can share topics. `Json` and `MsgPack` are conveniences for Python values. Every serde maps
`None` to `None` both ways (a tombstone). Serdes are stateless and safe to share between tasks;
users pass instances: `String()`.

Failures raise `SerializationError` / `DeserializationError` naming the serde and the problem;
the task adds the partition and offset.
"""

from __future__ import annotations

import json
import struct
import threading
from typing import Any, Protocol, runtime_checkable

import msgpack

from kstreamy.errors import DeserializationError, SerializationError
from kstreamy.windows import MAX_TIMESTAMP, SessionWindow, TimeWindow, Windowed

__all__ = [
    "Bytes",
    "Double",
    "Integer",
    "Json",
    "Long",
    "MsgPack",
    "Serde",
    "SessionWindowed",
    "String",
    "TimeWindowed",
]


@runtime_checkable
class Serde(Protocol):
    """Serializes and deserializes one type; `None` is a tombstone both ways."""

    def serialize(self, topic: str, obj: Any) -> bytes | None: ...

    def deserialize(self, topic: str, data: bytes | None) -> Any: ...


_INT = struct.Struct(">i")
_LONG = struct.Struct(">q")
_DOUBLE = struct.Struct(">d")
_pack_int = _INT.pack
_unpack_int = _INT.unpack
_pack_long = _LONG.pack
_unpack_long = _LONG.unpack
_unpack_long_from = _LONG.unpack_from
_pack_double = _DOUBLE.pack
_unpack_double = _DOUBLE.unpack


class _Stateless:
    """Serdes without parameters: all instances are equal; printed as `Name()`."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _type_problem(expected: str, obj: Any) -> str:
    return f"expected {expected}, got {type(obj).__name__}"


def _length_problem(serde: str, expected: int, data: Any) -> str:
    # Kafka: "Size of data received by IntegerDeserializer is not 4"
    return f"Size of data received by {serde} is not {expected} (got {len(data)} bytes)"


class String(_Stateless):
    """UTF-8 text, as Kafka's `StringSerializer` (its default encoding)."""

    __slots__ = ()

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None:
            return None
        try:
            return obj.encode("utf-8")  # type: ignore[no-any-return]
        except (AttributeError, TypeError):
            raise SerializationError(topic, "String", _type_problem("str", obj)) from None
        except UnicodeEncodeError as exc:  # lone surrogates
            raise SerializationError(topic, "String", exc) from exc

    def deserialize(self, topic: str, data: bytes | None) -> str | None:
        if data is None:
            return None
        try:
            return str(data, "utf-8")
        except UnicodeDecodeError as exc:
            raise DeserializationError(topic, serde="String", cause=exc) from exc
        except TypeError:
            raise DeserializationError(
                topic, serde="String", cause=_type_problem("bytes", data)
            ) from None


class Bytes(_Stateless):
    """Raw bytes passed through unchanged (Kafka's `ByteArraySerde`); the default serde."""

    __slots__ = ()

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None or type(obj) is bytes:
            return obj
        if isinstance(obj, bytes | bytearray | memoryview):
            return bytes(obj)
        raise SerializationError(
            topic, "Bytes", _type_problem("bytes, bytearray or memoryview", obj)
        )

    def deserialize(self, topic: str, data: bytes | None) -> bytes | None:
        if data is None or type(data) is bytes:
            return data
        try:
            return bytes(data)
        except TypeError:
            raise DeserializationError(
                topic, serde="Bytes", cause=_type_problem("bytes", data)
            ) from None


class Integer(_Stateless):
    """32-bit signed int, 4 bytes big-endian (Kafka's `IntegerSerializer`)."""

    __slots__ = ()

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None:
            return None
        try:
            return _pack_int(obj)
        except struct.error as exc:
            problem = (
                f"{obj!r} is outside the 32-bit range; use Long"
                if isinstance(obj, int)
                else _type_problem("int", obj)
            )
            raise SerializationError(topic, "Integer", problem) from exc

    def deserialize(self, topic: str, data: bytes | None) -> int | None:
        if data is None:
            return None
        try:
            return _unpack_int(data)[0]  # type: ignore[no-any-return]
        except (struct.error, TypeError):
            raise DeserializationError(
                topic, serde="Integer", cause=_bad_fixed("Integer", 4, data)
            ) from None


class Long(_Stateless):
    """64-bit signed int, 8 bytes big-endian (Kafka's `LongSerializer`)."""

    __slots__ = ()

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None:
            return None
        try:
            return _pack_long(obj)
        except struct.error as exc:
            problem = (
                f"{obj!r} is outside the 64-bit range"
                if isinstance(obj, int)
                else _type_problem("int", obj)
            )
            raise SerializationError(topic, "Long", problem) from exc

    def deserialize(self, topic: str, data: bytes | None) -> int | None:
        if data is None:
            return None
        try:
            return _unpack_long(data)[0]  # type: ignore[no-any-return]
        except (struct.error, TypeError):
            raise DeserializationError(
                topic, serde="Long", cause=_bad_fixed("Long", 8, data)
            ) from None


class Double(_Stateless):
    """IEEE-754 double, 8 bytes big-endian (Kafka's `DoubleSerializer`); ints are widened."""

    __slots__ = ()

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None:
            return None
        try:
            return _pack_double(obj)
        except (struct.error, OverflowError) as exc:
            raise SerializationError(topic, "Double", _type_problem("float", obj)) from exc

    def deserialize(self, topic: str, data: bytes | None) -> float | None:
        if data is None:
            return None
        try:
            return _unpack_double(data)[0]  # type: ignore[no-any-return]
        except (struct.error, TypeError):
            raise DeserializationError(
                topic, serde="Double", cause=_bad_fixed("Double", 8, data)
            ) from None


def _bad_fixed(serde: str, size: int, data: Any) -> str:
    try:
        return _length_problem(serde, size, data)
    except TypeError:
        return _type_problem("bytes", data)


def _c_json_encoder(default: Any) -> Any:
    """The C encoder of `json.JSONEncoder(separators=(",", ":"), ensure_ascii=False,
    allow_nan=False, default=default)`, built once (`JSONEncoder.encode` builds a new one on every
    call, which costs more than encoding a small value); None without the C accelerator.
    `"".join(c_encoder(obj, 0))` is that encoder's `encode(obj)`, without the circular-reference
    check (a cycle raises RecursionError instead of ValueError; both become a
    SerializationError)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    return make(
        None, _reference_encoder(default).default, json.encoder.encode_basestring, None, ":",
        ",", False, False, False,
    )  # fmt: skip


def _reference_encoder(default: Any) -> json.JSONEncoder:
    return json.JSONEncoder(
        separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=default
    )


_join = "".join
_REFERENCE_DECODER = json.JSONDecoder()
_reference_decode = _REFERENCE_DECODER.decode
_scan_once = getattr(_REFERENCE_DECODER, "scan_once")  # noqa: B009 — untyped attribute


class Json:
    """JSON text in UTF-8: compact separators, keys in insertion order, strict (no NaN/Infinity).

    `default` is passed to `json` for objects it cannot encode (e.g. `default=str`).

    Encoding calls json's C encoder directly and decoding its C scanner (a document without
    surrounding whitespace, what serializers write; anything else takes `json.loads`'s path), with
    results identical to `json.dumps(obj, separators=(",", ":"), ensure_ascii=False,
    allow_nan=False).encode()` and `json.loads(data)`: per record, the wrappers would cost about
    as much as the encoding itself.
    """

    __slots__ = ("_c_encode", "_default", "_reference")

    def __init__(self, default: Any = None) -> None:
        self._default = default
        self._reference = _reference_encoder(default)
        self._c_encode = _c_json_encoder(default)

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None:
            return None
        c_encode = self._c_encode
        try:
            if c_encode is not None:
                return _join(c_encode(obj, 0)).encode("utf-8")
            return self._reference.encode(obj).encode("utf-8")  # pure-Python json
        except (TypeError, ValueError, RecursionError) as exc:
            raise SerializationError(topic, "Json", exc) from exc

    def deserialize(self, topic: str, data: bytes | None) -> Any:
        if data is None:
            return None
        try:
            text = str(data, "utf-8")
            try:
                obj, end = _scan_once(text, 0)
            except StopIteration:  # empty, or leading whitespace: the reference path
                return _reference_decode(text)
            if end != len(text):  # trailing whitespace or data: the reference path decides
                return _reference_decode(text)
            return obj
        except (ValueError, TypeError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8
            raise DeserializationError(topic, serde="Json", cause=exc) from exc

    def __eq__(self, other: object) -> bool:
        return type(other) is Json and other._default is self._default

    def __hash__(self) -> int:
        return hash((Json, id(self._default)))

    def __repr__(self) -> str:
        return "Json()" if self._default is None else f"Json(default={self._default!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Json, (self._default,))


class MsgPack:
    """MessagePack (`use_bin_type=True`, `raw=False`): compact, keeps bytes apart from str.

    Tuples come back as lists; map keys may be any hashable msgpack type. One packer per thread.
    """

    __slots__ = ("_default", "_local")

    def __init__(self, default: Any = None) -> None:
        self._default = default
        self._local = threading.local()

    def _packer(self) -> Any:
        try:
            return self._local.packer
        except AttributeError:
            packer = msgpack.Packer(use_bin_type=True, default=self._default)
            self._local.packer = packer
            return packer

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None:
            return None
        try:
            packer = self._local.packer
        except AttributeError:
            packer = self._packer()
        try:
            return packer.pack(obj)  # type: ignore[no-any-return]
        except (TypeError, ValueError, OverflowError) as exc:
            raise SerializationError(topic, "MsgPack", exc) from exc

    def deserialize(self, topic: str, data: bytes | None) -> Any:
        if data is None:
            return None
        try:
            return msgpack.unpackb(data, raw=False, strict_map_key=False)
        except Exception as exc:  # msgpack raises ExtraData, FormatError, StackError, ValueError
            raise DeserializationError(topic, serde="MsgPack", cause=exc) from exc

    def __eq__(self, other: object) -> bool:
        return type(other) is MsgPack and other._default is self._default

    def __hash__(self) -> int:
        return hash((MsgPack, id(self._default)))

    def __repr__(self) -> str:
        return "MsgPack()" if self._default is None else f"MsgPack(default={self._default!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (MsgPack, (self._default,))


# The built-in serdes whose bytes depend only on the object (never on the topic, unlike e.g. a
# schema-registry serde, which registers a subject per topic).
_TOPIC_INDEPENDENT = frozenset({String, Bytes, Integer, Long, Double, Json, MsgPack})


def encodes_alike(a: object, b: object) -> bool:
    """True when serdes `a` and `b` turn every object into the same bytes on every topic: the
    same built-in class with the same settings. Unknown (user) serdes are never assumed alike."""
    return type(a) in _TOPIC_INDEPENDENT and a == b


def _require_inner(inner: Serde | None, serde: str, topic: str) -> Serde:
    if inner is None:
        raise SerializationError(
            topic, serde, "no inner key serde: pass one, e.g. TimeWindowed(String(), size_ms)"
        )
    return inner


def _inner_key_bytes(inner: Serde | None, serde: str, topic: str, windowed: Any) -> bytes:
    inner = _require_inner(inner, serde, topic)
    try:
        key = windowed.key
    except AttributeError:
        raise SerializationError(topic, serde, _type_problem("Windowed", windowed)) from None
    data = inner.serialize(topic, key)
    if data is None:
        raise SerializationError(
            topic, serde, f"the inner serde {inner!r} turned the key into None"
        )
    return data


class TimeWindowed:
    """A windowed key as Kafka's `TimeWindowedSerde`: inner key bytes + 8-byte big-endian start.

    The end is not written; deserializing computes `start + window_size_ms` (capped at
    Long.MAX), so `window_size_ms` must be the size of the windows that produced the keys.
    """

    __slots__ = ("inner", "window_size_ms")

    def __init__(self, inner: Serde | None, window_size_ms: int) -> None:
        if isinstance(window_size_ms, bool) or not isinstance(window_size_ms, int):
            raise TypeError(f"TimeWindowed window_size_ms must be an int, got {window_size_ms!r}")
        if window_size_ms <= 0:
            raise ValueError(f"TimeWindowed window_size_ms must be positive, got {window_size_ms}")
        self.inner = inner
        self.window_size_ms = window_size_ms

    def with_inner(self, inner: Serde) -> TimeWindowed:
        """The same serde around `inner` (the DSL leaves `inner` None until a task knows the
        default key serde)."""
        return TimeWindowed(inner, self.window_size_ms)

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None:
            return None
        key = _inner_key_bytes(self.inner, "TimeWindowed", topic, obj)
        try:
            return key + _pack_long(obj.window.start)
        except (AttributeError, struct.error, TypeError) as exc:
            raise SerializationError(topic, "TimeWindowed", f"bad window {obj!r}") from exc

    def deserialize(self, topic: str, data: bytes | None) -> Windowed[Any] | None:
        if data is None:
            return None
        size = len(data)
        if size < 8:
            raise DeserializationError(
                topic,
                serde="TimeWindowed",
                cause=f"need at least 8 bytes (key + window start), got {size}",
            )
        start = _unpack_long_from(data, size - 8)[0]
        end = start + self.window_size_ms
        try:
            window = TimeWindow(start, end if end <= MAX_TIMESTAMP else MAX_TIMESTAMP)
        except ValueError as exc:
            raise DeserializationError(topic, serde="TimeWindowed", cause=exc) from exc
        inner = _require_inner(self.inner, "TimeWindowed", topic)
        return Windowed(inner.deserialize(topic, data[: size - 8]), window)

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is TimeWindowed
            and other.inner == self.inner
            and other.window_size_ms == self.window_size_ms
        )

    def __hash__(self) -> int:
        return hash((TimeWindowed, self.window_size_ms))

    def __repr__(self) -> str:
        return f"TimeWindowed({self.inner!r}, window_size_ms={self.window_size_ms})"


class SessionWindowed:
    """A session key as Kafka's `SessionWindowedSerde`: key bytes + 8-byte end + 8-byte start.

    The layout is Kafka's `SessionKeySchema` (`key | endTime | startTime`, big-endian).
    """

    __slots__ = ("inner",)

    def __init__(self, inner: Serde | None) -> None:
        self.inner = inner

    def with_inner(self, inner: Serde) -> SessionWindowed:
        return SessionWindowed(inner)

    def serialize(self, topic: str, obj: Any) -> bytes | None:
        if obj is None:
            return None
        key = _inner_key_bytes(self.inner, "SessionWindowed", topic, obj)
        try:
            window = obj.window
            return key + _pack_long(window.end) + _pack_long(window.start)
        except (AttributeError, struct.error, TypeError) as exc:
            raise SerializationError(topic, "SessionWindowed", f"bad window {obj!r}") from exc

    def deserialize(self, topic: str, data: bytes | None) -> Windowed[Any] | None:
        if data is None:
            return None
        size = len(data)
        if size < 16:
            raise DeserializationError(
                topic,
                serde="SessionWindowed",
                cause=f"need at least 16 bytes (key + end + start), got {size}",
            )
        end = _unpack_long_from(data, size - 16)[0]
        start = _unpack_long_from(data, size - 8)[0]
        try:
            window = SessionWindow(start, end)
        except ValueError as exc:
            raise DeserializationError(topic, serde="SessionWindowed", cause=exc) from exc
        inner = _require_inner(self.inner, "SessionWindowed", topic)
        return Windowed(inner.deserialize(topic, data[: size - 16]), window)

    def __eq__(self, other: object) -> bool:
        return type(other) is SessionWindowed and other.inner == self.inner

    def __hash__(self) -> int:
        return hash(SessionWindowed)

    def __repr__(self) -> str:
        return f"SessionWindowed({self.inner!r})"
