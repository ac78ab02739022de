"""The products tool: publish a catalogue file to ``product-details-events``.

``python -m apps.shopping_cart.products load FILE [--bootstrap B]``

FILE is a JSON array of product objects or a CSV file with a header row
(``productId,productName,price,stockQty``). Every invalid row is reported with its line number
and not published; valid rows are published (key = productId, JSON value) with an idempotent,
acks=all producer. Exit code: 0 all published, 1 some rows rejected, 2 publishing failed or the
file is unreadable.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from apps.shopping_cart.events import InvalidProduct, Product, parse_product
from apps.shopping_cart.publisher import producer_config
from apps.shopping_cart.settings import (
    PRODUCTS,
    add_bootstrap_arg,
    add_partitions_arg,
    log_ready,
    resolve_bootstrap,
    setup_logging,
)
from apps.shopping_cart.topics import ensure_topics


class CatalogueError(Exception):
    """The file as a whole cannot be read (not a JSON array, no CSV header, ...)."""


@dataclass
class ParsedCatalogue:
    """Valid products and rejected rows as ``(line number, reason)``."""

    products: list[Product] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def parse_json_catalogue(text: str) -> ParsedCatalogue:
    """Parse a JSON array element by element, so each bad element gets its own line number."""
    decoder = json.JSONDecoder()
    out = ParsedCatalogue()
    i = _skip_ws(text, 0)
    if i >= len(text) or text[i] != "[":
        raise CatalogueError("a JSON catalogue must be an array of product objects")
    i = _skip_ws(text, i + 1)
    if i < len(text) and text[i] == "]":
        return out
    while True:
        line = _line_of(text, i)
        try:
            obj, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            raise CatalogueError(f"line {exc.lineno}: invalid JSON: {exc.msg}") from None
        _collect(out, line, obj, from_text=False)
        i = _skip_ws(text, i)
        if i < len(text) and text[i] == ",":
            i = _skip_ws(text, i + 1)
            continue
        if i < len(text) and text[i] == "]":
            if _skip_ws(text, i + 1) != len(text):
                raise CatalogueError(f"line {_line_of(text, i)}: unexpected data after the array")
            return out
        raise CatalogueError(f"line {_line_of(text, i)}: expected ',' or ']' in the array")


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def parse_csv_catalogue(text: str) -> ParsedCatalogue:
    """Parse CSV with a header row; line numbers are the file's (the header is line 1)."""
    out = ParsedCatalogue()
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CatalogueError("the CSV file is empty; it needs a header row") from None
    header = [h.strip() for h in header]
    start = reader.line_num + 1
    for row in reader:
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue  # blank line
        if len(row) != len(header):
            out.rejected.append((line, f"expected {len(header)} columns, got {len(row)}"))
            continue
        _collect(out, line, dict(zip(header, row, strict=True)), from_text=True)
    return out


def _collect(out: ParsedCatalogue, line: int, obj: Any, *, from_text: bool) -> None:
    try:
        out.products.append(parse_product(obj, from_text=from_text))
    except InvalidProduct as exc:
        out.rejected.append((line, str(exc)))


def parse_catalogue(path: Path) -> ParsedCatalogue:
    """JSON when the file starts with ``[`` (after whitespace), else CSV."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"cannot read {path}: {exc}") from None
    if text.lstrip().startswith("["):
        return parse_json_catalogue(text)
    return parse_csv_catalogue(text)


def publish_products(
    bootstrap: str, products: list[Product], *, topic: str = PRODUCTS
) -> list[str]:
    """Publish and wait for every acknowledgement; return one error line per failed record."""
    producer = Producer(producer_config(bootstrap))
    errors: list[str] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            errors.append(f"productId {msg.key()!r}: {err.str()}")

    for product in products:
        while True:
            try:
                producer.produce(
                    topic, product.to_bytes(), product.product_id.encode(), on_delivery=on_delivery
                )
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(30.0)
    if remaining:
        errors.append(f"{remaining} record(s) not acknowledged by Kafka at {bootstrap} in 30 s")
    return errors


def load(
    path: Path, bootstrap: str, partitions: int, *, timeout: float = 15.0, topic: str = PRODUCTS
) -> int:
    """The ``load`` command; returns the process exit code."""
    try:
        parsed = parse_catalogue(path)
    except CatalogueError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    for line, reason in parsed.rejected:
        print(f"{path}:{line}: rejected: {reason}", file=sys.stderr)
    try:
        if topic == PRODUCTS:
            ensure_topics(bootstrap, [PRODUCTS], partitions=partitions, timeout=timeout)
    except RuntimeError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    log_ready("products", bootstrap=bootstrap, file=path)
    errors = publish_products(bootstrap, parsed.products, topic=topic)
    for err in errors:
        print(f"publish failed: {err}", file=sys.stderr)
    print(
        f"published {len(parsed.products) - len(errors)} product(s) to {topic}, "
        f"rejected {len(parsed.rejected)} row(s)"
    )
    if errors:
        return 2
    return 1 if parsed.rejected else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.shopping_cart.products")
    sub = parser.add_subparsers(dest="command", required=True)
    p_load = sub.add_parser("load", help="publish a JSON or CSV catalogue")
    p_load.add_argument("file", type=Path)
    add_bootstrap_arg(p_load)
    add_partitions_arg(p_load)
    p_load.add_argument("--topic", default=PRODUCTS, help="an existing topic (tests, staging)")
    args = parser.parse_args(argv)
    setup_logging()
    return load(args.file, resolve_bootstrap(args.bootstrap), args.partitions, topic=args.topic)


if __name__ == "__main__":
    sys.exit(main())
