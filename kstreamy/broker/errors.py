"""The one error type of the dev broker, carrying a user-facing paragraph."""

from __future__ import annotations

ALTERNATIVES = (
    "Alternatives: set KSTREAMY_BOOTSTRAP=host:port to use an existing Kafka cluster instead "
    "(the tests, the demo and the benchmarks then start no broker of their own), or, where a "
    "Docker engine runs, let the test fixtures start Kafka through testcontainers."
)


class BrokerError(Exception):
    """A dev-broker failure explained for a human: what went wrong and what to do.

    The CLI prints the message as one paragraph (plus an optional log tail) and exits
    non-zero; it never shows a traceback for this error.
    """

    def __init__(self, message: str, *, log_tail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.log_tail = log_tail

    def __str__(self) -> str:
        if self.log_tail:
            return f"{self.message}\n--- last lines of the broker log ---\n{self.log_tail}"
        return self.message


def with_alternatives(message: str) -> str:
    """Append the standard alternatives (existing cluster, testcontainers) to ``message``."""
    return f"{message} {ALTERNATIVES}"
