"""Catalogue parsing: bad rows are rejected with their line numbers, good rows kept."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from apps.shopping_cart.products import (
    CatalogueError,
    load,
    parse_catalogue,
    parse_csv_catalogue,
    parse_json_catalogue,
)

SAMPLE = Path(__file__).resolve().parents[3] / "apps" / "shopping_cart" / "sample_products.json"


def test_sample_catalogue_is_valid_and_has_the_seed_iphones() -> None:
    parsed = parse_catalogue(SAMPLE)
    assert parsed.rejected == []
    by_id = {p.product_id: p for p in parsed.products}
    assert by_id["1"].product_name == "IPhone 12" and by_id["1"].price == Decimal("65000")
    assert by_id["2"].product_name == "IPhone 13" and by_id["2"].price == Decimal("125000")
    assert len(by_id) >= 4


def test_json_rejections_carry_line_numbers() -> None:
    text = (
        "[\n"
        '  {"productId": "1", "productName": "A", "price": "1.50", "stockQty": 1},\n'
        '  {"productId": "2", "productName": "B", "price": "abc", "stockQty": 1},\n'
        '  {"productId": "3", "productName": "C", "price": 2, "stockQty": 1},\n'
        "  {\n"
        '    "productId": "4", "price": "1", "stockQty": 1\n'
        "  },\n"
        "  42\n"
        "]\n"
    )
    parsed = parse_json_catalogue(text)
    assert [p.product_id for p in parsed.products] == ["1", "3"]
    assert [line for line, _ in parsed.rejected] == [3, 5, 8]
    assert "not a decimal number" in parsed.rejected[0][1]
    assert "missing field 'productName'" in parsed.rejected[1][1]
    assert "must be a JSON object" in parsed.rejected[2][1]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"productId": "1"}', "must be an array"),
        ('[{"productId": "1",]', "line 1: invalid JSON"),
        ('[{"a": 1}\n{"b": 2}]', "line 2: expected ',' or ']'"),
        ("[1] x", "unexpected data after the array"),
    ],
)
def test_json_file_errors(text: str, reason: str) -> None:
    with pytest.raises(CatalogueError) as info:
        parse_json_catalogue(text)
    assert reason in str(info.value)


def test_empty_json_array() -> None:
    parsed = parse_json_catalogue(" [ ] ")
    assert parsed.products == [] and parsed.rejected == []


def test_csv_rejections_carry_line_numbers() -> None:
    text = (
        "productId,productName,price,stockQty\n"
        "1,IPhone 12,65000,768\n"
        "2,IPhone 13,-5,230\n"
        "\n"
        '3,"Case, black",9.99,12\n'
        "4,Cable,1.00\n"
        "5,Dock,12.345,1\n"
        '6,"Two\nlines",1,1\n'
        "7,Pen,1,x\n"
    )
    parsed = parse_csv_catalogue(text)
    assert [p.product_id for p in parsed.products] == ["1", "3", "6"]
    assert parsed.products[1].product_name == "Case, black"
    assert [line for line, _ in parsed.rejected] == [3, 6, 7, 10]
    assert "must not be negative" in parsed.rejected[0][1]
    assert "expected 4 columns, got 3" in parsed.rejected[1][1]
    assert "more than 2 decimal places" in parsed.rejected[2][1]
    assert "stockQty" in parsed.rejected[3][1]


def test_csv_unknown_column_rejects_rows() -> None:
    parsed = parse_csv_catalogue("productId,productName,price,stockQty,colour\n1,A,1,1,red\n")
    assert parsed.rejected == [(2, "unknown field(s) for a product: colour")]


def test_empty_csv_is_an_error() -> None:
    with pytest.raises(CatalogueError, match="header row"):
        parse_csv_catalogue("")


def test_load_reports_bad_rows_and_exits_2_when_kafka_is_unreachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cat.json"
    path.write_text(json.dumps([{"productId": "1"}]))
    # Port 1 on loopback: nothing listens, so topic creation fails fast.
    code = load(path, "127.0.0.1:1", partitions=1, timeout=1.0)
    err = capsys.readouterr().err
    assert f"{path}:1: rejected: missing field 'productName'" in err
    assert "cannot reach Kafka at 127.0.0.1:1" in err
    assert code == 2


def test_load_of_an_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert load(tmp_path / "missing.csv", "127.0.0.1:1", partitions=1) == 2
    assert "cannot read" in capsys.readouterr().err
