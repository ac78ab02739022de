"""The input generators: deterministic, seed-dependent, and shaped like the workloads say."""

from __future__ import annotations

import json
from collections import Counter
from itertools import islice

from apps.shopping_cart.events import EventType, decode_event, decode_product
from benchmarks import data


def test_same_seed_gives_the_same_bytes() -> None:
    for dataset in ("w1", "w2", "cart"):
        first = list(data.dataset_records(dataset, 2_000, seed=7))
        again = list(data.dataset_records(dataset, 2_000, seed=7))
        assert first == again, dataset


def test_another_seed_gives_other_data() -> None:
    for dataset in ("w1", "w2", "cart"):
        assert list(data.dataset_records(dataset, 200, seed=1)) != list(
            data.dataset_records(dataset, 200, seed=2)
        ), dataset


def test_a_prefix_of_a_larger_load_is_the_smaller_load() -> None:
    # Loads of different sizes share their beginning, so small runs preview big ones.
    assert list(data.w2_records(100)) == list(islice(data.w2_records(1_000), 100))


def test_w1_values_are_json_with_the_fields_the_filter_and_map_use() -> None:
    for i, (key, value) in enumerate(data.w1_records(500)):
        obj = json.loads(value)
        assert key == f"r{i}".encode()
        assert set(obj) == {"id", "user", "amount", "country"}
        assert 0 <= obj["amount"] < 1000 and obj["country"] in data.W1_COUNTRIES


def test_w2_keys_stay_within_ten_thousand() -> None:
    keys = {k for k, _ in data.w2_records(20_000)}
    assert all(k.startswith(b"key-") and int(k[4:]) < data.W2_KEYS for k in keys)
    assert len(keys) > 8_000  # uniform over 10k keys: most appear in 20k draws


def test_cart_events_parse_with_the_apps_own_parser_and_follow_the_mix() -> None:
    counts: Counter[EventType] = Counter()
    for key, value in data.cart_events(4_000):
        event = decode_event(value)
        assert event.customer_id == key.decode()
        counts[event.type] += 1
    shares = {t: n / 4_000 for t, n in counts.items()}
    assert abs(shares[EventType.ITEM_ADDED] - 0.70) < 0.02
    assert abs(shares[EventType.ITEM_REMOVED] - 0.15) < 0.02
    assert abs(shares[EventType.CART_CLEARED] - 0.05) < 0.01
    assert abs(shares[EventType.CHECKED_OUT] - 0.10) < 0.01


def test_cart_event_ids_are_unique_and_items_are_known_products() -> None:
    events = [decode_event(v) for _, v in data.cart_events(2_000)]
    assert len({e.event_id for e in events}) == len(events)
    known = {data.product_id(n) for n in range(1, data.CART_PRODUCTS + 1)}
    assert {e.item_id for e in events if e.item_id is not None} <= known


def test_products_parse_and_cover_the_catalogue() -> None:
    products = [decode_product(v) for _, v in data.products()]
    assert [p.product_id for p in products] == [str(n) for n in range(1, 1001)]
    assert all(p.price > 0 for p in products)
