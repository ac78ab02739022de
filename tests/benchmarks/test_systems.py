"""The harness-system contract: the arguments every entry point parses; the shared steps."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import data
from benchmarks.loader import InputTopics
from benchmarks.peers import common
from benchmarks.run import run_micro
from benchmarks.systems import RunSpec, all_systems
from benchmarks.workloads import ALL_SYSTEMS, WORKLOADS


def spec(workload: str) -> RunSpec:
    products = "prod" if workload in ("W3", "W4") else None
    return RunSpec(WORKLOADS[workload], InputTopics("in", 10, products), "127.0.0.1:1",
                   "out", "app-1", 250, "/tmp/state")  # fmt: skip


def test_every_system_is_registered_under_its_results_name() -> None:
    assert tuple(all_systems()) == ALL_SYSTEMS


def test_the_run_arguments_parse_in_the_peers_parser() -> None:
    args = common.parse_args(spec("W4").argv())
    assert (args.workload, args.input, args.products, args.output) == ("W4", "in", "prod", "out")
    assert args.guarantee == "exactly_once_v2" and args.commit_interval_ms == 250
    assert common.parse_args(spec("W1").argv()).products is None


def test_launches_pass_the_common_arguments() -> None:
    s = spec("W2")
    for name in ("kstreamy", "quix", "faust"):
        launch = all_systems()[name].launch(s)
        assert launch.argv[-len(s.argv()) :] == s.argv(), name
        assert "PYTHONPATH" in launch.env


def test_count_formats_match_each_systems_serde() -> None:
    systems = all_systems()
    assert systems["kafka-streams"].count_format() == "long"  # Serdes.Long()
    assert systems["kstreamy"].count_format() == "long"  # serdes.Long()
    assert systems["quix"].count_format() == "json"
    assert systems["faust"].count_format() == "json"


def test_w1_steps() -> None:
    value = {"id": 3, "user": "u1", "amount": 150, "country": "DE"}
    assert common.w1_keep(value) and not common.w1_keep({**value, "amount": 99})
    assert common.w1_map(value) == {"id": 3, "user": "u1", "amountCents": 15000, "country": "de"}


def test_cart_step_follows_a_customer_through_add_and_checkout() -> None:
    products = {k.decode(): common.product_entry(v) for k, v in data.products()}
    base = {"v": 1, "customerId": "7", "ts": data.CART_BASE_TS}
    add = {**base, "eventId": "00000000-0000-4000-8000-000000000001", "type": "ITEM_ADDED",
           "itemId": "1", "qty": 2}  # fmt: skip
    out = {**base, "eventId": "00000000-0000-4000-8000-000000000002", "type": "CHECKED_OUT"}
    cart = common.cart_step("7", None, add, products)  # type: ignore[arg-type]
    cart = common.cart_step("7", cart, out, products)  # type: ignore[arg-type]
    view = common.public_view(cart)
    price = json.loads(next(v for k, v in data.products() if k == b"1"))["price"]
    assert view["status"] == "CHECKED_OUT" and view["lines"]["1"]["qty"] == 2
    assert view["lines"]["1"]["unitPrice"] == price and view["version"] == 2
    assert "recentEventIds" not in view
    assert common.product_entry(None) is None and common.product_entry(b"{bad") is None


def test_micro_scripts_json_lines_are_collected(tmp_path: Path) -> None:
    (tmp_path / "bench_a.py").write_text(
        'import sys\nprint("warming up")\nprint(\'{"name": "x", "ops_per_s": 5}\')\n'
        'print(\'{"args": "\' + " ".join(sys.argv[1:]) + \'"}\')\n# "--bootstrap"\n'
    )
    (tmp_path / "bench_b.py").write_text("raise SystemExit(3)\n")
    (tmp_path / "_helper.py").write_text("raise SystemExit('not a benchmark')\n")
    out = run_micro("127.0.0.1:1", tmp_path)
    assert set(out) == {"bench_a", "bench_b"}
    assert out["bench_a"]["results"] == [
        {"name": "x", "ops_per_s": 5},
        {"args": "--bootstrap 127.0.0.1:1"},
    ]
    assert out["bench_b"]["returncode"] == 3
