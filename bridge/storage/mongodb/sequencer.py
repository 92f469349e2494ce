"""Per-queue markers that become visible in increasing order, without
multi-document transactions (so a standalone mongod works).

Protocol
--------
Each queue document holds two counters: ``next``, the last marker handed
out, and ``seq``, the last marker *committed*. Readers only ever see
messages whose marker is ``<= seq``; ``seq`` is the single-document commit
point of every write.

A writer of ``n`` messages:

1. **reserves** markers ``r+1 .. r+n`` with one atomic ``$inc`` of
   ``next`` (``find_one_and_update``, which also creates a missing queue);
2. **inserts** its documents with those markers (invisible: ``k > seq``);
3. **commits** with a compare-and-set ``seq: r -> r+n``. That succeeds
   only once every earlier range has been committed, so the writer polls
   until ``seq == r`` (a predecessor still inserting) and then sets it.

Why a reader never skips a message: a reader first reads ``seq = S`` and
then queries markers ``<= S``. Every marker ``<= S`` was reserved by a
writer that inserted its documents *before* ``seq`` reached its range (step
3 after step 2), or was settled by a recovery (below) that first made
further inserts there impossible. Markers are never handed out twice
(``next`` only grows; a queue created again gets a new ``_id``, and
messages are keyed by that incarnation). Hence the set of messages with a
marker ``<= S`` is final once ``seq = S`` is visible, except for deletions
and expiry; any message that appears later has a marker above ``S``, above
the last marker the reader was given. A batch is all or nothing because
its documents become visible together, by one update of ``seq``.

Stall recovery
--------------
A writer that dies (or hangs) between steps 1 and 3 would stop ``seq``
forever. A waiting writer that sees ``seq`` (and any recovery lock) unchanged
for ``stall_seconds`` recovers the range ``(seq, its own r]``:

a. takes a lock on the queue document (``lk: {tok, to}``, compare-and-set
   on ``seq``), so the stalled writers' commits cannot succeed;
b. inserts a **tombstone** (``ex = 0``, never visible) at every marker of
   the range that is still free. The unique ``(qi, k)`` index now refuses
   every later insert there, so the range's contents are final;
c. deletes the posted (not moved) documents in the range, so no partial
   batch ever becomes visible;
d. sets ``seq`` to the end of the range and drops the lock.

The steps are idempotent: if the recovering process dies, another waiter
finds the lock unchanged for ``stall_seconds`` and completes it (the lock
names its target). A live but slow writer of an aborted range finds its
insert refused (duplicate key) or its commit impossible (``seq`` moved past
its range); it deletes what it inserted and retries with a new range.
Documents *moved* into the range by a dead-letter move are kept: each is a
whole unit, and it was in place before the tombstones were written.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import bson
from oslo_log import log
from pymongo import ReturnDocument
from pymongo import errors as mongo_errors

from bridge.storage import errors
from bridge.storage.mongodb import connection
from bridge.storage.mongodb import documents as docs
from bridge.storage.mongodb.connection import Collections

LOG = log.getLogger(__name__)

#: How long a tombstone keeps blocking inserts at its marker. Far longer
#: than any client-side operation timeout, after which a slow writer's
#: insert can no longer arrive.
TOMBSTONE_SECONDS = 24 * 3600
_RESERVE_ATTEMPTS = 5
_POLL_MIN = 0.002
_POLL_MAX = 0.05


def create_queue_doc(queues: Any, project: str, queue: str,
                     metadata: Any, now: float) -> bool:
    """Insert a queue document; False if the queue already exists."""
    try:
        queues.insert_one({'p': project, 'n': queue,
                           'm': docs.dump_json(metadata), 'next': 0,
                           'seq': 0, 'cr': now})
    except mongo_errors.DuplicateKeyError:
        return False
    return True


class Sequencer:
    def __init__(self, cols: Collections, stall_seconds: float) -> None:
        self._cols = cols
        self._stall = stall_seconds

    # -- writers -------------------------------------------------------------

    def reserve(self, project: str, queue: str, count: int,
                now: float) -> tuple[bson.ObjectId, int]:
        """Reserve ``count`` markers in the queue (created if missing);
        return the queue incarnation and ``r``: the markers are
        ``r+1 .. r+count``."""
        queues = self._cols.queues
        for _ in range(_RESERVE_ATTEMPTS):
            doc = queues.find_one_and_update(
                {'p': project, 'n': queue}, {'$inc': {'next': count}},
                projection={'next': 1}, return_document=ReturnDocument.AFTER)
            if doc is not None:
                return doc['_id'], doc['next'] - count
            # The queue is missing: create it, then reserve again. (Not an
            # upsert: with racing upserts SecantusDB 0.7, the test server,
            # can apply the $inc yet return None, losing the markers.)
            create_queue_doc(queues, project, queue, {}, now)
        raise errors.Unavailable('MongoDB: could not reserve markers in '
                                 'queue %r' % queue)

    def insert(self, qi: bson.ObjectId, first: int,
               message_docs: Sequence[dict[str, Any]]) -> bool:
        """Insert the documents at markers ``first+1, first+2, ...``.
        False (and nothing left behind) if a recovery tombstoned part of
        the range first."""
        for i, doc in enumerate(message_docs):
            doc['qi'] = qi
            doc['k'] = first + 1 + i
        try:
            self._cols.messages.insert_many(message_docs, ordered=True)
        except mongo_errors.BulkWriteError as exc:
            connection.duplicate_key_indexes(exc)
            self.discard(qi, [d['_id'] for d in message_docs])
            return False
        return True

    def discard(self, qi: bson.ObjectId, ids: Sequence[str]) -> None:
        """Delete a writer's uncommitted documents."""
        self._cols.messages.delete_many({'_id': {'$in': list(ids)},
                                         'qi': qi})

    def commit(self, qi: bson.ObjectId, start: int, end: int) -> bool:
        """Advance ``seq`` from ``start`` to ``end`` once every earlier
        range is settled. False if this range was abandoned instead: a
        recovery moved ``seq`` past it or the queue was deleted."""
        queues = self._cols.queues
        delay = _POLL_MIN
        observed: tuple[int, Any] | None = None
        since = time.monotonic()
        while True:
            res = queues.update_one({'_id': qi, 'seq': start, 'lk': None},
                                    {'$set': {'seq': end}})
            if res.matched_count:
                return True
            doc = queues.find_one({'_id': qi}, {'seq': 1, 'lk': 1})
            if doc is None or doc['seq'] > start:
                return False
            lock = doc.get('lk')
            state = (doc['seq'], lock and lock.get('tok'))
            if state != observed:
                observed, since = state, time.monotonic()
            elif time.monotonic() - since > self._stall:
                self._recover(qi, doc['seq'], lock, start)
                observed = None
                continue
            time.sleep(delay)
            delay = min(delay * 2, _POLL_MAX)

    # -- recovery ------------------------------------------------------------

    def _recover(self, qi: bson.ObjectId, seq: int, lock: Any,
                 own_start: int) -> None:
        """Settle the stalled markers ``(seq, target]`` (see the module
        docstring); a no-op if another process moved first."""
        queues = self._cols.queues
        tok = docs.new_id()
        if lock is None:
            target = own_start
            if target <= seq:
                return
            res = queues.update_one(
                {'_id': qi, 'seq': seq, 'lk': None},
                {'$set': {'lk': {'tok': tok, 'to': target}}})
        else:
            target = lock['to']
            res = queues.update_one(
                {'_id': qi, 'seq': seq, 'lk.tok': lock['tok']},
                {'$set': {'lk.tok': tok}})
        if not res.matched_count:
            return
        LOG.warning('Queue incarnation %s: markers %d..%d were reserved but '
                    'not committed for %.0f s; abandoning them.',
                    qi, seq + 1, target, self._stall)
        self._tombstone(qi, seq + 1, target)
        self._cols.messages.delete_many(
            {'qi': qi, 'k': {'$gt': seq, '$lte': target},
             'tomb': {'$exists': False}, 'mv': {'$exists': False}})
        queues.update_one({'_id': qi, 'seq': seq, 'lk.tok': tok},
                          {'$set': {'seq': target}, '$unset': {'lk': ''}})

    def _tombstone(self, qi: bson.ObjectId, low: int, high: int) -> None:
        expires = docs.as_datetime(time.time() + TOMBSTONE_SECONDS)
        for chunk_low in range(low, high + 1, 1000):
            chunk = [{'_id': '~%s:%d' % (qi, k), 'qi': qi, 'k': k,
                      'tomb': True, 'ex': 0.0, 'e': expires}
                     for k in range(chunk_low, min(chunk_low + 1000,
                                                   high + 1))]
            try:
                self._cols.messages.insert_many(chunk, ordered=False)
            except mongo_errors.BulkWriteError as exc:
                # Markers already taken (by a writer or an earlier
                # attempt) need no tombstone.
                connection.duplicate_key_indexes(exc)
