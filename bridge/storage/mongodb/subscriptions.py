"""Subscriptions in MongoDB: documents, delivery cursors and notifier
leases, on single-document atomicity alone (no transactions).

Document (collection ``subscriptions``)::

    _id  subscription id (24 hex digits, roughly time-ordered)
    p, q project and queue name
    s    subscriber; sk its SHA-256 (unique with p and q)
    t    ttl; cr created (or last given a new ttl); ex = cr + t (float);
         e    the same as a datetime, for the TTL index
    o    options, JSON text; sec the signing secret
    cf   confirmed; cs confirmation request sent
    cur  cursor: marker of the last handled message
    f    failures in a row; na next attempt not before
    ok   last success; er, era last error and when
    lo   lease owner (None: free); lx lease expiry (0.0: free);
         ld lease length in seconds
    v    version, incremented by every write

How the guarantees hold
-----------------------
* **One live subscription per subscriber and queue**: the unique index on
  (p, q, sk). A create deletes an expired holder of the key first.
* **Cursor start**: a create reads the queue's committed marker ``seq``,
  inserts, then reads the queue again. If the queue incarnation changed in
  between, a concurrent delete_queue may have missed the new document,
  which would then point into a queue that no longer exists: the create
  removes it and starts over. Otherwise any later delete_queue removes the
  queue first and the subscriptions after, so it cannot miss it.
* **One lease holder**: a leaser reads candidates, then takes each with an
  ``update_one`` whose filter requires the version it read (so the lease
  is still free and the state it returns is exact); MongoDB applies filter
  and change atomically per document, so one of several racing leasers
  wins each document.
* **Lost leases write nothing**: outcomes are written with a filter on
  ``lo`` (the owner); taking over an expired lease replaces the owner.
  The cursor only moves forward (``$max``).
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

import pymongo
from pymongo import errors as mongo_errors
from pymongo.collection import Collection

from bridge.storage import errors, models
from bridge.storage.mongodb import documents as docs

#: Compare-and-set rounds an update may lose to concurrent writers.
_ATTEMPTS = 10
#: Candidates read per round of a lease.
_SCAN_PAGE = 500


def _key(subscriber: str) -> str:
    return hashlib.sha256(subscriber.encode('utf-8', 'surrogatepass')
                          ).hexdigest()


def _to_subscription(doc: Mapping[str, Any]) -> models.Subscription:
    return models.Subscription(
        id=doc['_id'], project=doc['p'], queue=doc['q'],
        subscriber=doc['s'], ttl=doc['t'],
        options=docs.load_json(doc['o'], {}), created=doc['cr'],
        secret=doc['sec'], confirmed=bool(doc['cf']), cursor=doc['cur'],
        failures=doc['f'], next_attempt=doc['na'],
        last_success=doc.get('ok'), last_error=doc.get('er'),
        last_error_at=doc.get('era'), confirmation_sent=bool(doc['cs']))


class Subscriptions:
    """The ``subscriptions`` collection; ``queues`` is read for the
    queues' newest committed markers."""

    def __init__(self, subscriptions: Collection, queues: Collection
                 ) -> None:
        self._subs = subscriptions
        self._queues = queues

    def ensure_indexes(self) -> None:
        asc = pymongo.ASCENDING
        self._subs.create_index([('p', asc), ('q', asc), ('sk', asc)],
                                unique=True, name='queue_subscriber')
        self._subs.create_index([('e', asc)], expireAfterSeconds=0,
                                name='ttl')

    def _newest(self, project: str, queue: str
                ) -> tuple[Any, int]:
        """(queue incarnation or None, its newest committed marker)."""
        doc = self._queues.find_one({'p': project, 'n': queue},
                                    {'seq': 1})
        return (None, 0) if doc is None else (doc['_id'], doc['seq'])

    def _live_holder(self, project: str, queue: str, key: str, now: float,
                     other_than: str | None = None) -> bool:
        flt: dict[str, Any] = {'p': project, 'q': queue, 'sk': key,
                               'ex': {'$gt': now}}
        if other_than is not None:
            flt['_id'] = {'$ne': other_than}
        return self._subs.count_documents(flt, limit=1) > 0

    def _drop_expired(self, project: str, queue: str, key: str,
                      now: float) -> None:
        self._subs.delete_many({'p': project, 'q': queue, 'sk': key,
                                'ex': {'$lte': now}})

    # -- create, read, delete ------------------------------------------------

    def create(self, project: str, queue: str, subscriber: str, *,
               ttl: int, options: dict[str, Any], secret: str,
               confirmed: bool, now: float) -> models.Subscription:
        key = _key(subscriber)
        for _ in range(_ATTEMPTS):
            incarnation, newest = self._newest(project, queue)
            self._drop_expired(project, queue, key, now)
            doc = {
                '_id': docs.new_id(), 'p': project, 'q': queue,
                's': subscriber, 'sk': key, 't': ttl, 'cr': now,
                'ex': now + ttl, 'e': docs.as_datetime(now + ttl),
                'o': docs.dump_json(options), 'sec': secret,
                'cf': bool(confirmed), 'cs': False, 'cur': newest, 'f': 0,
                'na': 0.0, 'ok': None, 'er': None, 'era': None,
                'lo': None, 'lx': 0.0, 'ld': 0.0, 'v': 0,
            }
            try:
                self._subs.insert_one(doc)
            except mongo_errors.DuplicateKeyError:
                if self._live_holder(project, queue, key, now):
                    raise errors.Conflict(
                        'this subscriber is already subscribed to queue %s'
                        % queue)
                continue  # the holder expired meanwhile
            if incarnation is None or \
                    self._newest(project, queue)[0] == incarnation:
                return _to_subscription(doc)
            # The queue was deleted meanwhile (see the module docstring).
            self._subs.delete_one({'_id': doc['_id']})
        raise errors.Unavailable('MongoDB: could not create a subscription '
                                 'to queue %r' % queue)

    def _find_live(self, project: str, queue: str, subscription_id: str,
                   now: float) -> dict[str, Any]:
        doc = self._subs.find_one({'_id': subscription_id, 'p': project,
                                   'q': queue, 'ex': {'$gt': now}})
        if doc is None:
            raise errors.NotFound('subscription %s not found'
                                  % subscription_id)
        return doc

    def get(self, project: str, queue: str, subscription_id: str,
            now: float) -> models.Subscription:
        return _to_subscription(
            self._find_live(project, queue, subscription_id, now))

    def list_(self, project: str, queue: str, marker: str | None,
              limit: int, now: float) -> list[models.Subscription]:
        if limit <= 0:
            return []
        flt: dict[str, Any] = {'p': project, 'q': queue,
                               'ex': {'$gt': now}}
        if marker:
            flt['_id'] = {'$gt': marker}
        found = self._subs.find(flt).sort('_id', 1).limit(
            min(limit, docs.MAX_LIMIT))
        return [_to_subscription(doc) for doc in found]

    def delete(self, project: str, queue: str, subscription_id: str) -> None:
        self._subs.delete_one({'_id': subscription_id, 'p': project,
                               'q': queue})

    def delete_of_queue(self, project: str, queue: str) -> None:
        self._subs.delete_many({'p': project, 'q': queue})

    # -- update --------------------------------------------------------------

    def update(self, project: str, queue: str, subscription_id: str, *,
               subscriber: str | None, ttl: int | None,
               options: dict[str, Any] | None, confirmed: bool | None,
               now: float) -> models.Subscription:
        """See Storage.update_subscription and the SQL driver's update,
        whose rules this follows; written as a compare-and-set on ``v``."""
        for _ in range(_ATTEMPTS):
            doc = self._find_live(project, queue, subscription_id, now)
            changes = self._changes(doc, subscriber, ttl, options,
                                    confirmed, now)
            if 'sk' in changes:
                self._drop_expired(project, queue, changes['sk'], now)
            try:
                res = self._subs.update_one(
                    {'_id': subscription_id, 'v': doc['v']},
                    {'$set': changes, '$inc': {'v': 1}})
            except mongo_errors.DuplicateKeyError:
                if self._live_holder(project, queue, changes['sk'], now,
                                     other_than=subscription_id):
                    raise errors.Conflict(
                        'this subscriber is already subscribed to queue %s'
                        % queue)
                continue
            if res.matched_count:
                return _to_subscription(dict(doc, **changes))
        raise errors.Unavailable('MongoDB: subscription %s kept changing; '
                                 'try again' % subscription_id)

    def _changes(self, doc: Mapping[str, Any], subscriber: str | None,
                 ttl: int | None, options: dict[str, Any] | None,
                 confirmed: bool | None, now: float) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        new_subscriber = subscriber is not None and subscriber != doc['s']
        if new_subscriber:
            assert subscriber is not None
            changes.update(s=subscriber, sk=_key(subscriber), cf=False,
                           cs=False, f=0, na=0.0)
        if ttl is not None:
            changes.update(t=ttl, cr=now, ex=now + ttl,
                           e=docs.as_datetime(now + ttl))
        if options is not None:
            changes['o'] = docs.dump_json(options)
        if confirmed is not None:
            changes['cf'] = bool(confirmed)
            if not confirmed and not new_subscriber:
                changes['cs'] = True  # declined: no request
        now_confirmed = changes.get('cf', doc['cf'])
        if now_confirmed and not doc['cf']:
            newest = self._newest(doc['p'], doc['q'])[1]
            changes['cur'] = max(doc['cur'], newest)
        if new_subscriber or now_confirmed != doc['cf']:
            changes.update(lo=None, lx=0.0)
        return changes

    # -- leases and outcomes -------------------------------------------------

    def lease(self, owner: str, *, lease_seconds: float, limit: int,
              now: float) -> list[models.Subscription]:
        """See Storage.lease_subscriptions and the module docstring."""
        leased: list[models.Subscription] = []
        flt: dict[str, Any] = {
            'ex': {'$gt': now}, 'na': {'$lte': now}, 'lx': {'$lte': now},
            '$or': [{'cf': True}, {'cs': False}]}
        while len(leased) < limit:
            page = list(self._subs.find(flt).sort('_id', 1)
                        .limit(_SCAN_PAGE))
            if not page:
                break
            newest = self._newest_of(page)
            for doc in page:
                if len(leased) >= limit:
                    break
                if not self._has_work(doc, newest):
                    continue
                taken = {'lo': owner, 'lx': now + lease_seconds,
                         'ld': lease_seconds}
                res = self._subs.update_one(
                    {'_id': doc['_id'], 'v': doc['v'],
                     'lx': {'$lte': now}},
                    {'$set': taken, '$inc': {'v': 1}})
                if res.matched_count:
                    leased.append(_to_subscription(doc))
            if len(page) < _SCAN_PAGE:
                break
            flt['_id'] = {'$gt': page[-1]['_id']}
        return leased

    def _newest_of(self, page: list[dict[str, Any]]
                   ) -> dict[tuple[str, str], int]:
        """Newest committed marker of each queue the page's documents
        subscribe to (queues that do not exist are left out)."""
        wanted = {(doc['p'], doc['q']) for doc in page if doc['cf']}
        if not wanted:
            return {}
        found = self._queues.find(
            {'$or': [{'p': p, 'n': q} for p, q in sorted(wanted)]},
            {'p': 1, 'n': 1, 'seq': 1})
        return {(doc['p'], doc['n']): doc['seq'] for doc in found}

    @staticmethod
    def _has_work(doc: Mapping[str, Any],
                  newest: dict[tuple[str, str], int]) -> bool:
        if not doc['cf']:
            return not doc['cs']
        return newest.get((doc['p'], doc['q']), 0) > doc['cur']

    def record(self, subscription_id: str, owner: str,
               outcome: models.DeliveryOutcome, *, release: bool,
               now: float) -> bool:
        """See Storage.record_delivery; the lease is extended by its
        original length from ``now``, or released."""
        held = {'_id': subscription_id, 'lo': owner}
        changes: dict[str, Any] = {'f': outcome.failures,
                                   'na': outcome.next_attempt}
        for field, value in (('ok', outcome.success_at),
                             ('er', outcome.error),
                             ('era', outcome.error_at),
                             ('cs', outcome.confirmation_sent)):
            if value is not None:
                changes[field] = value
        if release:
            changes.update(lo=None, lx=0.0)
        else:
            doc = self._subs.find_one(held, {'ld': 1})
            if doc is None:
                return False
            changes['lx'] = now + doc['ld']
        res = self._subs.update_one(
            held, {'$set': changes, '$max': {'cur': outcome.cursor},
                   '$inc': {'v': 1}})
        return res.matched_count > 0
