"""DevBroker's Python API in the situations a busy shared machine produces."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from kstreamy.broker import DevBroker
from kstreamy.broker import config as cfg

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


def test_controller_port_taken_after_the_check_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_free_port = cfg.free_port
    with socket.socket() as squatter:
        squatter.bind((cfg.HOST, 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        # The first controller port handed out is already taken, and our check misses it
        # (as when another process binds it between the check and Kafka's own bind).
        handed_out = iter([taken])

        def free_port(host: str = cfg.HOST) -> int:
            return next(handed_out, None) or real_free_port(host)

        monkeypatch.setattr(cfg, "free_port", free_port)
        monkeypatch.setattr(cfg, "port_is_free", lambda port, host=cfg.HOST: True)
        broker = DevBroker(tmp_path / "b", real_free_port())
        try:
            broker.start(tie_to_parent=True)
            log = broker.log_file.read_text()
            assert "Address already in use" in log  # the first attempt did fail to bind
            assert (
                f"CONTROLLER://127.0.0.1:{taken}"
                not in (tmp_path / "b" / "server.properties").read_text()
            )
            assert broker.status().running
        finally:
            broker.stop()
    assert not broker.status().running
