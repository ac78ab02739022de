"""The cart aggregate: pure functions from (cart, event, product) to the next cart.

No kstreamy import: this is the business logic the topology's ``aggregate`` calls, unit-testable
on its own. A cart is a JSON-ready ``dict``::

    {"customerId": "123", "cartNumber": 1, "status": "OPEN" | "CHECKED_OUT",
     "lines": {"1": {"qty": 2, "productName": "IPhone 12", "unitPrice": "65000.00",
                     "lineTotal": "130000.00"}},
     "unknownItems": [], "cartTotal": "130000.00", "version": 3,
     "updatedAt": "2026-11-27T04:00:00.000Z", "recentEventIds": "<32 hex>,<32 hex>,..."}

Rules (the issue's, with the choices it leaves open):

* ITEM_ADDED sums quantities. The line's ``unitPrice``/``productName`` are those of the product
  *when the item was last added* (a later price change does not reprice the cart until the item
  is added again). If the product is unknown at that add, the line keeps the last known price, or
  has ``unitPrice``/``lineTotal`` ``null`` and its itemId is listed in ``unknownItems`` if it never
  had one; such lines count 0 towards ``cartTotal``. Unknown items are kept, never dropped.
* ITEM_REMOVED subtracts (no qty: the whole line) and deletes the line at 0, never negative;
  removing an absent item changes nothing.
* CART_CLEARED empties the cart. CHECKED_OUT marks a non-empty OPEN cart CHECKED_OUT (an empty
  cart is not checked out). On a CHECKED_OUT cart, remove/clear/checkout change nothing and the
  next ITEM_ADDED opens cart ``cartNumber + 1``.
* Each eventId is applied at most once per customer, within a window of the customer's last
  :data:`EVENT_ID_WINDOW` eventIds kept in the aggregate (``recentEventIds``). A client retry is
  deduplicated unless the same customer sent 256 other events between the attempt and its retry;
  that bound keeps the aggregate small (8.4 KiB at most) and retries come within seconds. The
  window is one string of fixed-width tokens (the UUID's 32 hex digits and a comma), not a JSON
  list: membership is one substring search and the store's serde copies one string, which keeps
  the per-event cost low. It is internal: :func:`public_view` drops it before publishing.
* ``version`` counts changes of the visible cart; an event that changes nothing (or a duplicate)
  leaves ``version`` and ``updatedAt`` as they were. ``updatedAt`` is the changing event's ``ts``
  (so replays give byte-identical carts), rendered as ISO-8601 UTC.
* Money is ``Decimal`` throughout and rendered as a decimal string with two places.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

from apps.shopping_cart.events import CartEvent, EventType, InvalidEvent, Product, render_money

OPEN: Final = "OPEN"
CHECKED_OUT: Final = "CHECKED_OUT"
EVENT_ID_WINDOW: Final = 256
_TOKEN: Final = 33  # 32 hex digits + ","
_ZERO: Final = "0.00"

Cart = dict[str, Any]


def initial_cart(customer_id: str) -> Cart:
    """The empty, open cart number 1 of a customer (version 0: nothing applied yet)."""
    return {
        "customerId": customer_id,
        "cartNumber": 1,
        "status": OPEN,
        "lines": {},
        "unknownItems": [],
        "cartTotal": _ZERO,
        "version": 0,
        "updatedAt": None,
        "recentEventIds": "",
    }


def public_view(cart: Cart) -> Cart:
    """The cart as published on ``cart-details-event`` (without the dedup window)."""
    return {k: v for k, v in cart.items() if k != "recentEventIds"}


def recent_event_ids(cart: Cart) -> list[str]:
    """The eventIds in the dedup window, oldest first, as canonical UUID strings."""
    window = _window(cart)
    return [str(uuid.UUID(window[i : i + 32])) for i in range(0, len(window), _TOKEN)]


def render_ts(ts_ms: int) -> str:
    """Epoch milliseconds as ISO-8601 UTC with milliseconds: ``2026-11-27T04:00:00.000Z``."""
    second = ts_ms // 1000
    if second != _last_second[0]:  # events come in time order: most share the last second
        dt = datetime.fromtimestamp(second, tz=UTC)
        _last_second[0], _last_second[1] = second, dt.strftime("%Y-%m-%dT%H:%M:%S.")
    return f"{_last_second[1]}{ts_ms % 1000:03d}Z"


# The last second rendered by `render_ts` and its text (up to the milliseconds).
_last_second: list[Any] = [None, ""]


def apply(cart: Cart, event: CartEvent, product: Product | None) -> Cart:
    """Return the cart after ``event`` (``product`` is the joined catalogue entry, if any).

    Never mutates ``cart``. A duplicate eventId returns ``cart`` itself. An event of another
    customer raises :class:`InvalidEvent` (its record key and its customerId disagree).
    """
    if event.customer_id != cart["customerId"]:
        raise InvalidEvent(
            f"event {event.event_id} is for customer {event.customer_id!r} but was keyed "
            f"to the cart of {cart['customerId']!r}; producers must key cart-events by customerId"
        )
    recent = _window(cart)
    token = event.event_id.replace("-", "") + ","  # event ids are canonical UUIDs
    if recent.startswith(token) or ("," + token) in recent:
        return cart
    changed = _CHANGES[event.type](cart, event, product)
    window = (recent + token)[-(EVENT_ID_WINDOW * _TOKEN) :]
    if changed is None:
        return {**cart, "recentEventIds": window}
    lines = changed["lines"]
    changed["cartTotal"] = _cart_total(lines)
    changed["unknownItems"] = sorted(
        [item for item, line in lines.items() if line["unitPrice"] is None]
    )
    changed["version"] = cart["version"] + 1
    changed["updatedAt"] = render_ts(event.ts)
    changed["recentEventIds"] = window
    return changed


def _window(cart: Cart) -> str:
    """The dedup window; a cart stored by an earlier version holds a list of UUID strings."""
    recent = cart.get("recentEventIds") or ""
    if isinstance(recent, list):  # upgrade in place: the next apply stores the string form
        tokens = [uuid.UUID(str(e)).hex + "," for e in recent[-EVENT_ID_WINDOW:]]
        recent = "".join(tokens)
    return str(recent)


# Amounts in the cart are rendered with exactly two decimals, so the hot path does its exact
# arithmetic in integer cents; any other text (a hand-edited store, say) takes the Decimal path.


def _cents(text: str) -> int | None:
    """``"65000.00"`` -> 6500000; ``None`` unless the text is digits, a point and two digits."""
    whole, dot, frac = text.partition(".")
    if dot and len(frac) == 2 and whole.isdigit() and frac.isdigit():
        return int(whole) * 100 + int(frac)
    return None


def _render_cents(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@lru_cache(maxsize=4096)
def _price_text(price: Decimal) -> str:
    """A catalogue price as cart text (products repeat: rendered once each)."""
    return render_money(price)


def _line_total(qty: int, unit_price: str | None) -> str | None:
    if unit_price is None:
        return None
    cents = _cents(unit_price)
    if cents is None:
        return render_money(Decimal(unit_price) * qty)
    return _render_cents(cents * qty)


def _cart_total(lines: dict[str, dict[str, Any]]) -> str:
    total = 0
    for line in lines.values():
        text = line["lineTotal"]
        if text is not None:
            cents = _cents(text)
            if cents is None:
                return _cart_total_decimal(lines)
            total += cents
    return _render_cents(total)


def _cart_total_decimal(lines: dict[str, dict[str, Any]]) -> str:
    total = sum(
        (Decimal(line["lineTotal"]) for line in lines.values() if line["lineTotal"] is not None),
        Decimal(0),
    )
    return render_money(total)


def _add(cart: Cart, event: CartEvent, product: Product | None) -> Cart | None:
    assert event.item_id is not None and event.qty is not None
    if cart["status"] == CHECKED_OUT:
        base = initial_cart(cart["customerId"])
        base["cartNumber"] = cart["cartNumber"] + 1
        cart = base
    old = cart["lines"].get(event.item_id)
    qty = event.qty + (old["qty"] if old else 0)
    if product is not None:
        name: str | None = product.product_name
        price: str | None = _price_text(product.price)
    elif old is not None:
        name, price = old["productName"], old["unitPrice"]
    else:
        name, price = None, None
    line = {"qty": qty, "productName": name, "unitPrice": price, "lineTotal": None}
    line["lineTotal"] = _line_total(qty, price)
    return {**cart, "lines": {**cart["lines"], event.item_id: line}}


def _remove(cart: Cart, event: CartEvent, product: Product | None) -> Cart | None:
    assert event.item_id is not None
    if cart["status"] == CHECKED_OUT:
        return None
    old = cart["lines"].get(event.item_id)
    if old is None:
        return None
    lines = dict(cart["lines"])
    qty = 0 if event.qty is None else max(0, old["qty"] - event.qty)
    if qty == 0:
        del lines[event.item_id]
    else:
        lines[event.item_id] = {**old, "qty": qty, "lineTotal": _line_total(qty, old["unitPrice"])}
    return {**cart, "lines": lines}


def _clear(cart: Cart, event: CartEvent, product: Product | None) -> Cart | None:
    if cart["status"] == CHECKED_OUT or not cart["lines"]:
        return None
    return {**cart, "lines": {}}


def _checkout(cart: Cart, event: CartEvent, product: Product | None) -> Cart | None:
    if cart["status"] == CHECKED_OUT or not cart["lines"]:
        return None
    return {**cart, "status": CHECKED_OUT}


_CHANGES = {
    EventType.ITEM_ADDED: _add,
    EventType.ITEM_REMOVED: _remove,
    EventType.CART_CLEARED: _clear,
    EventType.CHECKED_OUT: _checkout,
}
