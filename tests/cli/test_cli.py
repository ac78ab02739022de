"""The `kstreamy` command: every sub-command is registered, and `describe` prints a topology."""

import subprocess
import sys

import pytest

from kstreamy.cli import main

TARGET = "tests.cli.word_count_topology:word_count"


def test_help_lists_every_sub_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kstreamy", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("broker", "describe", "reset"):
        assert command in out


def test_describe_prints_kafka_text_with_repartition_topic(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["describe", TARGET]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Topologies:\n   Sub-topology: 0\n")
    assert "Sub-topology: 1" in out
    assert "KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition" in out


def test_describe_mermaid_draws_stores_and_topics(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["describe", "--format", "mermaid", TARGET]) == 0
    out = capsys.readouterr().out
    assert "words" in out and "counts" in out
    assert "KSTREAM-AGGREGATE-STATE-STORE-0000000003" in out


def test_describe_of_a_missing_function_fails_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["describe", "tests.cli.word_count_topology:nope"])
    assert code != 0
    assert "nope" in capsys.readouterr().err
