"""The pure cart aggregate, rule by rule, plus properties over random event sequences."""

from __future__ import annotations

import copy
import itertools
import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.shopping_cart.cart import (
    CHECKED_OUT,
    EVENT_ID_WINDOW,
    OPEN,
    Cart,
    apply,
    initial_cart,
    public_view,
    recent_event_ids,
    render_ts,
)
from apps.shopping_cart.events import CartEvent, EventType, InvalidEvent, Product

IPHONE12 = Product("1", "IPhone 12", Decimal("65000.00"), 768)
IPHONE13 = Product("2", "IPhone 13", Decimal("125000.00"), 230)
CATALOGUE = {"1": IPHONE12, "2": IPHONE13}
_ids = itertools.count()


def ev(
    etype: EventType, item: str | None = None, qty: int | None = None, **kw: object
) -> CartEvent:
    event_id = str(kw.get("event_id") or uuid.UUID(int=next(_ids) + 1))
    ts = int(kw.get("ts", 1_700_000_000_000))  # type: ignore[call-overload]
    return CartEvent(event_id, etype, str(kw.get("customer", "123")), ts, item, qty)


def add(item: str, qty: int, **kw: object) -> CartEvent:
    return ev(EventType.ITEM_ADDED, item, qty, **kw)


def remove(item: str, qty: int | None = None, **kw: object) -> CartEvent:
    return ev(EventType.ITEM_REMOVED, item, qty, **kw)


CLEAR = EventType.CART_CLEARED
CHECKOUT = EventType.CHECKED_OUT


def run(*events: CartEvent, cart: Cart | None = None) -> Cart:
    cart = cart or initial_cart("123")
    for e in events:
        before = copy.deepcopy(cart)
        product = CATALOGUE.get(e.item_id) if e.item_id else None
        nxt = apply(cart, e, product)
        assert cart == before, "apply must not mutate its input"
        cart = nxt
    return cart


def test_initial_cart() -> None:
    cart = initial_cart("123")
    assert cart["customerId"] == "123" and cart["cartNumber"] == 1 and cart["status"] == OPEN
    assert cart["lines"] == {} and cart["cartTotal"] == "0.00" and cart["version"] == 0


def test_seed_sequence() -> None:
    # The seed's demo: add item 1 several times, add item 2 twice, remove one item 2.
    cart = run(add("1", 1), add("1", 1), add("1", 1), add("2", 1), add("2", 1), remove("2", 1))
    assert cart["lines"] == {
        "1": {"qty": 3, "productName": "IPhone 12", "unitPrice": "65000.00",
              "lineTotal": "195000.00"},
        "2": {"qty": 1, "productName": "IPhone 13", "unitPrice": "125000.00",
              "lineTotal": "125000.00"},
    }  # fmt: skip
    assert cart["cartTotal"] == "320000.00"
    assert cart["version"] == 6 and cart["unknownItems"] == []


def test_adding_sums_quantities() -> None:
    assert run(add("1", 2), add("1", 5))["lines"]["1"]["qty"] == 7


def test_remove_subtracts() -> None:
    cart = run(add("1", 5), remove("1", 2))
    assert cart["lines"]["1"]["qty"] == 3 and cart["lines"]["1"]["lineTotal"] == "195000.00"


def test_remove_deletes_the_line_at_zero() -> None:
    cart = run(add("1", 2), add("2", 1), remove("1", 2))
    assert "1" not in cart["lines"] and cart["cartTotal"] == "125000.00"


def test_remove_never_goes_negative() -> None:
    cart = run(add("1", 2), remove("1", 10))
    assert cart["lines"] == {} and cart["cartTotal"] == "0.00"


def test_remove_without_qty_removes_the_whole_line() -> None:
    assert run(add("1", 7), add("2", 1), remove("1"))["lines"].keys() == {"2"}


def test_removing_an_absent_item_changes_nothing() -> None:
    cart = run(add("1", 1))
    after = run(remove("2", 1), cart=cart)
    assert public_view(after) == public_view(cart)


def test_clear_empties_the_cart() -> None:
    cart = run(add("1", 1), add("2", 2), ev(CLEAR))
    assert cart["lines"] == {} and cart["cartTotal"] == "0.00" and cart["status"] == OPEN
    assert cart["cartNumber"] == 1


def test_clear_of_an_empty_cart_changes_nothing() -> None:
    assert run(ev(CLEAR))["version"] == 0


def test_checkout_marks_a_non_empty_cart() -> None:
    cart = run(add("1", 1), ev(CHECKOUT))
    assert cart["status"] == CHECKED_OUT and cart["lines"]["1"]["qty"] == 1
    assert cart["cartTotal"] == "65000.00" and cart["version"] == 2


def test_checkout_of_an_empty_cart_changes_nothing() -> None:
    cart = run(ev(CHECKOUT))
    assert cart["status"] == OPEN and cart["version"] == 0


def test_add_after_checkout_opens_the_next_cart() -> None:
    cart = run(add("1", 1), ev(CHECKOUT), add("2", 2))
    assert cart["cartNumber"] == 2 and cart["status"] == OPEN
    assert cart["lines"].keys() == {"2"} and cart["cartTotal"] == "250000.00"


@pytest.mark.parametrize("event", [remove("1", 1), remove("1"), ev(CLEAR), ev(CHECKOUT)])
def test_checked_out_cart_ignores_remove_clear_checkout(event: CartEvent) -> None:
    cart = run(add("1", 2), ev(CHECKOUT))
    after = run(event, cart=cart)
    assert public_view(after) == public_view(cart)


def test_price_is_taken_when_the_item_is_last_added() -> None:
    cart = run(add("1", 1))
    cheaper = Product("1", "IPhone 12 (sale)", Decimal("60000"), 5)
    cart = apply(cart, add("1", 1), cheaper)
    assert cart["lines"]["1"] == {
        "qty": 2, "productName": "IPhone 12 (sale)", "unitPrice": "60000.00",
        "lineTotal": "120000.00",
    }  # fmt: skip
    # A remove does not reprice: it keeps the price of the last add.
    cart = apply(cart, remove("1", 1), IPHONE12)
    assert cart["lines"]["1"]["unitPrice"] == "60000.00"


def test_unknown_products_are_kept_and_flagged() -> None:
    cart = run(add("1", 1), add("999", 3))
    assert cart["lines"]["999"] == {
        "qty": 3, "productName": None, "unitPrice": None, "lineTotal": None,
    }  # fmt: skip
    assert cart["unknownItems"] == ["999"] and cart["cartTotal"] == "65000.00"
    cart = run(remove("999", 3), cart=cart)
    assert cart["unknownItems"] == [] and "999" not in cart["lines"]


def test_unknown_item_becomes_known_when_added_with_a_product() -> None:
    cart = run(add("3", 1))
    cart = apply(cart, add("3", 1), Product("3", "Case", Decimal("9.99"), 1))
    assert cart["unknownItems"] == [] and cart["lines"]["3"]["lineTotal"] == "19.98"


def test_known_line_keeps_its_price_if_the_product_disappears() -> None:
    cart = run(add("1", 1))
    cart = apply(cart, add("1", 1), None)
    assert cart["lines"]["1"]["unitPrice"] == "65000.00" and cart["unknownItems"] == []


def test_money_is_exact() -> None:
    cheap = Product("x", "Sticker", Decimal("0.10"), 1)
    cart = initial_cart("123")
    for _ in range(3):
        cart = apply(cart, add("x", 1), cheap)
    # 0.1 + 0.1 + 0.1 is not 0.3 in floating point; here it is.
    assert cart["cartTotal"] == "0.30"
    big = Product("b", "Yacht", Decimal("99999.99"), 1)
    cart = apply(cart, add("b", 1000), big)
    assert cart["lines"]["b"]["lineTotal"] == "99999990.00"
    assert cart["cartTotal"] == "99999990.30"


def test_duplicate_event_id_is_applied_once() -> None:
    first = add("1", 2)
    cart = run(first, first)
    assert cart["lines"]["1"]["qty"] == 2 and cart["version"] == 1
    retry = add("1", 2, event_id=first.event_id)
    assert run(retry, cart=cart) is cart


def test_duplicate_of_a_no_op_stays_a_no_op() -> None:
    # The remove arrives before the add; its retry after the add must not remove anything.
    early = remove("1", 1)
    cart = run(early, add("1", 1), early)
    assert cart["lines"]["1"]["qty"] == 1


def test_event_id_window_is_bounded() -> None:
    first = add("1", 1)
    cart = run(first)
    for _ in range(EVENT_ID_WINDOW - 1):
        cart = run(remove("2"), cart=cart)
    assert len(recent_event_ids(cart)) == EVENT_ID_WINDOW
    assert recent_event_ids(cart)[0] == first.event_id
    assert run(first, cart=cart) is cart  # still inside the window
    cart = run(remove("2"), cart=cart)  # pushes `first` out
    assert first.event_id not in recent_event_ids(cart)
    assert len(recent_event_ids(cart)) == EVENT_ID_WINDOW
    assert run(first, cart=cart)["lines"]["1"]["qty"] == 2


def test_a_cart_stored_with_a_list_window_is_upgraded() -> None:
    first = add("1", 1)
    old = {**run(first), "recentEventIds": [first.event_id]}  # the format of an earlier version
    assert apply(old, first, IPHONE12) is old  # still deduplicated
    cart = run(add("1", 1), cart=old)
    assert isinstance(cart["recentEventIds"], str) and len(recent_event_ids(cart)) == 2
    assert cart["lines"]["1"]["qty"] == 2


def test_event_for_another_customer_is_rejected() -> None:
    with pytest.raises(InvalidEvent, match="keyed to the cart of '123'"):
        apply(initial_cart("123"), add("1", 1, customer="456"), IPHONE12)


def test_updated_at_and_version_follow_changes_only() -> None:
    cart = run(add("1", 1, ts=1_000))
    assert cart["updatedAt"] == "1970-01-01T00:00:01.000Z"
    same = run(remove("9", ts=2_000), cart=cart)
    assert same["updatedAt"] == cart["updatedAt"] and same["version"] == cart["version"]


def test_render_ts() -> None:
    assert render_ts(1_764_216_000_123) == "2025-11-27T04:00:00.123Z"


def test_public_view_hides_the_dedup_window() -> None:
    cart = run(add("1", 1))
    assert "recentEventIds" not in public_view(cart) and "recentEventIds" in cart


# --- properties -------------------------------------------------------------------------------

ITEMS = ["1", "2", "3"]  # "3" is not in the catalogue
event_strategy = st.one_of(
    st.builds(add, st.sampled_from(ITEMS), st.integers(1, 1000)),
    st.builds(remove, st.sampled_from(ITEMS), st.none() | st.integers(1, 1000)),
    st.builds(ev, st.just(CLEAR)),
    st.builds(ev, st.just(CHECKOUT)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(event_strategy, max_size=40), st.data())
def test_properties(events: list[CartEvent], data: st.DataObject) -> None:
    cart = initial_cart("123")
    for event in events:
        # Sometimes redeliver an earlier event: it must change nothing.
        if data.draw(st.booleans()):
            replay = data.draw(st.sampled_from(events))
            if replay.event_id in recent_event_ids(cart):
                assert apply(cart, replay, CATALOGUE.get(replay.item_id or "")) is cart
        before = cart
        cart = apply(cart, event, CATALOGUE.get(event.item_id or ""))
        lines = cart["lines"]
        assert all(line["qty"] > 0 for line in lines.values())
        total = sum((Decimal(x["lineTotal"] or 0) for x in lines.values()), Decimal(0))
        assert Decimal(cart["cartTotal"]) == total
        for item, line in lines.items():
            if line["unitPrice"] is not None:
                assert Decimal(line["lineTotal"]) == Decimal(line["unitPrice"]) * line["qty"]
            else:
                assert item in cart["unknownItems"]
        assert cart["unknownItems"] == sorted(i for i in lines if lines[i]["unitPrice"] is None)
        assert cart["version"] in (before["version"], before["version"] + 1)
        assert cart["cartNumber"] >= before["cartNumber"]
        if cart["status"] == CHECKED_OUT:
            assert lines, "only a non-empty cart is checked out"


def test_amounts_not_in_two_decimal_form_still_add_up_exactly() -> None:
    # A cart stored by hand or by an older writer may hold "19.9" or "5": the integer-cents
    # fast path must hand those to Decimal rather than misread them.
    cart = initial_cart("123")
    cart["lines"] = {
        "1": {"qty": 1, "productName": "A", "unitPrice": "19.9", "lineTotal": "19.9"},
        "2": {"qty": 2, "productName": "B", "unitPrice": "5", "lineTotal": "10"},
    }
    after = apply(cart, add("1", 2), None)  # unknown product now: the line keeps its price
    assert after["lines"]["1"]["lineTotal"] == "59.70"
    assert after["cartTotal"] == "69.70"
    after = apply(after, remove("2", 1), None)
    assert after["lines"]["2"]["lineTotal"] == "5.00" and after["cartTotal"] == "64.70"
