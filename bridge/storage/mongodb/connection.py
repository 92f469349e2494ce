"""Opening the MongoDB client, translating its failures, and the indexes
the driver relies on."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, TypeVar

import pymongo
from pymongo import errors as mongo_errors
from pymongo.collection import Collection
from pymongo.database import Database

from bridge.storage import errors

F = TypeVar('F', bound=Callable[..., Any])

#: pymongo failures that mean "the server is unreachable or too slow".
UNAVAILABLE_ERRORS = (
    mongo_errors.ConnectionFailure,   # AutoReconnect, NetworkTimeout,
                                      # ServerSelectionTimeoutError, ...
    mongo_errors.ExecutionTimeout,
    mongo_errors.WTimeoutError,
)

DUPLICATE_KEY = 11000


def unavailable_on_failure(func: F) -> F:
    """Turn pymongo's connection failures and timeouts into
    :class:`~bridge.storage.errors.Unavailable`. Other pymongo errors are
    bugs and propagate unchanged."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UNAVAILABLE_ERRORS as exc:
            raise errors.Unavailable('MongoDB: %s' % exc) from exc
        except mongo_errors.BulkWriteError as exc:
            if exc.details.get('writeConcernErrors'):
                raise errors.Unavailable('MongoDB write concern: %s'
                                         % exc) from exc
            raise

    return wrapper  # type: ignore[return-value]


def write_concern_w(value: str) -> int | str:
    """``mongodb_write_concern`` as pymongo wants it: a node count or a
    tag such as "majority"."""
    value = value.strip()
    w: int | str = int(value) if value.isdigit() else value
    if w == 0 or not value:
        # The driver's protocols read duplicate-key errors and matched
        # counts, which unacknowledged writes do not report.
        raise ValueError('[storage] mongodb_write_concern must acknowledge '
                         'writes (1 or more nodes, or "majority"), not %r'
                         % value)
    return w


def open_client(url: str, opts: Any) -> tuple[pymongo.MongoClient, Database]:
    """A lazily connecting client and the database to use (the URL's, else
    ``mongodb_database``). The [storage] options override the same
    settings given in the URL."""
    timeout_ms = int(opts.mongodb_timeout * 1000)
    client: pymongo.MongoClient = pymongo.MongoClient(
        url,
        w=write_concern_w(opts.mongodb_write_concern),
        journal=opts.mongodb_journal,
        wTimeoutMS=timeout_ms,
        retryWrites=opts.mongodb_retry_writes,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=timeout_ms,
        appname='bridge',
        connect=False,
    )
    return client, client.get_default_database(default=opts.mongodb_database)


@dataclasses.dataclass(frozen=True)
class Collections:
    queues: Collection
    messages: Collection
    claims: Collection
    dedup: Collection

    @classmethod
    def of(cls, db: Database) -> 'Collections':
        return cls(queues=db['queues'], messages=db['messages'],
                   claims=db['claims'], dedup=db['dedup'])


def ensure_indexes(cols: Collections) -> None:
    """Create the indexes; idempotent (``createIndexes`` with an existing,
    identical spec is a no-op, also when run concurrently)."""
    asc = pymongo.ASCENDING
    cols.queues.create_index([('p', asc), ('n', asc)], unique=True,
                             name='project_name')
    # Markers are unique per queue incarnation: the ordering protocol
    # (see sequencer.py) depends on this index.
    cols.messages.create_index([('qi', asc), ('k', asc)], unique=True,
                               name='queue_marker')
    cols.messages.create_index([('c', asc)], name='claim')
    cols.messages.create_index([('e', asc)], expireAfterSeconds=0,
                               name='ttl')
    cols.claims.create_index([('p', asc), ('q', asc)], name='queue')
    cols.claims.create_index([('e', asc)], expireAfterSeconds=0, name='ttl')
    cols.dedup.create_index([('p', asc), ('q', asc), ('key', asc)],
                            unique=True, name='queue_key')
    cols.dedup.create_index([('e', asc)], expireAfterSeconds=0, name='ttl')


def duplicate_key_indexes(exc: mongo_errors.BulkWriteError) -> set[int]:
    """Indexes (into the submitted batch) of the documents refused for a
    duplicate key. Raises ``exc`` again when anything else failed."""
    details = exc.details
    found = set()
    for err in details.get('writeErrors', ()):
        if err.get('code') != DUPLICATE_KEY:
            raise exc
        found.add(err['index'])
    if details.get('writeConcernErrors'):
        raise exc
    return found
