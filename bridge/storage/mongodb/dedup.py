"""Dedup keys: a key posted to a queue is stored once per window.

A key is a document in the ``dedup`` collection, unique per (project,
queue, key), naming the id of the message stored for it (``mid``). A
writer takes a key by inserting it as PENDING *before* it stores the
message, and marks it DONE after the message is committed. Hence:

* two writers racing on one key cannot both take it (unique index); the
  loser waits until the key is DONE and returns the winner's id, so a key
  is never answered with the id of a message that was not stored;
* a key stays taken until it expires (``dedup_window`` after the first
  post), even after its message is deleted;
* a writer that dies leaves its key PENDING. After ``stale_seconds``
  another writer resolves it: if the named message was committed, the key
  becomes DONE with that id; otherwise the new writer takes the key over.
  (A message deleted in the meantime looks uncommitted: the key is then
  posted again. At least once, never lost.)
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Mapping

from pymongo import errors as mongo_errors

from bridge.storage import errors
from bridge.storage.mongodb import connection
from bridge.storage.mongodb import documents as docs
from bridge.storage.mongodb.connection import Collections

_POLL_MIN = 0.005
_POLL_MAX = 0.1


@dataclasses.dataclass
class Taken:
    """Outcome of :meth:`DedupKeys.take`."""

    token: str
    existing: dict[str, str] = dataclasses.field(default_factory=dict)
    """key -> id of the message already stored for it."""
    owned: list[str] = dataclasses.field(default_factory=list)
    """``_id`` of the dedup documents this writer now holds (PENDING)."""


class DedupKeys:
    def __init__(self, cols: Collections, window: Callable[[], float],
                 stale_seconds: float) -> None:
        """``window()`` gives the seconds a key is remembered (read at each
        post, so a changed ``Storage.dedup_window`` applies at once)."""
        self._cols = cols
        self._window = window
        self._stale = stale_seconds

    def take(self, project: str, queue: str,
             wanted: Mapping[str, str]) -> Taken:
        """Try to take each key for the message id it maps to. A key some
        other post already holds ends in ``existing`` with that post's
        message id (waiting while that post is in flight)."""
        taken = Taken(token=docs.new_id())
        to_insert = dict(wanted)
        to_check: dict[str, str] = {}
        deadline = time.monotonic() + 2 * self._stale
        delay = _POLL_MIN
        while to_insert or to_check:
            if to_insert:
                refused = self._insert(project, queue, to_insert, taken)
                to_check.update(refused)
                to_insert = {}
            if not to_check:
                break
            now = time.time()
            found = self._cols.dedup.find(
                {'p': project, 'q': queue, 'key': {'$in': list(to_check)}})
            seen = set()
            for doc in found:
                seen.add(doc['key'])
                if self._settle(doc, to_check[doc['key']], taken, now):
                    del to_check[doc['key']]
            # A key removed since our insert failed (expired, released):
            # insert it again.
            for key in set(to_check) - seen:
                to_insert[key] = to_check.pop(key)
            if to_check and not to_insert:
                if time.monotonic() > deadline:
                    raise errors.Unavailable(
                        'MongoDB: dedup keys of queue %r stay held by '
                        'another post' % queue)
                time.sleep(delay)
                delay = min(delay * 2, _POLL_MAX)
        return taken

    def _doc(self, project: str, queue: str, key: str, mid: str,
             token: str, now: float) -> dict[str, Any]:
        expires = now + self._window()
        return {'_id': docs.new_id(), 'p': project, 'q': queue, 'key': key,
                'mid': mid, 'tok': token, 'st': docs.PENDING, 'at': now,
                'ex': expires, 'e': docs.as_datetime(expires)}

    def _insert(self, project: str, queue: str, keys: Mapping[str, str],
                taken: Taken) -> dict[str, str]:
        """Insert PENDING keys; return those refused as already held."""
        now = time.time()
        batch = [self._doc(project, queue, key, mid, taken.token, now)
                 for key, mid in keys.items()]
        try:
            self._cols.dedup.insert_many(batch, ordered=False)
            refused: set[int] = set()
        except mongo_errors.BulkWriteError as exc:
            refused = connection.duplicate_key_indexes(exc)
        taken.owned.extend(d['_id'] for i, d in enumerate(batch)
                           if i not in refused)
        return {batch[i]['key']: batch[i]['mid'] for i in refused}

    def _settle(self, doc: Mapping[str, Any], mid: str, taken: Taken,
                now: float) -> bool:
        """Decide one key held by someone else; False to look again
        later."""
        key = doc['key']
        if doc['ex'] > now and doc['st'] == docs.DONE:
            taken.existing[key] = doc['mid']
            return True
        if doc['ex'] > now and now - doc['at'] <= self._stale:
            return False  # its post is in flight
        if doc['ex'] > now and self._was_committed(doc):
            if self._cas(doc, {'st': docs.DONE}):
                taken.existing[key] = doc['mid']
                return True
            return False
        # Expired, or left PENDING by a writer that gave up: take it over.
        fresh = self._doc(doc['p'], doc['q'], key, mid, taken.token, now)
        del fresh['_id']
        if self._cas(doc, fresh):
            taken.owned.append(doc['_id'])
            return True
        return False

    def _cas(self, doc: Mapping[str, Any], changes: Mapping[str, Any]) -> bool:
        res = self._cols.dedup.update_one(
            {'_id': doc['_id'], 'tok': doc['tok'], 'st': doc['st'],
             'at': doc['at']},
            {'$set': dict(changes)})
        return bool(res.matched_count)

    def _was_committed(self, doc: Mapping[str, Any]) -> bool:
        msg = self._cols.messages.find_one(
            {'_id': doc['mid'], 'p': doc['p'], 'q': doc['q']},
            {'qi': 1, 'k': 1})
        if msg is None:
            return False
        queue = self._cols.queues.find_one({'_id': msg['qi']}, {'seq': 1})
        return queue is not None and msg['k'] <= queue['seq']

    def confirm(self, taken: Taken) -> None:
        """Mark the keys this writer holds DONE (after its commit). The
        window starts again here, when the first post is complete."""
        if taken.owned:
            expires = time.time() + self._window()
            self._cols.dedup.update_many(
                {'_id': {'$in': taken.owned}, 'tok': taken.token},
                {'$set': {'st': docs.DONE, 'ex': expires,
                          'e': docs.as_datetime(expires)}})

    def release(self, taken: Taken) -> None:
        """Give the keys back (the post was certainly not committed)."""
        if taken.owned:
            self._cols.dedup.delete_many(
                {'_id': {'$in': taken.owned}, 'tok': taken.token,
                 'st': docs.PENDING})
