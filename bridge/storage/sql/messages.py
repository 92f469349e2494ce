"""Message statements: post (with dedup keys), list, get, delete, pop,
purge, trim and sweep. Each function runs inside the caller's transaction.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any, Callable, Sequence

import sqlalchemy as sa

from bridge.storage import codec, errors, models
from bridge.storage.sql import executor
from bridge.storage.sql import queues as sql_queues
from bridge.storage.sql import quotas as sql_quotas
from bridge.storage.sql import rows
from bridge.storage.sql import transactor
from bridge.storage.sql.schema import dedup_keys, messages, queues

_Conn = executor.Session
_p_now: sa.BindParameter[Any] = sa.bindparam('p_now')
_p_id: sa.BindParameter[Any] = sa.bindparam('p_id')
_p_claim: sa.BindParameter[Any] = sa.bindparam('p_claim')
_p_ids: sa.BindParameter[Any] = sa.bindparam('p_ids', expanding=True)
_IN_QUEUE = messages.c.queue_id == sql_queues.QUEUE_ID
_ALIVE = messages.c.expires > _p_now
_CLAIM_ACTIVE = sa.and_(messages.c.claim_id.is_not(None),
                        messages.c.claim_expires > _p_now)


def _params(project: str, queue: str, now: float, **more: Any
            ) -> dict[str, Any]:
    return dict(p_project=project, p_queue=queue, p_now=now, **more)


# -- post ------------------------------------------------------------------

_DEDUP_SEEN = (sa.select(dedup_keys.c.dedup_key, dedup_keys.c.message_id,
                         dedup_keys.c.expires)
               .where(dedup_keys.c.queue_id == sa.bindparam('p_queue_id'),
                      dedup_keys.c.dedup_key.in_(
                          sa.bindparam('p_keys', expanding=True))))
_DEDUP_FORGET = (sa.delete(dedup_keys)
                 .where(dedup_keys.c.queue_id == sa.bindparam('p_queue_id'),
                        dedup_keys.c.dedup_key.in_(
                            sa.bindparam('p_keys', expanding=True))))


def _seen_keys(conn: _Conn, queue_id: int, keys: list[str], now: float
               ) -> dict[str, str]:
    """Dedup keys of the batch the queue has seen within the window, with
    their first message id. Expired entries are removed so that the key
    can be recorded again. Runs while the post holds the counter lock, so
    two posts of one key cannot both miss it (the primary key of
    dedup_keys would reject the second anyway)."""
    seen: dict[str, str] = {}
    expired: list[str] = []
    for row in conn.execute(_DEDUP_SEEN, {'p_queue_id': queue_id,
                                          'p_keys': keys}):
        if row.expires > now:
            seen[row.dedup_key] = row.message_id
        else:
            expired.append(row.dedup_key)
    if expired:
        conn.execute(_DEDUP_FORGET, {'p_queue_id': queue_id,
                                     'p_keys': expired})
    return seen


Seal = Callable[[Sequence[models.NewMessage], dict[str, Any]],
                Sequence[models.NewMessage]]


def post(conn: _Conn, project: str, queue: str,
         batch: Sequence[models.NewMessage], client_id: str | None,
         now: float, dedup_window: int, seal: Seal | None = None
         ) -> list[str]:
    """Insert the batch; see Storage.post_messages. Markers are reserved
    for the whole batch up front (messages skipped as duplicates leave
    gaps, which readers never notice). ``seal(batch, metadata)`` gives
    the batch as stored under the queue's current metadata."""
    queue_id, marker, meta = sql_queues.reserve_markers(conn, project, queue,
                                                        len(batch), now)
    if seal is not None:
        batch = seal(batch, json.loads(meta))
    return _insert(conn, queue_id, marker, batch, client_id, now,
                   dedup_window)


Prepare = Callable[[dict[str, Any]], Sequence[models.NewMessage]]


def post_prepared(conn: _Conn, project: str, queue: str,
                  batch: Sequence[models.NewMessage], prepared_for: str,
                  prepare: Prepare, client_id: str | None, now: float,
                  dedup_window: int, max_messages: int | None = None,
                  max_queues: int | None = None) -> tuple[list[str], str]:
    """Insert ``batch``, which ``prepare`` made for the queue metadata
    ``prepared_for`` (JSON text); if the queue's metadata is no longer
    that, prepare the batch again for the current metadata first (which
    may refuse it). Return the ids and the metadata the post obeyed.
    Quotas: see :mod:`.quotas`."""
    queue_id, marker, current = sql_queues.reserve_markers(
        conn, project, queue, len(batch), now, max_queues)
    sql_quotas.check_messages(conn, queue_id, len(batch), max_messages, now)
    if current != prepared_for:
        count = len(batch)
        batch = prepare(json.loads(current))
        if len(batch) != count:  # the markers reserved are for ``count``
            raise ValueError('prepare() made %d messages, then %d'
                             % (count, len(batch)))
    return (_insert(conn, queue_id, marker, batch, client_id, now,
                    dedup_window), current)


def _insert(conn: _Conn, queue_id: int, marker: int,
            batch: Sequence[models.NewMessage], client_id: str | None,
            now: float, dedup_window: int) -> list[str]:
    keys = sorted({m.dedup_key for m in batch if m.dedup_key is not None})
    seen = _seen_keys(conn, queue_id, keys, now) if keys else {}
    ids: list[str] = []
    new_rows: list[dict[str, Any]] = []
    new_keys: list[dict[str, Any]] = []
    for message in batch:
        key = message.dedup_key
        if key is not None and key in seen:
            ids.append(seen[key])
            continue
        message_id = str(uuid.uuid4())
        if key is not None:
            seen[key] = message_id
            new_keys.append({'queue_id': queue_id, 'dedup_key': key,
                             'message_id': message_id,
                             'expires': now + dedup_window})
        ids.append(message_id)
        new_rows.append(new_row(queue_id, marker, message_id, message,
                                 client_id, now))
        marker += 1
    if new_rows:
        conn.insert_rows(_INSERT_MESSAGE, new_rows)
    if new_keys:
        conn.insert_rows(_INSERT_KEY, new_keys)
    return ids


_INSERT_MESSAGE = sa.insert(messages).values(
    {column.name: sa.bindparam(column.name) for column in messages.c})
_INSERT_KEY = sa.insert(dedup_keys).values(
    {column.name: sa.bindparam(column.name) for column in dedup_keys.c})


def new_row(queue_id: int, marker: int, message_id: str,
             message: models.NewMessage, client_id: str | None,
             now: float) -> dict[str, Any]:
    # An undelayed message is visible from the start of time, not from
    # ``now``: a reader whose clock reading predates this post's would
    # otherwise hide it as "delayed" yet show a later marker posted with an
    # earlier clock reading (posts wait for the counter lock after reading
    # the clock), and so skip it for good.
    visible_at = now + message.delay if message.delay > 0 else 0.0
    return {
        'queue_id': queue_id, 'marker': marker, 'id': message_id,
        'body': codec.stored_text(message.body, rows.dump_body),
        'ttl': message.ttl,
        'created': now, 'visible_at': visible_at,
        'expires': now + message.ttl, 'client_id': client_id,
        'claim_id': None, 'claim_expires': None, 'claim_updated': None,
        'claim_ttl': None, 'claim_grace': None, 'claim_count': 0,
    }


def insert_moved(conn: _Conn, project: str, queue: str,
                 moved: Sequence[tuple[Any, int]], now: float) -> None:
    """Insert ``(row, ttl)`` pairs taken from another queue (dead letters)
    at the end of this one, keeping id, body and Client-ID."""
    queue_id, marker, _ = sql_queues.reserve_markers(conn, project, queue,
                                                     len(moved), now)
    new_rows = []
    for offset, (row, ttl) in enumerate(moved):
        message = models.NewMessage(body=None, ttl=ttl)
        moved_row = new_row(queue_id, marker + offset, row.id, message,
                            row.client_id, now)
        moved_row['body'] = row.body
        new_rows.append(moved_row)
    conn.insert_rows(_INSERT_MESSAGE, new_rows)


# -- read ------------------------------------------------------------------

@functools.cache
def _listing(delayed: bool, claimed: bool, others_only: bool) -> Any:
    """The page statement for one combination of list filters."""
    stmt = (sa.select(*rows.MESSAGE_COLUMNS)
            .where(_IN_QUEUE, messages.c.marker > sa.bindparam('p_marker'),
                   _ALIVE)
            .order_by(messages.c.marker).limit(sa.bindparam('p_limit')))
    if not delayed:
        stmt = stmt.where(messages.c.visible_at <= _p_now)
    if not claimed:
        stmt = stmt.where(sa.not_(_CLAIM_ACTIVE))
    if others_only:
        stmt = stmt.where(sa.or_(messages.c.client_id.is_(None),
                                 messages.c.client_id
                                 != sa.bindparam('p_client')))
    return stmt


def list_(conn: _Conn, project: str, queue: str, *, marker: int,
          limit: int, client_id: str | None, echo: bool,
          include_claimed: bool, include_delayed: bool, now: float
          ) -> list[models.Message]:
    stmt = _listing(include_delayed, include_claimed,
                    client_id is not None and not echo)
    params = _params(project, queue, now, p_marker=marker,
                     p_limit=max(0, limit), p_client=client_id)
    return [rows.to_message(row, now) for row in conn.execute(stmt, params)]


_GET = (sa.select(*rows.MESSAGE_COLUMNS)
        .where(_IN_QUEUE, messages.c.id.in_(_p_ids), _ALIVE))


def get(conn: _Conn, project: str, queue: str, ids: Sequence[str],
        now: float) -> list[models.Message]:
    if not ids:
        return []
    found = {row.id: rows.to_message(row, now) for row in
             conn.execute(_GET, _params(project, queue, now,
                                        p_ids=list(ids)))}
    return [found[i] for i in ids if i in found]


# -- delete ----------------------------------------------------------------

_DELETE_UNCLAIMED = sa.delete(messages).where(
    _IN_QUEUE, messages.c.id == _p_id, _ALIVE, sa.not_(_CLAIM_ACTIVE))
_DELETE_CLAIMED = sa.delete(messages).where(
    _IN_QUEUE, messages.c.id == _p_id, _ALIVE, _CLAIM_ACTIVE,
    messages.c.claim_id == _p_claim)
_STATE = sa.select(messages.c.claim_id, messages.c.claim_expires).where(
    _IN_QUEUE, messages.c.id == _p_id, _ALIVE)
for _statement in (_DELETE_UNCLAIMED, _DELETE_CLAIMED, _STATE):
    executor.prepared(_statement)


def delete_one(conn: _Conn, project: str, queue: str, message_id: str,
               claim_id: str | None, now: float) -> None:
    """Delete one message: one statement when the caller has the right to;
    only a refused delete reads the row to say why."""
    params = _params(project, queue, now, p_id=message_id, p_claim=claim_id)
    stmt = _DELETE_UNCLAIMED if claim_id is None else _DELETE_CLAIMED
    if conn.execute(stmt, params).rowcount:
        return
    row = conn.execute(_STATE, params).first()
    if row is None:
        return  # unknown or expired: nothing to do
    holder = rows.active_claim(row, now)
    if claim_id is not None:
        raise errors.ClaimMismatch(
            'claim %s does not hold message %s' % (claim_id, message_id))
    if holder is not None:
        raise errors.MessageIsClaimed(
            'message %s is claimed; give its claim id' % message_id)
    # Released between our two statements: run again.
    raise transactor.Retry()


_LOCK_BY_IDS = (sa.select(messages.c.marker, messages.c.claim_id,
                          messages.c.claim_expires)
                .where(_IN_QUEUE, messages.c.id.in_(_p_ids), _ALIVE)
                .with_for_update())


def delete_many(conn: _Conn, project: str, queue: str, ids: Sequence[str],
                claim_ids: Sequence[str], now: float) -> None:
    """All-or-nothing bulk delete: lock the named rows, check every claim,
    then delete."""
    if not ids:
        return
    params = _params(project, queue, now, p_ids=list(ids))
    found = conn.execute(_LOCK_BY_IDS, params).all()
    allowed = set(claim_ids)
    for row in found:
        holder = rows.active_claim(row, now)
        if holder is not None and holder not in allowed:
            raise errors.MessageIsClaimed(
                'a message is claimed; give its claim id')
    if found:
        delete_markers(conn, project, queue, [r.marker for r in found])


_DELETE_MARKERS = sa.delete(messages).where(
    _IN_QUEUE, messages.c.marker.in_(sa.bindparam('p_markers',
                                                  expanding=True)))


def delete_markers(conn: _Conn, project: str, queue: str,
                   markers: list[int]) -> None:
    conn.defer(_DELETE_MARKERS, {'p_project': project, 'p_queue': queue,
                                 'p_markers': markers})


# The queue's metadata rides along (a claim needs its dead letter policy)
# without costing a round trip. A locking read does not lock the rows a
# subquery reads, so the queue row stays free for posters.
_QUEUE_META = (sa.select(queues.c.meta)
               .where(queues.c.id == messages.c.queue_id)
               .scalar_subquery().label('queue_meta'))
_CANDIDATES = (sa.select(*rows.MESSAGE_COLUMNS, _QUEUE_META)
               .where(_IN_QUEUE,
                      messages.c.marker > sa.bindparam('p_after'),
                      rows.unclaimed_and_visible(_p_now))
               .order_by(messages.c.marker).limit(sa.bindparam('p_limit'))
               .with_for_update(skip_locked=True))
executor.prepared(_CANDIDATES)


def take_candidates(conn: _Conn, project: str, queue: str, limit: int,
                    now: float, after: int = 0) -> list[Any]:
    """Lock and return up to ``limit`` claimable rows, oldest first, each
    with its queue's metadata (JSON) as ``queue_meta``.

    PostgreSQL and MariaDB: ``FOR UPDATE SKIP LOCKED`` (as pgmq does)
    locks the rows for this transaction and passes over rows another
    transaction has locked, so concurrent claimers take disjoint sets
    without waiting for each other; a row that another claimer committed
    meanwhile is re-checked against the WHERE clause before being locked.
    SQLite: the transaction already holds the database write lock
    (BEGIN IMMEDIATE), so nobody else can take these rows."""
    params = _params(project, queue, now, p_after=after, p_limit=limit)
    return conn.execute(_CANDIDATES, params).all()


def pop(conn: _Conn, project: str, queue: str, limit: int, now: float
        ) -> list[models.Message]:
    if limit <= 0:
        return []
    taken = take_candidates(conn, project, queue, limit, now)
    if taken:
        delete_markers(conn, project, queue, [r.marker for r in taken])
    return [rows.to_message(r, now) for r in taken]


_PURGE = sa.delete(messages).where(_IN_QUEUE)


def purge(conn: _Conn, project: str, queue: str) -> None:
    conn.execute(_PURGE, {'p_project': project, 'p_queue': queue})


# The newest marker beyond the depth limit, then everything up to it.
_TRIM_CUT = (sa.select(messages.c.marker).where(_IN_QUEUE, _ALIVE)
             .order_by(messages.c.marker.desc())
             .limit(1).offset(sa.bindparam('p_depth')))
_TRIM = sa.delete(messages).where(
    _IN_QUEUE, _ALIVE, messages.c.marker <= sa.bindparam('p_cut'))


def trim(conn: _Conn, project: str, queue: str, max_depth: int,
         now: float) -> int:
    """Delete the oldest unexpired messages beyond ``max_depth``."""
    params = _params(project, queue, now, p_depth=max(0, max_depth))
    cut = conn.execute(_TRIM_CUT, params).scalar()
    if cut is None:
        return 0
    params['p_cut'] = cut
    return conn.execute(_TRIM, params).rowcount


_SWEEP = (sa.delete(messages).where(messages.c.expires <= _p_now),
          sa.delete(dedup_keys).where(dedup_keys.c.expires <= _p_now))


def sweep(conn: _Conn, now: float) -> int:
    removed = conn.execute(_SWEEP[0], {'p_now': now}).rowcount
    conn.execute(_SWEEP[1], {'p_now': now})
    return removed

