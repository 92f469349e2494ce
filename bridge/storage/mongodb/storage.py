"""The MongoDB driver: :class:`MongoStorage`.

It needs no multi-document transactions, so a standalone mongod, a replica
set and MongoDB-wire servers all work; the guarantees of
:mod:`bridge.storage.base` rest on single-document atomicity and unique
indexes instead:

* ordering without skips and all-or-nothing posts: :mod:`.sequencer`;
* exactly one claimer: :mod:`.claims`;
* idempotent posts: :mod:`.dedup`;
* all-or-nothing bulk deletes: :mod:`.messages`;
* quotas: :mod:`.quotas` (a post over its messages quota is withdrawn
  before it commits).

:class:`MongoStorage` handles the queue documents itself and hands
messages, claims and subscriptions to the helpers in :mod:`.messages`,
:mod:`.claims` and :mod:`.subscriptions`.

Write concern, journaling, retryable writes and timeouts come from the
[storage] options; connection failures and timeouts raise
:class:`~bridge.storage.errors.Unavailable`.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, Sequence

from bridge.storage import base
from bridge.storage import errors, models
from bridge.storage.models import (Claim, DeliveryOutcome, Message,
                                   MessagePage, NewMessage, Ownership,
                                   QueueStats, Subscription)
from bridge.storage.mongodb import connection
from bridge.storage.mongodb.catalog import MongoCatalog
from bridge.storage.mongodb import documents as docs
from bridge.storage.mongodb import samples as mongo_samples
from bridge.storage.mongodb.claims import Claims
from bridge.storage.mongodb.connection import unavailable_on_failure
from bridge.storage.mongodb.dedup import DedupKeys
from bridge.storage.mongodb.messages import Messages
from bridge.storage.mongodb.ownership import OwnershipIndex
from bridge.storage.mongodb.quotas import Quotas
from bridge.storage.mongodb.sequencer import Sequencer, create_queue_doc
from bridge.storage.mongodb.subscriptions import Subscriptions

Prepare = Callable[[dict[str, Any]], Sequence[NewMessage]]


class MongoStorage(base.Storage):
    """Queues, messages and claims in one MongoDB database (the URL's,
    else [storage] mongodb_database)."""

    def __init__(self, url: str, opts: Any) -> None:
        self._client, self._db = connection.open_client(url, opts)
        self._cols = connection.Collections.of(self._db)
        # A writer that makes no progress for this long is presumed dead
        # (several operation timeouts; only crash recovery waits on it).
        stall = 3.0 * opts.mongodb_timeout
        seq = Sequencer(self._cols, stall_seconds=stall)
        dedup = DedupKeys(self._cols,
                          window=lambda: float(self.dedup_window),
                          stale_seconds=2 * stall)
        self._claims = Claims(self._cols, seq, lock_seconds=stall)
        self._quotas = Quotas(self._db)
        self._messages = Messages(self._cols, seq, dedup, self._claims,
                                  self._quotas)
        self._subs = Subscriptions(self._db['subscriptions'],
                                   self._cols.queues)
        self._catalog = MongoCatalog(self._db)
        self._owners = OwnershipIndex(self._db['ownership'])

    # -- lifecycle -----------------------------------------------------------

    @unavailable_on_failure
    def ensure_schema(self) -> None:
        connection.ensure_indexes(self._cols)
        self._subs.ensure_indexes()
        self._catalog.ensure_indexes()
        self._owners.ensure_indexes()
        self._quotas.ensure_indexes()

    def catalog(self) -> MongoCatalog:
        return self._catalog

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
        self._owners.sweep(time.time() if now is None else now)
        return removed.deleted_count

    # -- queues --------------------------------------------------------------

    @unavailable_on_failure
    def create_queue(self, project: str, name: str,
                     metadata: dict[str, Any], *,
                     max_queues: int | None = None) -> bool:
        if max_queues is not None:
            if self._cols.queues.find_one({'p': project, 'n': name},
                                          {'_id': 1}) is not None:
                return False
            self._quotas.check_queues(project, max_queues)
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
        return self.codec.open_stats(self._messages.stats(project, name))

    # -- messages: writes ----------------------------------------------------

    @unavailable_on_failure
    def post_messages(self, project: str, queue: str,
                      messages: Sequence[NewMessage],
                      client_id: str | None = None) -> list[str]:
        if not messages:
            return []
        # The queue's metadata says whether to seal (one more read).
        batch = self.codec.seal_batch(
            messages, self._metadata(project, queue) or {})
        return self._messages.post(project, queue, batch, client_id)

    @unavailable_on_failure
    def post_prepared(self, project: str, queue: str, prepare: Prepare,
                      client_id: str | None = None, *,
                      max_messages: int | None = None,
                      max_queues: int | None = None) -> list[str]:
        """The metadata is read, then the post made (a metadata change in
        between goes unnoticed: see Storage.post_prepared)."""
        metadata = self._metadata(project, queue)
        batch = self.codec.seal_batch(prepare(metadata or {}),
                                      metadata or {})
        if metadata is None and max_queues is not None:
            self.create_queue(project, queue, {}, max_queues=max_queues)
        return self._messages.post(project, queue, batch, client_id,
                                   max_messages)

    def _metadata(self, project: str, queue: str) -> dict[str, Any] | None:
        """The queue's metadata; None if it does not exist."""
        doc = self._cols.queues.find_one({'p': project, 'n': queue}, {'m': 1})
        return None if doc is None else docs.load_json(doc.get('m'), {})

    @unavailable_on_failure
    def delete_message(self, project: str, queue: str, message_id: str,
                       claim_id: str | None = None) -> None:
        self._messages.delete(project, queue, message_id, claim_id)

    @unavailable_on_failure
    def delete_messages(self, project: str, queue: str,
                        ids: Sequence[str],
                        claim_ids: Sequence[str] = ()) -> None:
        self._messages.delete_many(project, queue, ids, claim_ids)

    @unavailable_on_failure
    def pop_messages(self, project: str, queue: str,
                     limit: int) -> list[Message]:
        return self.codec.open_messages(
            self._claims.pop(project, queue, min(limit, docs.MAX_LIMIT)))

    @unavailable_on_failure
    def trim_queue(self, project: str, queue: str, max_depth: int) -> int:
        return self._messages.trim(project, queue, max_depth)

    @unavailable_on_failure
    def purge_queue(self, project: str, queue: str) -> None:
        self._messages.purge(project, queue)

    # -- messages: reads -----------------------------------------------------

    @unavailable_on_failure
    def list_messages(self, project: str, queue: str, *,
                      marker: str | None = None, limit: int = 10,
                      client_id: str | None = None, echo: bool = False,
                      include_claimed: bool = False,
                      include_delayed: bool = False) -> MessagePage:
        return self.codec.open_page(self._messages.list_(
            project, queue, marker=marker, limit=limit, client_id=client_id,
            echo=echo, include_claimed=include_claimed,
            include_delayed=include_delayed))

    @unavailable_on_failure
    def get_messages(self, project: str, queue: str,
                     ids: Sequence[str]) -> list[Message]:
        return self.codec.open_messages(
            self._messages.get(project, queue, ids))

    # -- subscriptions -------------------------------------------------------

    @unavailable_on_failure
    def create_subscription(self, project: str, queue: str, subscriber: str,
                            *, ttl: int, options: dict[str, Any],
                            secret: str, confirmed: bool,
                            max_subscriptions: int | None = None
                            ) -> Subscription:
        now = time.time()
        self._quotas.check_subscriptions(project, max_subscriptions, now)
        return self._subs.create(project, queue, subscriber, ttl=ttl,
                                 options=options, secret=secret,
                                 confirmed=confirmed, now=now)

    @unavailable_on_failure
    def count_subscriptions(self, project: str,
                            now: float | None = None) -> int:
        at = time.time() if now is None else now
        return self._quotas.count_subscriptions(project, at)

    @unavailable_on_failure
    def get_subscription(self, project: str, queue: str,
                         subscription_id: str) -> Subscription:
        return self._subs.get(project, queue, subscription_id, time.time())

    @unavailable_on_failure
    def list_subscriptions(self, project: str, queue: str, *,
                           marker: str | None = None, limit: int = 10
                           ) -> list[Subscription]:
        return self._subs.list_(project, queue, marker, limit, time.time())

    @unavailable_on_failure
    def update_subscription(self, project: str, queue: str,
                            subscription_id: str, *,
                            subscriber: str | None = None,
                            ttl: int | None = None,
                            options: dict[str, Any] | None = None,
                            confirmed: bool | None = None
                            ) -> Subscription:
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
                            ) -> list[Subscription]:
        return self._subs.lease(owner, lease_seconds=lease_seconds,
                                limit=limit,
                                now=time.time() if now is None else now)

    @unavailable_on_failure
    def record_delivery(self, subscription: Subscription, owner: str,
                        outcome: DeliveryOutcome, *,
                        release: bool = False) -> bool:
        return self._subs.record(subscription.id, owner, outcome,
                                 release=release, now=time.time())

    # -- ownership index -----------------------------------------------------

    @unavailable_on_failure
    def record_owners(self, entries: Sequence[Ownership],
                      now: float | None = None) -> None:
        self._owners.record(entries, time.time() if now is None else now)

    @unavailable_on_failure
    def lookup_owners(self, keys: Sequence[tuple[str, str]],
                      now: float | None = None
                      ) -> dict[tuple[str, str], Ownership]:
        if not keys:
            return {}
        return self._owners.lookup(keys, time.time() if now is None else now)

    # -- claims --------------------------------------------------------------

    @unavailable_on_failure
    def sample_queues(self, limit: int, now: float | None = None
                      ) -> list[models.QueueSample]:
        at = time.time() if now is None else now
        return mongo_samples.sample_queues(self._cols.messages, limit, at)

    @unavailable_on_failure
    def sample_backlogs(self, limit: int, now: float | None = None
                        ) -> list[models.BacklogSample]:
        at = time.time() if now is None else now
        return mongo_samples.sample_backlogs(
            self._db['subscriptions'], self._cols.messages, limit, at)

    @unavailable_on_failure
    def create_claim(self, project: str, queue: str, *, ttl: int,
                     grace: int, limit: int) -> Claim | None:
        if limit <= 0:
            return None
        claim = self._claims.create(project, queue, ttl, grace,
                                    min(limit, docs.MAX_LIMIT))
        return claim and self.codec.open_claim(claim)

    @unavailable_on_failure
    def get_claim(self, project: str, queue: str, claim_id: str) -> Claim:
        return self.codec.open_claim(
            self._claims.get(project, queue, claim_id))

    @unavailable_on_failure
    def update_claim(self, project: str, queue: str, claim_id: str, *,
                     ttl: int, grace: int) -> None:
        self._claims.update(project, queue, claim_id, ttl, grace)

    @unavailable_on_failure
    def delete_claim(self, project: str, queue: str, claim_id: str) -> None:
        self._claims.delete(project, queue, claim_id)


    # -- quota overrides -----------------------------------------------------

    @unavailable_on_failure
    def set_quota(self, project: str, resource: str, limit: int) -> None:
        self._quotas.set(project, resource, limit)

    @unavailable_on_failure
    def get_quotas(self, project: str) -> dict[str, int]:
        return self._quotas.get(project)

    @unavailable_on_failure
    def list_quotas(self) -> dict[str, dict[str, int]]:
        return self._quotas.list_()

    @unavailable_on_failure
    def delete_quota(self, project: str,
                     resource: str | None = None) -> None:
        self._quotas.delete(project, resource)
