"""The MongoDB driver: :class:`MongoStorage`.

It needs no multi-document transactions, so a standalone mongod, a replica
set and MongoDB-wire servers all work; the guarantees of
:mod:`bridge.storage.base` rest on single-document atomicity and unique
indexes instead:

* ordering without skips and all-or-nothing posts: :mod:`.sequencer`;
* exactly one claimer: :mod:`.claims`;
* idempotent posts: :mod:`.dedup`;
* all-or-nothing bulk deletes: the messages are first locked (like a
  claim, so no claimer can take them), then checked, then deleted. A
  message held by one of the caller's claims that expires during the call
  and is claimed by someone else at once is the only one left in place.

Write concern, journaling, retryable writes and timeouts come from the
[storage] options; connection failures and timeouts raise
:class:`~bridge.storage.errors.Unavailable`.
"""

from __future__ import annotations

import re
import time
from typing import Any, Sequence

from pymongo import errors as mongo_errors

from bridge.storage import base
from bridge.storage import errors
from bridge.storage.base import Claim, Message, MessagePage, NewMessage
from bridge.storage.base import QueueStats
from bridge.storage.mongodb import connection
from bridge.storage.mongodb import documents as docs
from bridge.storage.mongodb.claims import Claims
from bridge.storage.mongodb.connection import unavailable_on_failure
from bridge.storage.mongodb.dedup import DedupKeys, Taken
from bridge.storage.mongodb.sequencer import Sequencer, create_queue_doc
from bridge.storage.mongodb.subscriptions import Subscriptions

_POST_ATTEMPTS = 5


class MongoStorage(base.Storage):
    """Queues, messages and claims in one MongoDB database (the URL's,
    else [storage] mongodb_database)."""

    def __init__(self, url: str, opts: Any) -> None:
        self._client, self._db = connection.open_client(url, opts)
        self._cols = connection.Collections.of(self._db)
        # A writer that makes no progress for this long is presumed dead
        # (several operation timeouts; only crash recovery waits on it).
        stall = 3.0 * opts.mongodb_timeout
        self._seq = Sequencer(self._cols, stall_seconds=stall)
        self._dedup = DedupKeys(self._cols,
                                window=lambda: float(self.dedup_window),
                                stale_seconds=2 * stall)
        self._claims = Claims(self._cols, self._seq, lock_seconds=stall)
        self._subs = Subscriptions(self._db['subscriptions'],
                                   self._cols.queues)

    # -- lifecycle -----------------------------------------------------------

    @unavailable_on_failure
    def ensure_schema(self) -> None:
        connection.ensure_indexes(self._cols)
        self._subs.ensure_indexes()

    @unavailable_on_failure
    def health(self) -> None:
        self._db.command('ping')

    def close(self) -> None:
        self._client.close()

    @unavailable_on_failure
    def sweep(self, now: float | None = None) -> int:
        when = docs.as_datetime(time.time() if now is None else now)
        messages = self._cols.messages
        removed = messages.delete_many({'e': {'$lte': when},
                                        'tomb': {'$exists': False}})
        messages.delete_many({'e': {'$lte': when}, 'tomb': True})
        self._cols.dedup.delete_many({'e': {'$lte': when}})
        self._cols.claims.delete_many({'e': {'$lte': when}})
        return removed.deleted_count

    # -- queues --------------------------------------------------------------

    def _queue(self, project: str, name: str) -> dict[str, Any] | None:
        return self._cols.queues.find_one({'p': project, 'n': name})

    @unavailable_on_failure
    def create_queue(self, project: str, name: str,
                     metadata: dict[str, Any]) -> bool:
        return create_queue_doc(self._cols.queues, project, name, metadata,
                                time.time())

    @unavailable_on_failure
    def get_queue(self, project: str, name: str) -> dict[str, Any]:
        doc = self._cols.queues.find_one({'p': project, 'n': name}, {'m': 1})
        if doc is None:
            raise errors.QueueNotFound(name)
        return docs.load_json(doc.get('m'), {})

    @unavailable_on_failure
    def set_queue_metadata(self, project: str, name: str,
                           metadata: dict[str, Any]) -> None:
        res = self._cols.queues.update_one(
            {'p': project, 'n': name},
            {'$set': {'m': docs.dump_json(metadata)}})
        if not res.matched_count:
            raise errors.QueueNotFound(name)

    @staticmethod
    def _queue_filter(project: str, name: str | None) -> dict[str, Any]:
        flt: dict[str, Any] = {'p': project}
        if name:
            flt['n'] = {'$regex': re.escape(name)}
        return flt

    @unavailable_on_failure
    def list_queues(self, project: str, *, marker: str | None = None,
                    limit: int = 10, name: str | None = None
                    ) -> list[tuple[str, dict[str, Any]]]:
        if limit <= 0:
            return []
        flt = self._queue_filter(project, name)
        if marker is not None:
            flt.setdefault('n', {})
            if isinstance(flt['n'], dict):
                flt['n']['$gt'] = marker
        found = self._cols.queues.find(flt, {'n': 1, 'm': 1}) \
            .sort('n', 1).limit(min(limit, docs.MAX_LIMIT))
        return [(d['n'], docs.load_json(d.get('m'), {})) for d in found]

    @unavailable_on_failure
    def count_queues(self, project: str, name: str | None = None) -> int:
        return self._cols.queues.count_documents(
            self._queue_filter(project, name))

    @unavailable_on_failure
    def delete_queue(self, project: str, name: str) -> None:
        # Dedup keys are kept: they are remembered for dedup_window
        # whatever happens to the messages and their queue.
        doc = self._cols.queues.find_one_and_delete(
            {'p': project, 'n': name}, projection={'_id': 1})
        if doc is not None:
            self._cols.messages.delete_many({'qi': doc['_id']})
        self._cols.claims.delete_many({'p': project, 'q': name})
        # After the queue document: see subscriptions.py, "Cursor start".
        self._subs.delete_of_queue(project, name)

    @unavailable_on_failure
    def queue_stats(self, project: str, name: str) -> QueueStats:
        qdoc = self._queue(project, name)
        if qdoc is None:
            return QueueStats(free=0, claimed=0, delayed=0, oldest=None,
                              newest=None)
        now = time.time()
        rows = list(self._cols.messages.aggregate(
            docs.stats_pipeline(qdoc['_id'], qdoc['seq'], now)))
        if not rows:
            return QueueStats(free=0, claimed=0, delayed=0, oldest=None,
                              newest=None)
        row = rows[0]
        ends: dict[int, Message] = {}
        if row.get('lo') is not None:
            for d in self._cols.messages.find(
                    {'qi': qdoc['_id'], 'k': {'$in': [row['lo'], row['hi']]}}):
                ends[d['k']] = docs.to_message(d, now)
        return QueueStats(free=row['free'], claimed=row['claimed'],
                          delayed=row['delayed'],
                          oldest=ends.get(row.get('lo')),
                          newest=ends.get(row.get('hi')))

    # -- messages: writes ----------------------------------------------------

    @unavailable_on_failure
    def post_messages(self, project: str, queue: str,
                      messages: Sequence[NewMessage],
                      client_id: str | None = None) -> list[str]:
        if not messages:
            return []
        now = time.time()
        ids = [docs.new_id() for _ in messages]
        first_of_key: dict[str, int] = {}
        for i, msg in enumerate(messages):
            if msg.dedup_key is not None:
                first_of_key.setdefault(msg.dedup_key, i)
        taken = None
        if first_of_key:
            taken = self._dedup.take(
                project, queue,
                {key: ids[i] for key, i in first_of_key.items()})
        result, to_store = [], []
        for i, msg in enumerate(messages):
            key = msg.dedup_key
            if key is not None and taken and key in taken.existing:
                result.append(taken.existing[key])
            elif key is not None and first_of_key[key] != i:
                result.append(ids[first_of_key[key]])
            else:
                result.append(ids[i])
                to_store.append(docs.message_doc(
                    message_id=ids[i], project=project, queue=queue,
                    body=msg.body, ttl=msg.ttl, delay=msg.delay,
                    client_id=client_id, now=now))
        if to_store:
            self._publish(project, queue, to_store, taken, now)
        else:
            # Everything was a duplicate; the queue still exists after a
            # post.
            self._seq.reserve(project, queue, 0, now)
        if taken is not None:
            self._dedup.confirm(taken)
        return result

    def _publish(self, project: str, queue: str,
                 to_store: list[dict[str, Any]], taken: Taken | None,
                 now: float) -> None:
        """Reserve, insert and commit ``to_store`` (sequencer.py), trying
        again with fresh markers when a recovery abandoned a range."""
        ids = [d['_id'] for d in to_store]
        maybe_committed = False
        try:
            for _ in range(_POST_ATTEMPTS):
                qi, first = self._seq.reserve(project, queue,
                                              len(to_store), now)
                if not self._seq.insert(qi, first, to_store):
                    continue
                maybe_committed = True
                if self._seq.commit(qi, first, first + len(to_store)):
                    return
                maybe_committed = False
                self._seq.discard(qi, ids)
            raise errors.Unavailable('MongoDB: could not commit a post to '
                                     'queue %r' % queue)
        except BaseException:
            if taken is not None and not maybe_committed:
                try:
                    self._dedup.release(taken)
                except mongo_errors.PyMongoError:
                    pass  # the keys go stale and are taken over later
            raise

    @unavailable_on_failure
    def delete_message(self, project: str, queue: str, message_id: str,
                       claim_id: str | None = None) -> None:
        now = time.time()
        messages = self._cols.messages
        where = {'_id': message_id, 'p': project, 'q': queue}
        if claim_id is None:
            res = messages.delete_one(dict(where, ce={'$lte': now}))
        else:
            res = messages.delete_one(dict(where, c=claim_id,
                                           ce={'$gt': now},
                                           ex={'$gt': now}))
        if res.deleted_count:
            return
        doc = messages.find_one(where, {'ce': 1, 'ex': 1})
        if doc is None or doc['ex'] <= now:
            return
        if claim_id is not None:
            raise errors.ClaimMismatch(message_id)
        if doc['ce'] > now:
            raise errors.MessageIsClaimed(message_id)
        # Released between our two reads: try again.
        messages.delete_one(dict(where, ce={'$lte': now}))

    @unavailable_on_failure
    def delete_messages(self, project: str, queue: str,
                        ids: Sequence[str],
                        claim_ids: Sequence[str] = ()) -> None:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return
        messages = self._cols.messages
        now = time.time()
        where = {'_id': {'$in': ids}, 'p': project, 'q': queue}
        lock = docs.new_id()
        locked = messages.update_many(
            dict(where, ce={'$lte': now}),
            {'$set': {'c': lock, 'ce': now + self._claims.lock_seconds}})
        allowed = list(claim_ids) + [lock]
        if locked.matched_count < len(ids):
            blocked = messages.count_documents(
                dict(where, ex={'$gt': now}, ce={'$gt': now},
                     c={'$nin': allowed}), limit=1)
            if blocked:
                self._claims.unmark(lock)
                raise errors.MessageIsClaimed(
                    'a message is held by another claim')
        messages.delete_many(dict(where, c={'$in': allowed}))

    @unavailable_on_failure
    def pop_messages(self, project: str, queue: str,
                     limit: int) -> list[Message]:
        return self._claims.pop(project, queue, min(limit, docs.MAX_LIMIT))

    @unavailable_on_failure
    def trim_queue(self, project: str, queue: str, max_depth: int) -> int:
        qdoc = self._queue(project, queue)
        if qdoc is None:
            return 0
        now = time.time()
        live = docs.committed(qdoc['_id'], qdoc['seq'], now)
        excess = self._cols.messages.count_documents(live) - max(0, max_depth)
        if excess <= 0:
            return 0
        oldest = [d['_id'] for d in self._cols.messages.find(
            live, {'_id': 1}).sort('k', 1).limit(min(excess, docs.MAX_LIMIT))]
        # Concurrent trims pick the same oldest ids, so they never evict
        # more than the excess between them.
        return self._cols.messages.delete_many(
            {'_id': {'$in': oldest}, 'qi': qdoc['_id']}).deleted_count

    @unavailable_on_failure
    def purge_queue(self, project: str, queue: str) -> None:
        qdoc = self._queue(project, queue)
        if qdoc is None:
            return
        # Markers above seq belong to posts still in flight: they commit
        # after the purge, as posts made after it.
        self._cols.messages.delete_many(
            {'qi': qdoc['_id'], 'k': {'$lte': qdoc['seq']},
             'tomb': {'$exists': False}})
        self._cols.claims.delete_many({'p': project, 'q': queue})

    # -- messages: reads -----------------------------------------------------

    @unavailable_on_failure
    def list_messages(self, project: str, queue: str, *,
                      marker: str | None = None, limit: int = 10,
                      client_id: str | None = None, echo: bool = False,
                      include_claimed: bool = False,
                      include_delayed: bool = False) -> MessagePage:
        qdoc = self._queue(project, queue)
        if qdoc is None or limit <= 0:
            return MessagePage(messages=[], next_marker=None)
        now = time.time()
        flt = docs.committed(qdoc['_id'], qdoc['seq'], now)
        after = docs.parse_marker(marker)
        if after is not None:
            flt['k']['$gt'] = after
        if not include_delayed:
            flt['d'] = {'$lte': now}
        if not include_claimed:
            flt['ce'] = {'$lte': now}
        if not echo and client_id is not None:
            flt['u'] = {'$ne': client_id}
        found = [docs.to_message(d, now) for d in
                 self._cols.messages.find(flt).sort('k', 1).limit(
                     min(limit, docs.MAX_LIMIT))]
        return MessagePage(
            messages=found,
            next_marker=str(found[-1].marker) if found else None)

    @unavailable_on_failure
    def get_messages(self, project: str, queue: str,
                     ids: Sequence[str]) -> list[Message]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        now = time.time()
        found = {d['_id']: docs.to_message(d, now)
                 for d in self._cols.messages.find(
                     {'_id': {'$in': ids}, 'p': project, 'q': queue,
                      'ex': {'$gt': now}})}
        return [found[i] for i in ids if i in found]

    # -- subscriptions -------------------------------------------------------

    @unavailable_on_failure
    def create_subscription(self, project: str, queue: str, subscriber: str,
                            *, ttl: int, options: dict[str, Any],
                            secret: str, confirmed: bool
                            ) -> base.Subscription:
        return self._subs.create(project, queue, subscriber, ttl=ttl,
                                 options=options, secret=secret,
                                 confirmed=confirmed, now=time.time())

    @unavailable_on_failure
    def get_subscription(self, project: str, queue: str,
                         subscription_id: str) -> base.Subscription:
        return self._subs.get(project, queue, subscription_id, time.time())

    @unavailable_on_failure
    def list_subscriptions(self, project: str, queue: str, *,
                           marker: str | None = None, limit: int = 10
                           ) -> list[base.Subscription]:
        return self._subs.list_(project, queue, marker, limit, time.time())

    @unavailable_on_failure
    def update_subscription(self, project: str, queue: str,
                            subscription_id: str, *,
                            subscriber: str | None = None,
                            ttl: int | None = None,
                            options: dict[str, Any] | None = None,
                            confirmed: bool | None = None
                            ) -> base.Subscription:
        return self._subs.update(project, queue, subscription_id,
                                 subscriber=subscriber, ttl=ttl,
                                 options=options, confirmed=confirmed,
                                 now=time.time())

    @unavailable_on_failure
    def delete_subscription(self, project: str, queue: str,
                            subscription_id: str) -> None:
        self._subs.delete(project, queue, subscription_id)

    @unavailable_on_failure
    def lease_subscriptions(self, owner: str, *, lease_seconds: float,
                            limit: int, now: float | None = None
                            ) -> list[base.Subscription]:
        return self._subs.lease(owner, lease_seconds=lease_seconds,
                                limit=limit,
                                now=time.time() if now is None else now)

    @unavailable_on_failure
    def record_delivery(self, subscription: base.Subscription, owner: str,
                        outcome: base.DeliveryOutcome, *,
                        release: bool = False) -> bool:
        return self._subs.record(subscription.id, owner, outcome,
                                 release=release, now=time.time())

    # -- claims --------------------------------------------------------------

    @unavailable_on_failure
    def create_claim(self, project: str, queue: str, *, ttl: int,
                     grace: int, limit: int) -> Claim | None:
        if limit <= 0:
            return None
        return self._claims.create(project, queue, ttl, grace,
                                   min(limit, docs.MAX_LIMIT))

    @unavailable_on_failure
    def get_claim(self, project: str, queue: str, claim_id: str) -> Claim:
        return self._claims.get(project, queue, claim_id)

    @unavailable_on_failure
    def update_claim(self, project: str, queue: str, claim_id: str, *,
                     ttl: int, grace: int) -> None:
        self._claims.update(project, queue, claim_id, ttl, grace)

    @unavailable_on_failure
    def delete_claim(self, project: str, queue: str, claim_id: str) -> None:
        self._claims.delete(project, queue, claim_id)

