"""The pool catalog (:class:`bridge.storage.catalog.Catalog`) in two
collections: ``catalog`` (pools and flavors, ``_id`` = [kind, name]) and
``placements`` (``_id`` = [project, queue]).

Concurrency rests on the unique ``_id``: a creating :meth:`MongoCatalog.put`
and :meth:`MongoCatalog.place` are single inserts, and the loser of a race
gets a duplicate key error, then reads the winner's document.
"""

from __future__ import annotations

from typing import Any

import pymongo
from pymongo import errors as mongo_errors
from pymongo.database import Database

from bridge.storage import catalog
from bridge.storage.mongodb import documents as docs
from bridge.storage.mongodb.connection import unavailable_on_failure


class MongoCatalog(catalog.Catalog):
    """The catalog in database ``db``."""

    def __init__(self, db: Database) -> None:
        self._entries = db['catalog']
        self._placements = db['placements']

    @unavailable_on_failure
    def ensure_indexes(self) -> None:
        self._entries.create_index([('k', pymongo.ASCENDING),
                                    ('n', pymongo.ASCENDING)], name='kind')
        self._placements.create_index([('pool', pymongo.ASCENDING)],
                                      name='pool')

    @unavailable_on_failure
    def put(self, kind: str, name: str, doc: dict[str, Any], *,
            create: bool) -> bool:
        record = {'_id': [kind, name], 'k': kind, 'n': name,
                  'd': docs.dump_json(doc)}
        if not create:
            self._entries.replace_one({'_id': [kind, name]}, record,
                                      upsert=True)
            return True
        try:
            self._entries.insert_one(record)
        except mongo_errors.DuplicateKeyError:
            return False
        return True

    @unavailable_on_failure
    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        found = self._entries.find_one({'_id': [kind, name]})
        return None if found is None else docs.load_json(found['d'], {})

    @unavailable_on_failure
    def entries(self, kind: str, *, marker: str | None = None,
             limit: int | None = None) -> list[tuple[str, dict[str, Any]]]:
        cursor = self._entries.find(
            {'k': kind, 'n': {'$gt': marker or ''}}).sort('n', 1)
        if limit is not None:
            cursor = cursor.limit(limit)
        return [(d['n'], docs.load_json(d['d'], {})) for d in cursor]

    @unavailable_on_failure
    def delete(self, kind: str, name: str) -> None:
        self._entries.delete_one({'_id': [kind, name]})

    @unavailable_on_failure
    def place(self, project: str, queue: str, pool: str) -> str:
        key = [project, queue]
        try:
            self._placements.insert_one({'_id': key, 'pool': pool})
            return pool
        except mongo_errors.DuplicateKeyError:
            found = self._placements.find_one({'_id': key})
            if found is None:  # unplaced meanwhile: try again
                return self.place(project, queue, pool)
            return str(found['pool'])

    @unavailable_on_failure
    def placement(self, project: str, queue: str) -> str | None:
        found = self._placements.find_one({'_id': [project, queue]})
        return None if found is None else str(found['pool'])

    @unavailable_on_failure
    def placed_on(self, pool: str, *, limit: int) -> list[tuple[str, str]]:
        return [(d['_id'][0], d['_id'][1])
                for d in self._placements.find({'pool': pool}).limit(limit)]

    @unavailable_on_failure
    def unplace(self, project: str, queue: str) -> None:
        self._placements.delete_one({'_id': [project, queue]})
