"""The ``kstreamy`` command: a small dispatcher over sub-command modules.

Each sub-command lives in its own module exposing ``register(subparsers)``, which adds its
parser and sets ``func`` (``args -> exit code``) as a default. To add a command, write such a
module and list it in :data:`COMMAND_MODULES`; keep its top-level imports light, because
``kstreamy --help`` imports every listed module.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES: tuple[str, ...] = (
    "kstreamy.broker.cli",
    "kstreamy.describe",
    "kstreamy.runtime.reset",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="kstreamy",
        description="kstreamy: Kafka Streams, reimplemented in Python.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kstreamy`` console script and of ``python -m kstreamy``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        code: int = func(args)
    except KeyboardInterrupt:
        print("kstreamy: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
