"""``make demo``: the seed's walkthrough, scripted end to end through the HTTP APIs.

``python -m apps.shopping_cart.demo [--keep-running] [--write-port 8080] [--read-port 7000]``

1. Uses ``$KSTREAMY_BOOTSTRAP`` (or ``--bootstrap``), else starts a dev broker (kstreamy.broker)
   in a fresh directory; 2. creates the topics; 3. loads the sample products; 4. starts the
   aggregator, the DB connector, the read API and the write API as subprocesses and waits for
   each one's "ready" line; 5. drives the seed's add/add/remove sequence for customer 123, then a
   clear (customer 456) and a checkout with an unknown item (customer 789), printing each read-API
   answer once it reflects the step; 6. stops everything (``--keep-running``: leaves it up for
   curl and stops on Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from apps.shopping_cart.settings import BOOTSTRAP_ENV
from apps.shopping_cart.topics import ensure_topics

SAMPLE_PRODUCTS = Path(__file__).with_name("sample_products.json")
READY_TIMEOUT_S = 90.0
VISIBLE_TIMEOUT_S = 30.0

Check = Callable[[dict[str, Any]], bool]


@dataclass
class Services:
    """The subprocesses the demo started, with their log files."""

    workdir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    broker: Any = None

    args: dict[str, list[str]] = field(default_factory=dict)
    quiet: bool = False

    def start(self, name: str, args: list[str] | None = None) -> None:
        """Start ``python -m apps.shopping_cart.<name>`` (again: with the same arguments)."""
        args = self.args.setdefault(name, args or [])
        log = (self.workdir / f"{name}.log").open("ab")
        log.write(b"--- start ---\n")
        log.flush()
        cmd = [sys.executable, "-m", f"apps.shopping_cart.{name}", *args]
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._say(f"started {name} (pid {self.procs[name].pid}), log {log.name}")

    def _say(self, text: str) -> None:
        if self.quiet:
            return
        try:
            print(text, flush=True)
        except (BrokenPipeError, ValueError):  # output closed (e.g. `| head`): keep stopping
            self.quiet = True

    def wait_ready(self, name: str) -> None:
        """Wait for the service's "ready" line in its log since its last start."""
        path = self.workdir / f"{name}.log"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            text = path.read_text(errors="replace")
            if f"{name} ready" in text[text.rfind("--- start ---") :]:
                return
            if self.procs[name].poll() is not None:
                break
            time.sleep(0.2)
        tail = "\n".join(path.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"{name} did not become ready; last log lines:\n{tail}")

    def stop_one(self, name: str) -> int:
        """SIGTERM (then, after 30 s, SIGKILL) one service; return its exit code."""
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._say(f"stopped {name} (exit code {proc.returncode})")
        return proc.returncode

    def restart(self, name: str) -> int:
        """Stop a service cleanly, start it again and wait until it is ready."""
        code = self.stop_one(name)
        self.start(name)
        self.wait_ready(name)
        return code

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop_one(name)
        if self.broker is not None:
            self.broker.stop()
            self._say("stopped the dev broker")


async def _post(session: aiohttp.ClientSession, url: str, path: str, body: dict[str, Any]) -> None:
    async with session.post(f"{url}/api/v1/{path}", json=body) as resp:
        answer = await resp.json()
        print(f"POST /api/v1/{path} {json.dumps(body)} -> {resp.status} {json.dumps(answer)}")
        if resp.status != 202:
            raise RuntimeError(f"the write API refused {path} {body}: {answer}")


async def _show(session: aiohttp.ClientSession, url: str, customer: str, check: Check) -> None:
    """Poll the read API until ``check(cart)`` holds, then print the cart."""
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    last: Any = None
    while time.monotonic() < deadline:
        async with session.get(f"{url}/api/v1/{customer}") as resp:
            last = (resp.status, await resp.json())
        if last[0] == 200 and check(last[1]):
            print(f"GET /api/v1/{customer} -> 200\n{json.dumps(last[1], indent=2)}")
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the read API did not show the expected cart of {customer}: {last}")


async def _fresh_cart(session: aiohttp.ClientSession, w: str, r: str, customer: str) -> int:
    """Empty an open cart left by an earlier run on the same broker; return its version."""
    async with session.get(f"{r}/api/v1/{customer}") as resp:
        if resp.status != 200:
            return 0
        cart = await resp.json()
    if cart["status"] == "OPEN" and cart["lines"]:
        print(f"(customer {customer} has a cart from an earlier run: clearing it first)")
        await _post(session, w, "clear", {"customerId": customer})
        await _show(session, r, customer, lambda c: c["version"] > cart["version"])
        return int(cart["version"]) + 1
    return int(cart["version"])


async def drive(write_url: str, read_url: str) -> None:
    """The scripted session; each check waits for the version the step produces."""
    w, r = write_url, read_url
    async with aiohttp.ClientSession() as s:
        print("\n== customer 123: the seed's sequence (add 1 twice, add 2 twice, remove one 2)")
        v = await _fresh_cart(s, w, r, "123")
        for item in ("1", "1", "2", "2"):
            await _post(s, w, "add", {"customerId": "123", "itemId": item, "qty": 1})
        await _show(s, r, "123", lambda c: c["version"] >= v + 4)
        await _post(s, w, "remove", {"customerId": "123", "itemId": "2", "qty": 1})
        await _show(s, r, "123", lambda c: c["version"] >= v + 5)
        await _post(s, w, "remove", {"customerId": "123", "itemId": "2", "qty": 1})
        await _show(s, r, "123", lambda c: c["version"] >= v + 6 and "2" not in c["lines"])

        print("\n== customer 456: add two items, then clear the cart")
        v = await _fresh_cart(s, w, r, "456")
        await _post(s, w, "add", {"customerId": "456", "itemId": "3", "qty": 2})
        await _post(s, w, "add", {"customerId": "456", "itemId": "4", "qty": 1})
        await _show(s, r, "456", lambda c: c["version"] >= v + 2)
        await _post(s, w, "clear", {"customerId": "456"})
        await _show(s, r, "456", lambda c: c["version"] >= v + 3 and c["lines"] == {})

        print("\n== customer 789: an unknown item is kept and flagged; checkout; next cart")
        v = await _fresh_cart(s, w, r, "789")
        await _post(s, w, "add", {"customerId": "789", "itemId": "2", "qty": 1})
        await _post(s, w, "add", {"customerId": "789", "itemId": "999", "qty": 1})
        await _post(s, w, "checkout", {"customerId": "789"})
        await _show(s, r, "789", lambda c: c["version"] >= v + 3 and c["status"] == "CHECKED_OUT")
        await _post(s, w, "add", {"customerId": "789", "itemId": "5", "qty": 3})
        await _show(s, r, "789", lambda c: c["version"] >= v + 4 and c["status"] == "OPEN")


def _bootstrap(flag: str | None, workdir: Path, services: Services, port: int) -> str:
    configured = flag or os.environ.get(BOOTSTRAP_ENV)
    if configured:
        print(f"using Kafka at {configured}")
        return configured
    from kstreamy.broker import DevBroker

    broker = DevBroker(workdir / "broker", port)
    print(f"starting a dev broker on port {port} in {broker.directory} ...")
    bootstrap: str = broker.start()
    services.broker = broker
    print(f"dev broker ready at {bootstrap}")
    return bootstrap


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.shopping_cart.demo")
    parser.add_argument("--keep-running", action="store_true", help="leave everything up")
    parser.add_argument("--bootstrap", default=None)
    parser.add_argument("--broker-port", type=int, default=9092)
    parser.add_argument("--write-port", type=int, default=8080)
    parser.add_argument("--read-port", type=int, default=7000)
    parser.add_argument("--workdir", type=Path, default=None, help="logs, state and the read DB")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="shopping-cart-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    services = Services(workdir)
    code = 0
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        bootstrap = _bootstrap(args.bootstrap, workdir, services, args.broker_port)
        created = ensure_topics(bootstrap)
        print(f"topics ready (created: {', '.join(created) or 'none'})")
        boot = ["--bootstrap", bootstrap]
        loader = [sys.executable, "-m", "apps.shopping_cart.products", "load"]
        subprocess.run([*loader, str(SAMPLE_PRODUCTS), *boot], check=True)
        db = str(workdir / "read.db")
        services.start("aggregator", [*boot, "--state-dir", str(workdir / "state")])
        services.start("read_model", [*boot, "--db", db])
        services.start("read_api", ["--port", str(args.read_port), "--db", db])
        services.start("write_api", [*boot, "--port", str(args.write_port)])
        for name in services.procs:
            services.wait_ready(name)
        write_url = f"http://127.0.0.1:{args.write_port}"
        read_url = f"http://127.0.0.1:{args.read_port}"
        asyncio.run(drive(write_url, read_url))
        print("\nthe demo ran to the end")
        if args.keep_running:
            print(
                f"\nEverything is up (logs in {workdir}). Try:\n"
                f"  curl -X POST {write_url}/api/v1/add -H 'content-type: application/json' "
                """-d '{"customerId":"123","itemId":"1","qty":1}'\n"""
                f"  curl {read_url}/api/v1/123\nPress Ctrl-C to stop."
            )
            while True:
                time.sleep(1)  # until Ctrl-C (KeyboardInterrupt) or SIGTERM (see below)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        pass
    finally:
        services.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
