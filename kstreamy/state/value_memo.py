"""Value memos of the typed store layer: when a value read from a store can be handed out
without decoding its bytes again, and how (shared if it can never change, copied if it is a flat
container), so that every reader still gets a value indistinguishable from a fresh decode."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from kstreamy.state.api import ValueAndTimestamp

_new_vat = tuple.__new__  # a ValueAndTimestamp without its Python-level __new__ (hot path)

# Exact classes of deeply immutable leaves (a value built only of these can be shared).
_ATOMS = frozenset({str, int, bytes, float, bool, complex, Decimal, type(None)})
# Read memo: at most this many distinct value bytes per store; it gives up after this many
# values that are not deeply immutable (such stores decode every read, as before).
_MEMO_MAX = 4096
_MEMO_GIVE_UP = 16


def deeply_immutable(obj: Any, depth: int = 0) -> bool:
    """True when ``obj`` can never change: immutable scalars, and tuples, frozensets,
    `ValueAndTimestamp` and frozen dataclasses (exact classes) made only of such values."""
    cls = obj.__class__
    if cls in _ATOMS:
        return True
    if depth > 8:
        return False
    if cls is tuple or cls is ValueAndTimestamp or cls is frozenset:
        return all(deeply_immutable(item, depth + 1) for item in obj)
    params = cls.__dict__.get("__dataclass_params__")
    if params is None or not params.frozen:
        return False
    fields = cls.__dict__.get("__dataclass_fields__", {})
    return all(deeply_immutable(getattr(obj, name), depth + 1) for name in fields)


def _copy_flat(obj: Any) -> Any:
    return obj.copy()


def _copy_flat_vat(obj: Any) -> Any:
    return _new_vat(ValueAndTimestamp, (obj[0].copy(), obj[1]))


def _flat(obj: Any) -> bool:
    """A dict (str keys) or list whose items are all immutable atoms: its shallow copy is as
    independent of the original as a fresh decode."""
    cls = obj.__class__
    if cls is dict:
        return all(k.__class__ is str and v.__class__ in _ATOMS for k, v in obj.items())
    if cls is list:
        return all(item.__class__ in _ATOMS for item in obj)
    return False


# Atoms that Json and MsgPack (without a `default`) decode back as equal objects of the same class
_NATIVE = frozenset({str, int, float, bool, type(None)})
NATIVE_ATOMS = _NATIVE
OBJECT_MEMO_MAX = 16_384


def native_flat(obj: Any) -> bool:
    """A dict (str keys) or list of JSON-native atoms: Json/MsgPack give back an equal object."""
    cls = obj.__class__
    if cls is dict:
        for k, v in obj.items():
            if k.__class__ is not str or v.__class__ not in _NATIVE:
                return False
        return True
    if cls is list:
        for item in obj:  # noqa: SIM110 — a plain loop: no generator frame (per-record path)
            if item.__class__ not in _NATIVE:
                return False
        return True
    return False


def exact_round_trip(serde: Any) -> bool:
    """Serdes whose decode of `serialize(flat)` equals `flat` for `_native_flat` values."""
    from kstreamy.serdes import Json, MsgPack

    cls = serde.__class__
    return (cls is Json or cls is MsgPack) and serde._default is None


def memo_copier(value: Any) -> Callable[[Any], Any] | None:
    """How to hand out a memoized `value`: None to share it (deeply immutable), a copy function
    for flat containers (alone or in a ValueAndTimestamp), else `_UNSHAREABLE`."""
    if deeply_immutable(value):
        return None
    if value.__class__ is ValueAndTimestamp:
        if value[1].__class__ is int and _flat(value[0]):
            return _copy_flat_vat
    elif _flat(value):
        return _copy_flat
    return _UNSHAREABLE


def _unshareable(obj: Any) -> Any:
    raise AssertionError("never called")


_UNSHAREABLE: Callable[[Any], Any] = _unshareable
copy_flat_vat = _copy_flat_vat  # the copier of a ValueAndTimestamp of a flat value
UNSHAREABLE = _UNSHAREABLE  # what `memo_copier` answers for a value that must not be memoized


def memo_decoder(vde: Callable[[str, bytes], Any], give_up: Callable[[], None]) -> Any:
    """A value deserializer that reuses the object decoded from equal bytes (a global table's
    product read on every join decodes once): a deeply immutable object is shared, a flat
    container (a dict of str keys, or a list, holding only immutable atoms; e.g. a JSON row) is
    handed out as a fresh shallow copy on every read.

    Either way each reader gets a value indistinguishable from a fresh decode, which is what
    Kafka's stores give; any other mutable value is never memoized. After `_MEMO_GIVE_UP` such
    values, or when the memo filled up four times (too many distinct values to hit often),
    `give_up` rebinds the store to the plain deserializer.
    """
    memo: dict[bytes, tuple[Any, Callable[[Any], Any] | None]] = {}
    mutable = 0
    misses = 0

    def decode(topic: str, raw: bytes) -> Any:
        nonlocal mutable, misses
        hit = memo.get(raw)
        if hit is not None:
            copy = hit[1]
            return hit[0] if copy is None else copy(hit[0])
        value = vde(topic, raw)
        if value is None:
            return value
        copier = memo_copier(value)
        if copier is not _UNSHAREABLE:
            if len(memo) >= _MEMO_MAX:
                memo.clear()
                misses += 1
                if misses >= 4:  # the values keep outgrowing the memo: it rarely hits
                    give_up()
            memo[raw] = (value, copier)
            return value if copier is None else copier(value)
        mutable += 1
        if mutable >= _MEMO_GIVE_UP:
            memo.clear()
            give_up()
        return value

    return decode
