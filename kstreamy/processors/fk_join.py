"""Foreign-key table-table join processors (Kafka's KIP-213 design, simplified).

Flow: the left ("this") table sends a subscription, keyed by the foreign key, through the
`...-subscription-registration-topic` to the right table's task; that task keeps the
subscriptions in a store and answers (now, and on every later update of the right row) through
the `...-subscription-response-topic`, keyed by the left key, with the right value and a hash of
the left value it answers for. The left task joins the response with the current left value,
dropping stale responses (hash mismatch). When a left row's foreign key changes, it unsubscribes
from the old foreign key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from kstreamy.processor import Processor, ProcessorContext, Record
from kstreamy.processors.joins import GetterFactory
from kstreamy.processors.table import Change

AnyProcessor = Processor[Any, Any, Any, Any]

NO_FOREIGN_KEY = "N"  # answer "no match" at once (left join without a foreign key)
SUBSCRIBE = "S"  # answer now, with null if there is no right row
SUBSCRIBE_IF_MATCH = "M"  # answer now only if the right row exists
UNSUBSCRIBE = "U"  # forget the subscription, no answer
UNSUBSCRIBE_PROPAGATE = "D"  # forget it and answer "no match" (retracts an inner join result)


def value_hash(value: Any) -> bytes | None:
    """A stable digest of a left value, to recognise responses to an outdated left row."""
    if value is None:
        return None
    return hashlib.blake2b(repr(value).encode(), digest_size=8).digest()


class SubscriptionSend(AnyProcessor):
    """On the left table: (un)subscribe by foreign key; answer directly when there is none.

    Kafka's instructions: a left join always gets an answer (null when there is no right row).
    An inner join answers a new row, or an update keeping its foreign key, only if the right row
    exists; a changed foreign key always gets an answer (replacing or retracting the result);
    a deleted row, or one losing its foreign key, retracts its result."""

    def __init__(self, foreign_key: Callable[[Any], Any], left: bool) -> None:
        self.foreign_key = foreign_key
        self.left = left

    def process(self, record: Record[Any, Any]) -> None:
        if record.key is None:
            return
        change: Change = record.value
        new_fk = self.foreign_key(change.new) if change.new is not None else None
        old_fk = self.foreign_key(change.old) if change.old is not None else None
        fwd = self.context.forward
        key, ts, headers = record.key, record.timestamp, record.headers
        digest = value_hash(change.new)
        reg = None
        moved = old_fk is not None and old_fk != new_fk
        if self.left:
            if moved:
                fwd(Record(old_fk, [UNSUBSCRIBE, key, None], ts, headers), reg)
            if new_fk is not None:
                fwd(Record(new_fk, [SUBSCRIBE, key, digest], ts, headers), reg)
            elif change.new is not None or change.old is not None:
                # no foreign key, or deleted: "no match" (sent with a null key; answered as is)
                fwd(Record(None, [NO_FOREIGN_KEY, key, digest], ts, headers), reg)
            return
        if change.old is None:
            if new_fk is not None:  # a new row: a result only if the right row exists
                fwd(Record(new_fk, [SUBSCRIBE_IF_MATCH, key, digest], ts, headers), reg)
        elif new_fk is None:  # deleted, or no foreign key any more: retract the result
            if old_fk is not None:
                fwd(Record(old_fk, [UNSUBSCRIBE_PROPAGATE, key, digest], ts, headers), reg)
        elif moved:  # a new foreign key: replace the result, or retract it if no match
            fwd(Record(old_fk, [UNSUBSCRIBE, key, None], ts, headers), reg)
            fwd(Record(new_fk, [SUBSCRIBE, key, digest], ts, headers), reg)
        else:  # same foreign key: a new result only if the right row exists
            fwd(Record(new_fk, [SUBSCRIBE_IF_MATCH, key, digest], ts, headers), reg)


class SubscriptionReceive(AnyProcessor):
    """On the right table's task: keep the subscriptions of each foreign key in a store."""

    def __init__(self, store: str) -> None:
        self.store_name = store

    def init(self, context: ProcessorContext) -> None:
        self.context = context
        self.store: Any = context.get_state_store(self.store_name)

    def process(self, record: Record[Any, Any]) -> None:
        op, pk, digest = record.value
        if record.key is not None:
            subs = {p: h for p, h in self.store.get(record.key) or []}
            if op in (UNSUBSCRIBE, UNSUBSCRIBE_PROPAGATE):
                subs.pop(pk, None)
            else:
                subs[pk] = digest
            self.store.put(record.key, [[p, h] for p, h in subs.items()] or None)
        self.context.forward(record)


class SubscriptionJoin(AnyProcessor):
    """On the right table's task: answer a (un)subscription with the right row, as asked."""

    def __init__(self, getter: GetterFactory) -> None:
        self.getter_factory = getter

    def init(self, context: ProcessorContext) -> None:
        self.context = context
        self.get = self.getter_factory(context)

    def process(self, record: Record[Any, Any]) -> None:
        op, pk, digest = record.value
        ts = record.timestamp
        if op == UNSUBSCRIBE:
            return
        vt = self.get(record.key) if record.key is not None else None
        if vt is None and op == SUBSCRIBE_IF_MATCH:
            return
        value = None
        if vt is not None:  # the answer carries the max of both rows' timestamps
            ts = max(ts, vt[1])
            if op != UNSUBSCRIBE_PROPAGATE:
                value = vt[0]
        self.context.forward(Record(pk, [digest, value], ts, record.headers))


class ForeignTableUpdate(AnyProcessor):
    """On the right table: every update is sent to every left row subscribed to its key."""

    def __init__(self, store: str) -> None:
        self.store_name = store

    def init(self, context: ProcessorContext) -> None:
        self.context = context
        self.store: Any = context.get_state_store(self.store_name)

    def process(self, record: Record[Any, Any]) -> None:
        if record.key is None:
            return
        new = record.value.new
        for pk, digest in sorted(self.store.get(record.key) or [], key=_sort_key):
            self.context.forward(Record(pk, [digest, new], record.timestamp, record.headers))


def _sort_key(entry: list[Any]) -> tuple[str, Any]:
    """Subscribers in key order, as Kafka's prefix scan over (foreign key, key) returns them."""
    pk = entry[0]
    return (type(pk).__name__, pk)


class ResponseJoin(AnyProcessor):
    """On the left table's task: join a response with the current left value (if still current)."""

    def __init__(
        self, getter: GetterFactory, joiner: Callable[[Any, Any], Any], left: bool
    ) -> None:
        self.getter_factory = getter
        self.joiner = joiner
        self.left = left

    def init(self, context: ProcessorContext) -> None:
        self.context = context
        self.get = self.getter_factory(context)

    def process(self, record: Record[Any, Any]) -> None:
        digest, right = record.value
        vt = self.get(record.key)
        current = vt[0] if vt is not None else None
        if value_hash(current) != digest:
            return  # a response to an older version of the left row
        if current is None or (right is None and not self.left):
            result = None
        else:
            result = self.joiner(current, right)
        # timestamp: the right row's update, or max(left, right) for a subscription's answer
        self.context.forward(record.with_value(Change(result, None)))
