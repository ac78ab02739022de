"""Serdes: golden bytes equal to Kafka's Java serdes, round trips, tombstones and errors."""

from __future__ import annotations

import math
import pickle
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kstreamy.errors import DeserializationError, SerializationError
from kstreamy.serdes import (
    Bytes,
    Double,
    Integer,
    Json,
    Long,
    MsgPack,
    Serde,
    SessionWindowed,
    String,
    TimeWindowed,
)
from kstreamy.windows import MAX_TIMESTAMP, SessionWindow, TimeWindow, Windowed

ALL_SERDES: list[Serde] = [
    String(),
    Bytes(),
    Integer(),
    Long(),
    Double(),
    Json(),
    MsgPack(),
    TimeWindowed(String(), 10),
    SessionWindowed(String()),
]


# --------------------------------------------------------------------------- golden bytes


@pytest.mark.parametrize(
    ("serde", "value", "golden"),
    [
        # Kafka IntegerSerializer: 4 bytes big-endian two's complement
        (Integer(), 1, b"\x00\x00\x00\x01"),
        (Integer(), -1, b"\xff\xff\xff\xff"),
        (Integer(), 2**31 - 1, b"\x7f\xff\xff\xff"),
        (Integer(), -(2**31), b"\x80\x00\x00\x00"),
        # Kafka LongSerializer: 8 bytes big-endian
        (Long(), 1, b"\x00" * 7 + b"\x01"),
        (Long(), -1, b"\xff" * 8),
        (Long(), 2**63 - 1, b"\x7f" + b"\xff" * 7),
        # Kafka DoubleSerializer: Double.doubleToLongBits, big-endian
        (Double(), 1.0, bytes.fromhex("3FF0000000000000")),
        (Double(), -2.5, bytes.fromhex("C004000000000000")),
        (Double(), 0.0, b"\x00" * 8),
        # Kafka StringSerializer: UTF-8
        (String(), "é", b"\xc3\xa9"),
        (String(), "", b""),
        (String(), "a€😀", "a€😀".encode()),
        (Bytes(), b"\x00\x01", b"\x00\x01"),
    ],
)
def test_golden_bytes_match_kafka(serde: Serde, value: Any, golden: bytes) -> None:
    assert serde.serialize("t", value) == golden
    assert serde.deserialize("t", golden) == value


def test_double_nan_and_infinities_round_trip() -> None:
    d = Double()
    assert d.serialize("t", math.inf) == bytes.fromhex("7FF0000000000000")
    nan = d.deserialize("t", d.serialize("t", math.nan))
    assert nan is not None and math.isnan(nan)
    assert d.deserialize("t", d.serialize("t", -math.inf)) == -math.inf


def test_double_accepts_ints_like_java_widening() -> None:
    assert Double().serialize("t", 1) == bytes.fromhex("3FF0000000000000")


def test_json_is_compact_utf8_and_keeps_key_order() -> None:
    data = Json().serialize("t", {"b": 1, "a": ["é", None, True]})
    assert data == '{"b":1,"a":["é",null,true]}'.encode()
    assert Json().deserialize("t", data) == {"b": 1, "a": ["é", None, True]}


def test_msgpack_rejects_ints_beyond_64_bits() -> None:
    with pytest.raises(SerializationError, match="MsgPack"):
        MsgPack().serialize("t", 2**64)


def test_msgpack_keeps_bytes_and_str_apart() -> None:
    m = MsgPack()
    value = {"s": "x", "b": b"x", 1: [1.5, None]}
    data = m.serialize("t", value)
    assert data is not None and data[0] == 0x83  # fixmap of 3 entries
    assert m.deserialize("t", data) == value


# --------------------------------------------------------------------------- windowed layouts


def test_time_windowed_layout_is_key_then_start() -> None:
    # Kafka WindowKeySchema.toBinary: serialized key + 8-byte big-endian window start
    serde = TimeWindowed(String(), 100)
    key = Windowed("k", TimeWindow(1000, 1100))
    data = serde.serialize("t", key)
    assert data == b"k" + struct.pack(">q", 1000)
    assert data == b"k\x00\x00\x00\x00\x00\x00\x03\xe8"


def test_time_windowed_deserializer_computes_end_from_window_size() -> None:
    serde = TimeWindowed(Integer(), 50)
    result = serde.deserialize("t", b"\x00\x00\x00\x07" + struct.pack(">q", 200))
    assert result == Windowed(7, TimeWindow(200, 250))


def test_time_windowed_end_is_capped_at_long_max() -> None:
    # Kafka timeWindowForSize: an overflowing end becomes Long.MAX_VALUE
    serde = TimeWindowed(String(), 100)
    result = serde.deserialize("t", b"k" + struct.pack(">q", MAX_TIMESTAMP - 10))
    assert result is not None
    assert result.window.end == MAX_TIMESTAMP


def test_session_windowed_layout_is_key_end_start() -> None:
    # Kafka SessionKeySchema: key | endTime | startTime, both 8-byte big-endian
    serde = SessionWindowed(String())
    key = Windowed("user", SessionWindow(10, 20))
    data = serde.serialize("t", key)
    assert data == b"user" + struct.pack(">q", 20) + struct.pack(">q", 10)
    assert serde.deserialize("t", data) == key


def test_session_window_with_single_record_round_trips() -> None:
    serde = SessionWindowed(Long())
    key = Windowed(5, SessionWindow(7, 7))
    assert serde.deserialize("t", serde.serialize("t", key)) == key


@given(st.text(), st.integers(0, 2**62), st.integers(1, 2**40))
def test_time_windowed_round_trip(key: str, start: int, size: int) -> None:
    serde = TimeWindowed(String(), size)
    windowed = Windowed(key, TimeWindow(start, start + size))
    assert serde.deserialize("t", serde.serialize("t", windowed)) == windowed


@given(st.binary(), st.integers(0, 2**62), st.integers(0, 2**40))
def test_session_windowed_round_trip(key: bytes, start: int, length: int) -> None:
    serde = SessionWindowed(Bytes())
    windowed = Windowed(key, SessionWindow(start, start + length))
    assert serde.deserialize("t", serde.serialize("t", windowed)) == windowed


# --------------------------------------------------------------------------- round trips


@given(st.integers(-(2**31), 2**31 - 1))
def test_integer_round_trip(value: int) -> None:
    assert Integer().deserialize("t", Integer().serialize("t", value)) == value


@given(st.integers(-(2**63), 2**63 - 1))
def test_long_round_trip(value: int) -> None:
    assert Long().deserialize("t", Long().serialize("t", value)) == value


@given(st.floats(allow_nan=False))
def test_double_round_trip(value: float) -> None:
    assert Double().deserialize("t", Double().serialize("t", value)) == value


@given(st.text())
def test_string_round_trip(value: str) -> None:
    assert String().deserialize("t", String().serialize("t", value)) == value


@given(st.binary())
def test_bytes_round_trip(value: bytes) -> None:
    assert Bytes().deserialize("t", Bytes().serialize("t", value)) == value


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@given(_json_values.filter(lambda v: v is not None))
def test_json_round_trip(value: Any) -> None:
    assert Json().deserialize("t", Json().serialize("t", value)) == value


_msgpack_values = st.recursive(
    st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text() | st.integers(0, 100), inner),
    max_leaves=20,
)


@given(_msgpack_values)
def test_msgpack_round_trip(value: Any) -> None:
    assert MsgPack().deserialize("t", MsgPack().serialize("t", value)) == value


# --------------------------------------------------------------------------- tombstones


@pytest.mark.parametrize("serde", ALL_SERDES, ids=repr)
def test_none_is_a_tombstone_both_ways(serde: Serde) -> None:
    assert serde.serialize("t", None) is None
    assert serde.deserialize("t", None) is None


@pytest.mark.parametrize("serde", ALL_SERDES, ids=repr)
def test_every_serde_satisfies_the_protocol_and_pickles(serde: Serde) -> None:
    assert isinstance(serde, Serde)
    copy = pickle.loads(pickle.dumps(serde))
    assert copy == serde
    assert copy.serialize("t", None) is None


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("serde", "data", "name"),
    [
        (Integer(), b"\x00\x01\x02", "Integer"),
        (Integer(), b"\x00" * 8, "Integer"),
        (Long(), b"\x00" * 4, "Long"),
        (Double(), b"\x00" * 9, "Double"),
        (String(), b"\xff\xfe", "String"),
        (Json(), b"{not json", "Json"),
        (MsgPack(), b"\xc1", "MsgPack"),
        (TimeWindowed(String(), 10), b"\x00" * 7, "TimeWindowed"),
        (SessionWindowed(String()), b"\x00" * 15, "SessionWindowed"),
    ],
)
def test_bad_bytes_raise_deserialization_error_naming_serde(
    serde: Serde, data: bytes, name: str
) -> None:
    with pytest.raises(DeserializationError) as info:
        serde.deserialize("orders", data)
    assert info.value.serde == name
    assert info.value.topic == "orders"
    assert name in str(info.value) and "'orders'" in str(info.value)


def test_wrong_length_message_says_expected_size() -> None:
    with pytest.raises(DeserializationError, match=r"is not 4 \(got 3 bytes\)"):
        Integer().deserialize("t", b"abc")


@pytest.mark.parametrize(
    ("serde", "value", "name"),
    [
        (Integer(), 2**31, "Integer"),
        (Integer(), "1", "Integer"),
        (Integer(), 1.5, "Integer"),
        (Long(), 2**63, "Long"),
        (Double(), "x", "Double"),
        (String(), 5, "String"),
        (String(), b"bytes", "String"),
        (Bytes(), "text", "Bytes"),
        (Json(), {1, 2}, "Json"),
        (Json(), math.nan, "Json"),
        (MsgPack(), object(), "MsgPack"),
        (TimeWindowed(String(), 10), "not windowed", "TimeWindowed"),
        (SessionWindowed(String()), Windowed("k", "no window"), "SessionWindowed"),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_raise_serialization_error_naming_serde(
    serde: Serde, value: Any, name: str
) -> None:
    with pytest.raises(SerializationError) as info:
        serde.serialize("out", value)
    assert info.value.serde == name
    assert name in str(info.value) and "'out'" in str(info.value)


def test_integer_overflow_suggests_long() -> None:
    with pytest.raises(SerializationError, match="use Long"):
        Integer().serialize("t", 2**40)


def test_deserialization_error_gets_partition_and_offset_from_the_task() -> None:
    with pytest.raises(DeserializationError) as info:
        Long().deserialize("payments", b"\x01")
    located = info.value.with_location(3, 42)
    assert (located.topic, located.partition, located.offset) == ("payments", 3, 42)
    assert "partition 3" in str(located) and "offset 42" in str(located)


def test_time_windowed_needs_a_positive_window_size() -> None:
    with pytest.raises(ValueError, match="positive"):
        TimeWindowed(String(), 0)


def test_bytes_accepts_bytearray_and_memoryview() -> None:
    assert Bytes().serialize("t", bytearray(b"ab")) == b"ab"
    assert Bytes().deserialize("t", memoryview(b"cd")) == b"cd"  # type: ignore[arg-type]
    assert Integer().deserialize("t", memoryview(b"\x00\x00\x00\x02")) == 2  # type: ignore[arg-type]


def test_encodes_alike_only_for_built_in_serdes_with_the_same_settings() -> None:
    """Shortcuts that reuse bytes encoded by one serde for another (a cached table flushing
    straight to its sink) need both to give the same bytes on every topic: only built-in serde
    classes, with equal settings, are known to."""
    from kstreamy.serdes import encodes_alike

    assert encodes_alike(String(), String())
    assert encodes_alike(Json(), Json())
    assert encodes_alike(MsgPack(), MsgPack())
    assert not encodes_alike(Json(default=str), Json())
    assert not encodes_alike(Json(), MsgPack())
    assert not encodes_alike(String(), Bytes())

    class Custom(Json):
        pass

    custom = Custom()
    assert not encodes_alike(custom, custom)  # a subclass may encode per topic
    assert not encodes_alike(object(), object())
