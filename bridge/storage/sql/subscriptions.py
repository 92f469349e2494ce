"""Subscriptions: rows of the ``subscriptions`` table, their delivery
cursor, and the leases notifiers take on them.

Every function runs inside the caller's transaction (see :mod:`.driver`).

How the guarantees hold
-----------------------
* **One live subscription per subscriber and queue**: a unique index on
  (project, queue, subscriber_key). A create first deletes an *expired*
  row with the same key (so it can be replaced), then checks for a live
  one (Conflict). Two creates racing past the check collide on the index;
  the transactor runs the loser again, which then sees the winner's row
  and answers Conflict.
* **Cursor start**: a create reads the queue's ``counter`` (the newest
  marker handed out) under the queue row's lock, as posts and
  :func:`.queues.delete` do, so a post either committed before (its
  messages are not pending) or commits after (they are), and a queue
  deleted meanwhile takes the new subscription with it.
* **One lease holder**: :func:`lease` selects the candidates with
  ``FOR UPDATE SKIP LOCKED`` (PostgreSQL, MariaDB) and writes the lease in
  the same transaction, so concurrent leasers take disjoint sets; a row
  that another leaser committed meanwhile is re-checked against the WHERE
  clause (its lease is now unexpired, so it is passed over). On SQLite the
  transaction holds the database write lock (``BEGIN IMMEDIATE``). The
  queue counter is read in a subquery, which a locking read does not lock,
  so posters never wait for leasers.
* **Lost leases write nothing**: :func:`record` updates only a row whose
  ``lease_owner`` is still the caller. Taking over an expired lease
  replaces the owner, so the previous owner's later writes match no row.
  The cursor only moves forward.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import sqlalchemy as sa

from bridge.storage import errors, models
from bridge.storage.sql import executor
from bridge.storage.sql.schema import queues, subscriptions

_Conn = executor.Session
_s = subscriptions.c
_p_now: sa.BindParameter[Any] = sa.bindparam('p_now')
_p_id: sa.BindParameter[Any] = sa.bindparam('p_id')

_COLUMNS = (_s.id, _s.project, _s.queue, _s.subscriber, _s.ttl, _s.options,
            _s.created, _s.secret, _s.confirmed, _s.cursor_marker,
            _s.failures, _s.next_attempt, _s.last_success, _s.last_error,
            _s.last_error_at, _s.confirmation_sent)

_OF_QUEUE = sa.and_(_s.project == sa.bindparam('p_project'),
                    _s.queue == sa.bindparam('p_queue'))
_ALIVE = _s.expires > _p_now
_SAME_KEY = sa.and_(_OF_QUEUE, _s.subscriber_key == sa.bindparam('p_key'))

# The queue's newest marker; locked like a post locks it (create only).
_IS_QUEUE = sa.and_(queues.c.project == sa.bindparam('p_project'),
                    queues.c.name == sa.bindparam('p_queue'))
_COUNTER = sa.select(queues.c.counter).where(_IS_QUEUE)
_LOCK_COUNTER = _COUNTER.with_for_update()


def _key(subscriber: str) -> str:
    return hashlib.sha256(subscriber.encode('utf-8', 'surrogatepass')
                          ).hexdigest()


def _bool(value: Any) -> int:
    return 1 if value else 0


def to_subscription(row: Any) -> models.Subscription:
    return models.Subscription(
        id=row.id, project=row.project, queue=row.queue,
        subscriber=row.subscriber, ttl=row.ttl,
        options=json.loads(row.options), created=row.created,
        secret=row.secret, confirmed=bool(row.confirmed),
        cursor=int(row.cursor_marker), failures=row.failures,
        next_attempt=row.next_attempt, last_success=row.last_success,
        last_error=row.last_error, last_error_at=row.last_error_at,
        confirmation_sent=bool(row.confirmation_sent))


# -- create ----------------------------------------------------------------

_DROP_EXPIRED_KEY = sa.delete(subscriptions).where(_SAME_KEY,
                                                   _s.expires <= _p_now)
_LIVE_KEY = sa.select(_s.id).where(_SAME_KEY, _ALIVE,
                                   _s.id != _p_id)
_INSERT = sa.insert(subscriptions).values(
    {column.name: sa.bindparam(column.name) for column in subscriptions.c})


def _claim_subscriber(conn: _Conn, params: dict[str, Any]) -> None:
    """Make room for subscriber ``p_key`` (subscription ``p_id`` aside):
    drop an expired holder, refuse a live one."""
    conn.execute(_DROP_EXPIRED_KEY, params)
    if conn.execute(_LIVE_KEY, params).first() is not None:
        raise errors.Conflict('this subscriber is already subscribed to '
                              'queue %s' % params['p_queue'])


def create(conn: _Conn, project: str, queue: str, subscriber: str, *,
           ttl: int, options: dict[str, Any], secret: str, confirmed: bool,
           now: float) -> models.Subscription:
    """Insert a subscription; see Storage.create_subscription."""
    key = _key(subscriber)
    params = {'p_project': project, 'p_queue': queue, 'p_key': key,
              'p_now': now, 'p_id': ''}
    newest = conn.execute(_LOCK_COUNTER, params).scalar() or 0
    _claim_subscriber(conn, params)
    row = {
        'id': str(uuid.uuid4()), 'project': project, 'queue': queue,
        'subscriber': subscriber, 'subscriber_key': key, 'ttl': ttl,
        'created': now, 'expires': now + ttl,
        'options': json.dumps(options, separators=(',', ':')),
        'secret': secret, 'confirmed': _bool(confirmed),
        'confirmation_sent': 0, 'cursor_marker': newest, 'failures': 0,
        'next_attempt': 0.0, 'last_success': None, 'last_error': None,
        'last_error_at': None, 'lease_owner': None, 'lease_expires': 0.0,
        'lease_seconds': 0.0,
    }
    conn.execute(_INSERT, row)
    return to_subscription(_Row(row))


class _Row:
    """A dict seen as a row (attribute access), for to_subscription."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


# -- read ------------------------------------------------------------------

_GET = sa.select(*_COLUMNS).where(_OF_QUEUE, _s.id == _p_id, _ALIVE)
_LOCK = (sa.select(*_COLUMNS, _s.lease_owner, _s.lease_expires)
         .where(_OF_QUEUE, _s.id == _p_id, _ALIVE).with_for_update())
_LIST = (sa.select(*_COLUMNS).where(_OF_QUEUE, _ALIVE)
         .order_by(_s.id).limit(sa.bindparam('p_limit')))
_LIST_AFTER = _LIST.where(_s.id > sa.bindparam('p_marker'))


def get(conn: _Conn, project: str, queue: str, subscription_id: str,
        now: float) -> models.Subscription:
    row = conn.execute(_GET, {'p_project': project, 'p_queue': queue,
                              'p_id': subscription_id, 'p_now': now}).first()
    if row is None:
        raise errors.NotFound('subscription %s not found' % subscription_id)
    return to_subscription(row)


def list_(conn: _Conn, project: str, queue: str, marker: str | None,
          limit: int, now: float) -> list[models.Subscription]:
    stmt = _LIST_AFTER if marker else _LIST
    params = {'p_project': project, 'p_queue': queue, 'p_now': now,
              'p_marker': marker, 'p_limit': max(0, limit)}
    return [to_subscription(row) for row in conn.execute(stmt, params)]


# -- update and delete -----------------------------------------------------

_CHANGEABLE = ('subscriber', 'subscriber_key', 'ttl', 'created', 'expires',
               'options', 'confirmed', 'confirmation_sent', 'cursor_marker',
               'failures', 'next_attempt', 'lease_owner', 'lease_expires')
_UPDATE = (sa.update(subscriptions).where(_s.id == _p_id)
           .values({name: sa.bindparam('v_' + name) for name in _CHANGEABLE}))


def update(conn: _Conn, project: str, queue: str, subscription_id: str, *,
           subscriber: str | None, ttl: int | None,
           options: dict[str, Any] | None, confirmed: bool | None,
           now: float) -> models.Subscription:
    """Change the given fields; see Storage.update_subscription.

    A new subscriber starts unconfirmed (unless ``confirmed`` says
    otherwise), with no confirmation sent and no failures. Confirming an
    unconfirmed subscription moves its cursor to the queue's newest
    marker; unconfirming (without a new subscriber) pauses delivery and
    sends no confirmation request. A change of subscriber or of
    confirmation drops the notifier lease, so the old holder's further
    writes are refused and the new state is picked up at once."""
    params = {'p_project': project, 'p_queue': queue, 'p_now': now,
              'p_id': subscription_id}
    row = conn.execute(_LOCK, params).first()
    if row is None:
        raise errors.NotFound('subscription %s not found' % subscription_id)
    values = {name: getattr(row, name) for name in _CHANGEABLE
              if name != 'subscriber_key' and name != 'expires'}
    values['subscriber_key'] = _key(row.subscriber)
    values['expires'] = row.created + row.ttl
    new_subscriber = subscriber is not None and subscriber != row.subscriber
    if new_subscriber:
        assert subscriber is not None
        values['subscriber'] = subscriber
        values['subscriber_key'] = _key(subscriber)
        values['confirmed'] = 0
        values['confirmation_sent'] = 0
        values['failures'] = 0
        values['next_attempt'] = 0.0
        _claim_subscriber(conn, dict(params, p_key=values['subscriber_key']))
    if ttl is not None:
        values.update(ttl=ttl, created=now, expires=now + ttl)
    if options is not None:
        values['options'] = json.dumps(options, separators=(',', ':'))
    if confirmed is not None:
        values['confirmed'] = _bool(confirmed)
        if not confirmed and not new_subscriber:
            values['confirmation_sent'] = 1  # declined: no request
    if values['confirmed'] and not row.confirmed:
        newest = conn.execute(_COUNTER, params).scalar() or 0
        values['cursor_marker'] = max(row.cursor_marker, newest)
    if new_subscriber or values['confirmed'] != row.confirmed:
        values['lease_owner'] = None
        values['lease_expires'] = 0.0
    conn.execute(_UPDATE, dict({'v_' + k: v for k, v in values.items()},
                               p_id=subscription_id))
    return to_subscription(_Row(dict(values, id=row.id, project=project,
                                     queue=queue, secret=row.secret,
                                     last_success=row.last_success,
                                     last_error=row.last_error,
                                     last_error_at=row.last_error_at)))


_DELETE = sa.delete(subscriptions).where(_OF_QUEUE, _s.id == _p_id)
_DELETE_OF_QUEUE = sa.delete(subscriptions).where(_OF_QUEUE)
_SWEEP = sa.delete(subscriptions).where(_s.expires <= _p_now)


def delete(conn: _Conn, project: str, queue: str,
           subscription_id: str) -> None:
    conn.execute(_DELETE, {'p_project': project, 'p_queue': queue,
                           'p_id': subscription_id})


def delete_of_queue(conn: _Conn, project: str, queue: str) -> None:
    """Delete every subscription of the queue (the queue is being
    deleted)."""
    conn.execute(_DELETE_OF_QUEUE, {'p_project': project, 'p_queue': queue})


def sweep(conn: _Conn, now: float) -> int:
    return conn.execute(_SWEEP, {'p_now': now}).rowcount


# -- leases and delivery outcomes ------------------------------------------

_NEWEST_OF_ROW = (sa.select(queues.c.counter)
                  .where(queues.c.project == _s.project,
                         queues.c.name == _s.queue)
                  .scalar_subquery())
# Work: a confirmed subscription behind its queue, or an unconfirmed one
# whose confirmation request is still to be sent. (Messages are never
# delivered before confirmation, and confirming moves the cursor to the
# newest marker, so an unconfirmed subscription has nothing else to do.)
_HAS_WORK = sa.or_(
    sa.and_(_s.confirmed == 1,
            sa.func.coalesce(_NEWEST_OF_ROW, 0) > _s.cursor_marker),
    sa.and_(_s.confirmed == 0, _s.confirmation_sent == 0))
_CANDIDATES = (sa.select(*_COLUMNS)
               .where(_ALIVE, _s.next_attempt <= _p_now,
                      _s.lease_expires <= _p_now, _HAS_WORK)
               .order_by(_s.next_attempt, _s.id)
               .limit(sa.bindparam('p_limit'))
               .with_for_update(skip_locked=True))
_TAKE = (sa.update(subscriptions)
         .where(_s.id.in_(sa.bindparam('p_ids', expanding=True)))
         .values(lease_owner=sa.bindparam('p_owner'),
                 lease_expires=sa.bindparam('p_until'),
                 lease_seconds=sa.bindparam('p_seconds')))


def lease(conn: _Conn, owner: str, *, lease_seconds: float, limit: int,
          now: float) -> list[models.Subscription]:
    """Lease up to ``limit`` subscriptions with work; see
    Storage.lease_subscriptions and the module docstring."""
    if limit <= 0:
        return []
    found = conn.execute(_CANDIDATES, {'p_now': now,
                                       'p_limit': limit}).all()
    if found:
        conn.defer(_TAKE, {'p_ids': [row.id for row in found],
                           'p_owner': owner, 'p_until': now + lease_seconds,
                           'p_seconds': lease_seconds})
    return [to_subscription(row) for row in found]


_p_cursor: sa.BindParameter[Any] = sa.bindparam('p_cursor')
_OUTCOME: dict[str, Any] = {
    # The cursor never moves back (a confirmation may have moved it on).
    'cursor_marker': sa.case((_s.cursor_marker < _p_cursor, _p_cursor),
                             else_=_s.cursor_marker),
    'failures': sa.bindparam('p_failures'),
    'next_attempt': sa.bindparam('p_next'),
    'last_success': sa.func.coalesce(sa.bindparam('p_success'),
                                     _s.last_success),
    'last_error': sa.func.coalesce(sa.bindparam('p_error'), _s.last_error),
    'last_error_at': sa.func.coalesce(sa.bindparam('p_error_at'),
                                      _s.last_error_at),
    'confirmation_sent': sa.func.coalesce(sa.bindparam('p_sent'),
                                          _s.confirmation_sent),
}
_HELD = sa.and_(_s.id == _p_id, _s.lease_owner == sa.bindparam('p_owner'))
_RECORD = (sa.update(subscriptions).where(_HELD)
           .values(dict(_OUTCOME,
                       lease_expires=_p_now + _s.lease_seconds)))
_RECORD_AND_RELEASE = (sa.update(subscriptions).where(_HELD)
                       .values(dict(_OUTCOME, lease_owner=None,
                                    lease_expires=0.0)))


def record(conn: _Conn, subscription_id: str, owner: str,
           outcome: models.DeliveryOutcome, *, release: bool,
           now: float) -> bool:
    """Write the outcome if ``owner`` holds the lease; see
    Storage.record_delivery. The lease is extended by its original length
    from ``now``, or released."""
    sent = outcome.confirmation_sent
    params = {
        'p_id': subscription_id, 'p_owner': owner, 'p_now': now,
        'p_cursor': outcome.cursor, 'p_failures': outcome.failures,
        'p_next': outcome.next_attempt, 'p_success': outcome.success_at,
        'p_error': outcome.error, 'p_error_at': outcome.error_at,
        'p_sent': None if sent is None else _bool(sent),
    }
    stmt = _RECORD_AND_RELEASE if release else _RECORD
    return conn.execute(stmt, params).rowcount > 0
