"""Cart events and products: the JSON wire model, strict parsing and rendering.

Cart events live on ``cart-events`` (key = customerId) as JSON objects::

    {"eventId": "<uuid>", "type": "ITEM_ADDED", "ts": 1700000000000, "v": 1,
     "customerId": "123", "itemId": "1", "qty": 2}

``ITEM_REMOVED`` may omit ``qty`` (remove the whole line); ``CART_CLEARED`` and ``CHECKED_OUT``
carry only ``customerId``. Products live on ``product-details-events`` (key = productId)::

    {"productId": "1", "productName": "IPhone 12", "price": "65000", "stockQty": 768}

with ``price`` a decimal string or a JSON number. Money is always ``Decimal``, never float.
Parsing returns frozen dataclasses or raises :class:`InvalidEvent` / :class:`InvalidProduct`
whose message names the offending field.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final

SCHEMA_VERSION: Final = 1
MAX_QTY: Final = 1000
MAX_ID_LENGTH: Final = 256
CENT: Final = Decimal("0.01")
#: Prices above this are rejected: they are typos, and they keep Decimal arithmetic exact.
MAX_PRICE: Final = Decimal("1000000000")


class EventType(StrEnum):
    """The four cart event types."""

    ITEM_ADDED = "ITEM_ADDED"
    ITEM_REMOVED = "ITEM_REMOVED"
    CART_CLEARED = "CART_CLEARED"
    CHECKED_OUT = "CHECKED_OUT"


ITEM_EVENT_TYPES: Final = frozenset({EventType.ITEM_ADDED, EventType.ITEM_REMOVED})
#: ``EventType(name)`` without the enum machinery (a dict lookup per event on the hot path).
_TYPE_BY_NAME: Final[dict[str, EventType]] = {t.value: t for t in EventType}
#: A UUID already in canonical form (what the write API and most clients send): kept as is.
_CANONICAL_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_encode = json.JSONEncoder(separators=(",", ":")).encode


class InvalidEvent(ValueError):
    """A cart event (or an HTTP command) that does not follow the schema; the message says why."""


class InvalidProduct(ValueError):
    """A product record that does not follow the schema; the message says why."""


@dataclass(frozen=True, slots=True)
class CartEvent:
    """One parsed cart event; ``item_id``/``qty`` are ``None`` where the type has none."""

    event_id: str
    type: EventType
    customer_id: str
    ts: int
    item_id: str | None = None
    qty: int | None = None
    v: int = SCHEMA_VERSION

    @property
    def is_item_event(self) -> bool:
        """True for ITEM_ADDED / ITEM_REMOVED: these are enriched with the product."""
        return self.type in ITEM_EVENT_TYPES

    def to_json(self) -> dict[str, Any]:
        """The wire form (only the fields this type carries)."""
        out: dict[str, Any] = {
            "eventId": self.event_id,
            "type": self.type.value,
            "ts": self.ts,
            "v": self.v,
            "customerId": self.customer_id,
        }
        if self.item_id is not None:
            out["itemId"] = self.item_id
        if self.qty is not None:
            out["qty"] = self.qty
        return out

    def to_bytes(self) -> bytes:
        """Compact UTF-8 JSON, as written to ``cart-events``."""
        return _encode(self.to_json()).encode()


@dataclass(frozen=True, slots=True)
class Product:
    """A catalogue entry; ``price`` is exact, in currency units."""

    product_id: str
    product_name: str
    price: Decimal
    stock_qty: int

    def to_json(self) -> dict[str, Any]:
        """The wire form; the price is rendered as a decimal string with two places."""
        return {
            "productId": self.product_id,
            "productName": self.product_name,
            "price": render_money(self.price),
            "stockQty": self.stock_qty,
        }

    def to_bytes(self) -> bytes:
        """Compact UTF-8 JSON, as written to ``product-details-events``."""
        return json.dumps(self.to_json(), separators=(",", ":")).encode()


def render_money(amount: Decimal) -> str:
    """Render an exact amount as a decimal string in currency units: ``Decimal(5) -> "5.00"``."""
    return str(amount.quantize(CENT))


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds (the ``ts`` of events made by the write API)."""
    return time.time_ns() // 1_000_000


# --- field validators (shared by events, HTTP commands and products) -------------------------


def _require_id(obj: dict[str, Any], field: str, error: type[ValueError]) -> str:
    if field not in obj:
        raise error(f"missing field {field!r}")
    value = obj[field]
    if not isinstance(value, str):
        raise error(f"field {field!r} must be a string, got {type(value).__name__}")
    if not value or value.strip() != value:
        raise error(f"field {field!r} must be non-empty without surrounding whitespace")
    if len(value) > MAX_ID_LENGTH:
        raise error(f"field {field!r} is longer than {MAX_ID_LENGTH} characters")
    return value


def _require_qty(obj: dict[str, Any], field: str = "qty") -> int:
    if field not in obj:
        raise InvalidEvent(f"missing field {field!r}")
    value = obj[field]
    # bool is an int subclass in Python, but `true` is not a quantity.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidEvent(f"field {field!r} must be an integer, got {type(value).__name__}")
    if not 1 <= value <= MAX_QTY:
        raise InvalidEvent(f"field {field!r} must be between 1 and {MAX_QTY}, got {value}")
    return value


def parse_event_id(value: Any) -> str:
    """Validate a client- or server-made event id (a UUID) and return its canonical form."""
    if not isinstance(value, str):
        raise InvalidEvent(f"field 'eventId' must be a UUID string, got {type(value).__name__}")
    if len(value) == 36 and _CANONICAL_UUID.fullmatch(value):
        return value  # str(uuid.UUID(value)) would give the same text
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidEvent(f"field 'eventId' is not a UUID: {value[:64]!r}") from None


def _check_fields(obj: dict[str, Any], allowed: frozenset[str], what: str) -> None:
    if obj.keys() <= allowed:
        return
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InvalidEvent(f"unknown field(s) for {what}: {', '.join(unknown)}")


_COMMON = frozenset({"eventId", "type", "ts", "v", "customerId"})
_EVENT_FIELDS: Final[dict[EventType, frozenset[str]]] = {
    EventType.ITEM_ADDED: _COMMON | {"itemId", "qty"},
    EventType.ITEM_REMOVED: _COMMON | {"itemId", "qty"},
    EventType.CART_CLEARED: _COMMON,
    EventType.CHECKED_OUT: _COMMON,
}


def parse_event(obj: Any) -> CartEvent:
    """Validate a decoded JSON value from ``cart-events`` and return the typed event."""
    if not isinstance(obj, dict):
        raise InvalidEvent(f"a cart event must be a JSON object, got {type(obj).__name__}")
    raw_type = obj.get("type")
    if raw_type is None:
        raise InvalidEvent("missing field 'type'")
    etype = _TYPE_BY_NAME.get(raw_type) if isinstance(raw_type, str) else None
    if etype is None:
        raise InvalidEvent(f"unknown event type {str(raw_type)[:64]!r}")
    version = obj.get("v")
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidEvent("field 'v' (schema version) must be an integer")
    if version != SCHEMA_VERSION:
        raise InvalidEvent(f"unsupported schema version v={version} (this reader knows v=1)")
    _check_fields(obj, _EVENT_FIELDS[etype], etype.value)
    if "eventId" not in obj:
        raise InvalidEvent("missing field 'eventId'")
    event_id = parse_event_id(obj["eventId"])
    ts = obj.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
        raise InvalidEvent("field 'ts' must be a non-negative integer (epoch milliseconds)")
    customer_id = _require_id(obj, "customerId", InvalidEvent)
    item_id: str | None = None
    qty: int | None = None
    if etype in ITEM_EVENT_TYPES:
        item_id = _require_id(obj, "itemId", InvalidEvent)
        if etype is EventType.ITEM_ADDED or obj.get("qty") is not None:
            qty = _require_qty(obj)
    return CartEvent(event_id, etype, customer_id, ts, item_id, qty)


def decode_event(data: bytes) -> CartEvent:
    """Parse raw bytes from ``cart-events`` (JSON, then the schema)."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"value is not JSON: {exc}") from None
    return parse_event(obj)


# --- HTTP commands ----------------------------------------------------------------------------

COMMAND_TYPES: Final[dict[str, EventType]] = {
    "add": EventType.ITEM_ADDED,
    "remove": EventType.ITEM_REMOVED,
    "clear": EventType.CART_CLEARED,
    "checkout": EventType.CHECKED_OUT,
}
_COMMAND_FIELDS: Final[dict[EventType, frozenset[str]]] = {
    EventType.ITEM_ADDED: frozenset({"customerId", "itemId", "qty", "eventId"}),
    EventType.ITEM_REMOVED: frozenset({"customerId", "itemId", "qty", "eventId"}),
    EventType.CART_CLEARED: frozenset({"customerId", "eventId"}),
    EventType.CHECKED_OUT: frozenset({"customerId", "eventId"}),
}


def command_to_event(command: str, body: Any, *, ts: int | None = None) -> CartEvent:
    """Turn an HTTP command body (``add``/``remove``/``clear``/``checkout``) into an event.

    A missing ``eventId`` gets a fresh UUID4; a client-sent one makes retries idempotent.
    """
    etype = COMMAND_TYPES[command]
    if not isinstance(body, dict):
        raise InvalidEvent(f"the request body must be a JSON object, got {type(body).__name__}")
    _check_fields(body, _COMMAND_FIELDS[etype], f"/{command}")
    customer_id = _require_id(body, "customerId", InvalidEvent)
    item_id: str | None = None
    qty: int | None = None
    if etype in ITEM_EVENT_TYPES:
        item_id = _require_id(body, "itemId", InvalidEvent)
        if etype is EventType.ITEM_ADDED or "qty" in body:
            qty = _require_qty(body)
    raw_id = body.get("eventId")
    event_id = str(uuid.uuid4()) if raw_id is None else parse_event_id(raw_id)
    return CartEvent(event_id, etype, customer_id, now_ms() if ts is None else ts, item_id, qty)


# --- products ---------------------------------------------------------------------------------

_PRODUCT_FIELDS: Final = frozenset({"productId", "productName", "price", "stockQty"})


def parse_price(value: Any) -> Decimal:
    """A price from a decimal string or a JSON number; exact, >= 0, at most 2 decimal places."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidProduct(
            f"field 'price' must be a decimal string or a number, got {type(value).__name__}"
        )
    # A float is re-read through its shortest repr, so 19.99 stays 19.99 (not 19.989999...).
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise InvalidProduct(f"field 'price' is not a decimal number: {text[:64]!r}") from None
    if not price.is_finite():
        raise InvalidProduct(f"field 'price' must be finite, got {text[:64]!r}")
    if price < 0:
        raise InvalidProduct(f"field 'price' must not be negative, got {text[:64]!r}")
    if price > MAX_PRICE:
        raise InvalidProduct(f"field 'price' must be at most {MAX_PRICE}, got {text[:64]!r}")
    if price != price.quantize(CENT):
        raise InvalidProduct(f"field 'price' has more than 2 decimal places: {text[:64]!r}")
    return price.quantize(CENT)


def parse_product(obj: Any, *, from_text: bool = False) -> Product:
    """Validate a product object (from JSON, or from a CSV row when ``from_text``)."""
    if not isinstance(obj, dict):
        raise InvalidProduct(f"a product must be a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - _PRODUCT_FIELDS)
    if unknown:
        raise InvalidProduct(f"unknown field(s) for a product: {', '.join(unknown)}")
    product_id = _require_id(obj, "productId", InvalidProduct)
    product_name = _require_id(obj, "productName", InvalidProduct)
    if "price" not in obj:
        raise InvalidProduct("missing field 'price'")
    price = parse_price(obj["price"])
    if "stockQty" not in obj:
        raise InvalidProduct("missing field 'stockQty'")
    stock: Any = obj["stockQty"]
    if from_text and isinstance(stock, str) and stock.strip().isdigit():
        stock = int(stock.strip())
    if isinstance(stock, bool) or not isinstance(stock, int) or stock < 0:
        raise InvalidProduct(f"field 'stockQty' must be a non-negative integer, got {stock!r}")
    return Product(product_id, product_name, price, stock)


def decode_product(data: bytes) -> Product:
    """Parse raw bytes from ``product-details-events``."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidProduct(f"value is not JSON: {exc}") from None
    return parse_product(obj)
