"""Messages in MongoDB: posts, reads, deletes, trims, purges and queue
stats, over the ``messages`` collection.

Posts go through :mod:`.sequencer` (ordering without skips, all or
nothing) and :mod:`.dedup` (idempotent posts). Bulk deletes are all or
nothing: the messages are first locked (like a claim, see :mod:`.claims`,
so no claimer can take them), then checked, then deleted. A message held
by one of the caller's claims that expires during the call and is claimed
by someone else at once is the only one left in place.

Methods raise pymongo's errors; :class:`~.storage.MongoStorage` turns
connection failures into :class:`~bridge.storage.errors.Unavailable`.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from pymongo import errors as mongo_errors

from bridge.storage import errors
from bridge.storage.models import Message, MessagePage, NewMessage, QueueStats
from bridge.storage.mongodb import documents as docs
from bridge.storage.mongodb.claims import Claims
from bridge.storage.mongodb.connection import Collections
from bridge.storage.mongodb.dedup import DedupKeys, Taken
from bridge.storage.mongodb.quotas import Quotas
from bridge.storage.mongodb.sequencer import Sequencer

_POST_ATTEMPTS = 5


class Messages:
    """The message operations of :class:`~.storage.MongoStorage`."""

    def __init__(self, cols: Collections, sequencer: Sequencer,
                 dedup: DedupKeys, claims: Claims, quotas: Quotas) -> None:
        self._cols = cols
        self._quotas = quotas
        self._seq = sequencer
        self._dedup = dedup
        self._claims = claims

    def _queue(self, project: str, name: str) -> dict[str, Any] | None:
        return self._cols.queues.find_one({'p': project, 'n': name})

    def post(self, project: str, queue: str, messages: Sequence[NewMessage],
             client_id: str | None = None,
             max_messages: int | None = None) -> list[str]:
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
            self._publish(project, queue, to_store, taken, now,
                          max_messages)
        else:
            # Everything was a duplicate; the queue still exists after a
            # post.
            self._seq.reserve(project, queue, 0, now)
        if taken is not None:
            self._dedup.confirm(taken)
        return result

    def _publish(self, project: str, queue: str,
                 to_store: list[dict[str, Any]], taken: Taken | None,
                 now: float, max_messages: int | None = None) -> None:
        """Reserve, insert and commit ``to_store`` (sequencer.py), trying
        again with fresh markers when a recovery abandoned a range.

        With ``max_messages``, the queue is counted after the insert,
        writes in flight included: if over, the documents are withdrawn and
        the (empty) range committed, so readers are not held up, and
        QuotaExceeded raised. Two writers near the limit may both withdraw;
        neither can take the queue past it."""
        ids = [d['_id'] for d in to_store]
        maybe_committed = False
        try:
            for _ in range(_POST_ATTEMPTS):
                qi, first = self._seq.reserve(project, queue,
                                              len(to_store), now)
                if not self._seq.insert(qi, first, to_store):
                    continue
                if (max_messages is not None
                        and self._quotas.over_messages(qi, max_messages,
                                                       now)):
                    self._seq.discard(qi, ids)
                    self._seq.commit(qi, first, first + len(to_store))
                    raise errors.QuotaExceeded('messages in queue',
                                               max_messages)
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

    def delete(self, project: str, queue: str, message_id: str,
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

    def delete_many(self, project: str, queue: str, ids: Sequence[str],
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

    def trim(self, project: str, queue: str, max_depth: int) -> int:
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

    def purge(self, project: str, queue: str) -> None:
        qdoc = self._queue(project, queue)
        if qdoc is None:
            return
        # Markers above seq belong to posts still in flight: they commit
        # after the purge, as posts made after it.
        self._cols.messages.delete_many(
            {'qi': qdoc['_id'], 'k': {'$lte': qdoc['seq']},
             'tomb': {'$exists': False}})
        self._cols.claims.delete_many({'p': project, 'q': queue})

    def list_(self, project: str, queue: str, *,
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

    def get(self, project: str, queue: str,
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

    def stats(self, project: str, name: str) -> QueueStats:
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
