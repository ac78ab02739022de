"""Bootstrap resolution, topic specs and the load generator's percentile."""

from __future__ import annotations

import argparse
import logging

import pytest

from apps.shopping_cart.loadgen import percentile
from apps.shopping_cart.settings import (
    BOOTSTRAP_ENV,
    DEFAULT_BOOTSTRAP,
    add_bootstrap_arg,
    log_ready,
    resolve_bootstrap,
)
from apps.shopping_cart.topics import TOPICS, ensure_topics


def test_flag_wins_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BOOTSTRAP_ENV, "env:1")
    assert resolve_bootstrap("flag:2") == "flag:2"
    assert resolve_bootstrap(None) == "env:1"


def test_default_bootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BOOTSTRAP_ENV, raising=False)
    assert resolve_bootstrap(None) == DEFAULT_BOOTSTRAP == "127.0.0.1:9092"
    monkeypatch.setenv(BOOTSTRAP_ENV, "")
    assert resolve_bootstrap(None) == DEFAULT_BOOTSTRAP


def test_bootstrap_arg() -> None:
    parser = argparse.ArgumentParser()
    add_bootstrap_arg(parser)
    assert parser.parse_args([]).bootstrap is None
    assert parser.parse_args(["--bootstrap", "h:1"]).bootstrap == "h:1"


def test_ready_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        log_ready("write_api", port=8080)
    assert caplog.messages == ["write_api ready port=8080"]


def test_topic_specs() -> None:
    assert set(TOPICS) == {
        "cart-events",
        "product-details-events",
        "cart-details-event",
        "cart-events-dlq",
    }
    assert TOPICS["product-details-events"].config == {"cleanup.policy": "compact"}
    assert TOPICS["cart-details-event"].config == {"cleanup.policy": "compact"}
    assert TOPICS["cart-events"].config == {}  # the event log is never compacted


def test_ensure_topics_names_the_unreachable_broker() -> None:
    with pytest.raises(RuntimeError, match=r"cannot reach Kafka at 127\.0\.0\.1:1"):
        ensure_topics("127.0.0.1:1", timeout=0.5)
    with pytest.raises(ValueError, match="partitions"):
        ensure_topics("127.0.0.1:1", partitions=0)


def test_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
