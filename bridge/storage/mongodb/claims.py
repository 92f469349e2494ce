"""Claims, pops and dead letters.

Exactly one claimer: a claim first reads candidate ids (oldest first),
then marks them with one ``update_many`` whose filter re-checks, for each
document, that no active claim holds it (``ce <= now``). MongoDB applies
an update's filter and change atomically per document, so of several
claimers racing for a message exactly one matches it; each then reads
back the messages that carry its own claim id. A claimer that lost every
candidate to others looks again, so "none" means the queue had nothing
claimable (after ``_RACE_ATTEMPTS`` lost rounds in a row it gives up and
reports none, which only extreme contention reaches).

The claim document (``claims`` collection) is written after the messages
are marked; a process that dies in between leaves them held by a claim
nobody knows, until its ttl runs out.

Pops and bulk deletes use the same mark with an internal lock id and a
short expiry instead of a claim: a process that dies mid-way leaves the
messages locked for ``lock_seconds``, never lost.
"""

from __future__ import annotations

import random
import time
from typing import Any, Mapping

from oslo_log import log
from pymongo import UpdateOne
from pymongo import errors as mongo_errors

from bridge.storage import errors
from bridge.storage.models import Claim, Message
from bridge.storage.mongodb import connection
from bridge.storage.mongodb import documents as docs
from bridge.storage.mongodb.connection import Collections
from bridge.storage.mongodb.sequencer import Sequencer

LOG = log.getLogger(__name__)

#: Rounds a claimer retries after losing all its candidates to others.
_RACE_ATTEMPTS = 20
#: Candidates read per search, in multiples of the claim limit.
_CANDIDATE_CHUNKS = 4


class Claims:
    def __init__(self, cols: Collections, sequencer: Sequencer,
                 lock_seconds: float) -> None:
        self._cols = cols
        self._seq = sequencer
        self.lock_seconds = lock_seconds

    def _queue(self, project: str, queue: str) -> Mapping[str, Any] | None:
        return self._cols.queues.find_one({'p': project, 'n': queue},
                                          {'seq': 1, 'm': 1})

    def mark(self, qdoc: Mapping[str, Any], limit: int, mark_id: str,
             mark_until: float, claim_expiry: float | None = None,
             ) -> list[dict[str, Any]]:
        """Mark up to ``limit`` claimable messages (oldest first) with
        ``mark_id`` until ``mark_until``; return their documents, in marker
        order. With ``claim_expiry`` this is a claim: the claim count goes
        up and each message lives at least until ``claim_expiry``."""
        messages = self._cols.messages
        change: dict[str, Any] = {'$set': {'c': mark_id, 'ce': mark_until}}
        if claim_expiry is not None:
            change['$inc'] = {'cc': 1}
            change['$max'] = {'ex': claim_expiry,
                              'e': docs.as_datetime(claim_expiry)}
        for _ in range(_RACE_ATTEMPTS):
            now = time.time()
            candidates = [d['_id'] for d in messages.find(
                docs.claimable(qdoc['_id'], qdoc['seq'], now),
                {'_id': 1}).sort('k', 1).limit(
                    min(limit * _CANDIDATE_CHUNKS, docs.MAX_LIMIT))]
            if not candidates:
                return []
            # The oldest ``limit`` first; when concurrent claimers took
            # them all, the next ``limit`` (now the oldest left), and so
            # on, before searching again.
            for i in range(0, len(candidates), limit):
                res = messages.update_many(
                    {'_id': {'$in': candidates[i:i + limit]},
                     'qi': qdoc['_id'], 'ce': {'$lte': now},
                     'ex': {'$gt': now}},
                    change)
                if res.modified_count:
                    return list(messages.find(
                        {'c': mark_id, 'qi': qdoc['_id']}).sort('k', 1))
            time.sleep(random.uniform(0, 0.005))
        return []

    def unmark(self, mark_id: str, ids: list[str] | None = None) -> None:
        flt: dict[str, Any] = {'c': mark_id}
        if ids is not None:
            flt['_id'] = {'$in': ids}
        self._cols.messages.update_many(flt, {'$set': {'c': None,
                                                       'ce': 0.0}})

    # -- claims --------------------------------------------------------------

    def create(self, project: str, queue: str, ttl: int, grace: int,
               limit: int) -> Claim | None:
        qdoc = self._queue(project, queue)
        if qdoc is None:
            return None
        meta = docs.load_json(qdoc.get('m'), {})
        max_count = docs.int_meta(meta, '_max_claim_count')
        dlq = meta.get('_dead_letter_queue')
        if not (max_count is not None and isinstance(dlq, str) and dlq
                and dlq != queue):
            max_count = None
        claim_id = docs.new_id()
        while True:
            now = time.time()
            expires = now + ttl
            marked = self.mark(qdoc, limit, claim_id, expires,
                               claim_expiry=expires + grace)
            if not marked:
                return None
            if max_count is not None:
                # cc counts this claim too: "already claimed N times"
                # before it means cc > N now.
                dead = [d for d in marked if d['cc'] > max_count]
                if dead:
                    self._move_to_dead_letters(project, dlq, claim_id,
                                               dead, meta)
                    marked = [d for d in marked if d['cc'] <= max_count]
                    if not marked:
                        continue  # all were moved; claim the next ones
            self._cols.claims.insert_one(
                {'_id': claim_id, 'p': project, 'q': queue, 't': ttl,
                 'g': grace, 'u': now, 'ce': expires,
                 'e': docs.as_datetime(expires)})
            return Claim(id=claim_id, ttl=ttl, grace=grace, updated=now,
                         messages=[docs.to_message(d, now) for d in marked])

    def _move_to_dead_letters(self, project: str, dlq: str, claim_id: str,
                              dead: list[dict[str, Any]],
                              meta: Mapping[str, Any]) -> None:
        """Move messages this claim holds into queue ``dlq`` (created if
        missing), keeping their ids, at new markers of that queue. Each
        move is one atomic document update; messages whose move fails stay
        where they were and are released."""
        now = time.time()
        dlq_ttl = docs.int_meta(meta, '_dead_letter_queue_messages_ttl')
        qi, first = self._seq.reserve(project, dlq, len(dead), now)
        ops = []
        for i, doc in enumerate(dead):
            ttl = dlq_ttl if dlq_ttl is not None else doc['t']
            ops.append(UpdateOne(
                {'_id': doc['_id'], 'c': claim_id},
                {'$set': {'q': dlq, 'qi': qi, 'k': first + 1 + i, 't': ttl,
                          'cr': now, 'd': now, 'ex': now + ttl,
                          'e': docs.as_datetime(now + ttl), 'c': None,
                          'ce': 0.0, 'cc': 0, 'mv': True}}))
        failed: set[int] = set()
        try:
            self._cols.messages.bulk_write(ops, ordered=False)
        except mongo_errors.BulkWriteError as exc:
            # Markers tombstoned by a recovery of the dead letter queue.
            failed = connection.duplicate_key_indexes(exc)
        # Commit even if some moves failed: the range must not stall. A
        # False result means a recovery settled the range, keeping the
        # moved documents (see sequencer.py): the moves stand either way.
        self._seq.commit(qi, first, first + len(dead))
        if failed:
            self.unmark(claim_id, [dead[i]['_id'] for i in failed])
        LOG.info('Moved %d message(s) of project %s to dead letter queue '
                 '%s.', len(dead) - len(failed), project, dlq)

    def get(self, project: str, queue: str, claim_id: str) -> Claim:
        now = time.time()
        claim = self._cols.claims.find_one(
            {'_id': claim_id, 'p': project, 'q': queue, 'ce': {'$gt': now}})
        if claim is None:
            raise errors.ClaimNotFound(claim_id)
        held = self._cols.messages.find(
            {'c': claim_id, 'p': project, 'q': queue, 'ce': {'$gt': now},
             'ex': {'$gt': now}}).sort('k', 1)
        return Claim(id=claim_id, ttl=claim['t'], grace=claim['g'],
                     updated=claim['u'],
                     messages=[docs.to_message(d, now) for d in held])

    def update(self, project: str, queue: str, claim_id: str, ttl: int,
               grace: int) -> None:
        now = time.time()
        expires = now + ttl
        res = self._cols.claims.update_one(
            {'_id': claim_id, 'p': project, 'q': queue, 'ce': {'$gt': now}},
            {'$set': {'t': ttl, 'g': grace, 'u': now, 'ce': expires,
                      'e': docs.as_datetime(expires)}})
        if not res.matched_count:
            raise errors.ClaimNotFound(claim_id)
        self._cols.messages.update_many(
            {'c': claim_id, 'p': project, 'q': queue, 'ce': {'$gt': now}},
            {'$set': {'ce': expires},
             '$max': {'ex': expires + grace,
                      'e': docs.as_datetime(expires + grace)}})

    def delete(self, project: str, queue: str, claim_id: str) -> None:
        self._cols.claims.delete_one({'_id': claim_id, 'p': project,
                                      'q': queue})
        self._cols.messages.update_many(
            {'c': claim_id, 'p': project, 'q': queue},
            {'$set': {'c': None, 'ce': 0.0}})

    # -- pop -----------------------------------------------------------------

    def pop(self, project: str, queue: str, limit: int) -> list[Message]:
        qdoc = self._queue(project, queue)
        if qdoc is None or limit <= 0:
            return []
        lock = docs.new_id()
        marked = self.mark(qdoc, limit, lock, time.time() + self.lock_seconds)
        if not marked:
            return []
        self._cols.messages.delete_many({'c': lock, 'qi': qdoc['_id']})
        now = time.time()
        return [docs.to_message(dict(d, c=None, ce=0.0), now)
                for d in marked]
