"""The ownership index in MongoDB, on single-document atomicity alone.

Document (collection ``ownership``)::

    _id  "<resource type>|<resource id>" (types never contain "|")
    t, r resource type and id
    p    owning project
    x    expiry, epoch seconds (models.OWNER_LIVE while the resource lives)
    e    the same as a datetime, for the TTL index
    u    last update

How the guarantees hold
-----------------------
* **Upserts without lost updates**: each entry is one ``update_one`` with
  ``upsert``: ``$set`` of the project, ``$min`` of the expiry. MongoDB
  applies each atomically, so a later "the resource lives" never clears an
  expiry a delete set, whatever the order of concurrent writers.
* **Concurrent inserts**: two upserts inserting the same ``_id`` can make
  one fail with a duplicate key; it is sent again and then updates.
* A batch is one unordered ``bulk_write``; a lookup one ``find``.
"""

from __future__ import annotations

from typing import Sequence

import pymongo
from pymongo import errors as mongo_errors
from pymongo.collection import Collection

from bridge.storage import models
from bridge.storage.mongodb import connection
from bridge.storage.mongodb import documents as docs

#: Rounds of re-sending upserts that lost an insert race.
_ATTEMPTS = 3


def _id(key: tuple[str, str]) -> str:
    return '%s|%s' % key


class OwnershipIndex:
    def __init__(self, collection: Collection) -> None:
        self._col = collection

    def ensure_indexes(self) -> None:
        self._col.create_index([('e', pymongo.ASCENDING)],
                               expireAfterSeconds=0, name='ttl')

    def record(self, entries: Sequence[models.Ownership], now: float) -> None:
        ops = [pymongo.UpdateOne(
            {'_id': _id(entry.key)},
            {'$set': {'p': entry.project, 'u': now},
             '$setOnInsert': {'t': entry.resource_type,
                              'r': entry.resource_id},
             '$min': {'x': entry.expires,
                      'e': docs.as_datetime(entry.expires)}},
            upsert=True)
            for entry in models.merge_ownership(entries).values()]
        if not ops:
            return
        for attempt in range(_ATTEMPTS):
            try:
                self._col.bulk_write(ops, ordered=False)
                return
            except mongo_errors.BulkWriteError as exc:
                lost = connection.duplicate_key_indexes(exc)
                if attempt == _ATTEMPTS - 1:
                    raise
                ops = [ops[i] for i in sorted(lost)]

    def lookup(self, keys: Sequence[tuple[str, str]], now: float
               ) -> dict[tuple[str, str], models.Ownership]:
        ids = sorted({_id(key) for key in keys})
        found = {}
        for doc in self._col.find({'_id': {'$in': ids}, 'x': {'$gt': now}},
                                  {'t': 1, 'r': 1, 'p': 1, 'x': 1}):
            entry = models.Ownership(doc['t'], doc['r'], doc['p'],
                                     float(doc['x']))
            found[entry.key] = entry
        return found

    def sweep(self, now: float) -> int:
        return self._col.delete_many({'x': {'$lte': now}}).deleted_count
