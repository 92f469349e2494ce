"""Queue rows: lookup, lazy creation, marker allocation, listing, stats.

Every function takes an open transaction (``conn``) and does its work in as
few statements as it can; :mod:`.driver` decides where transactions begin
and end.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from bridge.storage import models
from bridge.storage.sql import executor
from bridge.storage.sql import quotas as sql_quotas
from bridge.storage.sql import rows
from bridge.storage.sql import transactor
from bridge.storage.sql.schema import dedup_keys, messages, queues

_Conn = executor.Session

_IS_QUEUE = sa.and_(queues.c.project == sa.bindparam('p_project'),
                    queues.c.name == sa.bindparam('p_queue'))

#: The id of queue (p_project, p_queue), as a scalar subquery: statements
#: that only need the id resolve it on the server, in the same round trip.
QUEUE_ID = sa.select(queues.c.id).where(_IS_QUEUE).scalar_subquery()

_SELECT_QUEUE = sa.select(queues.c.id, queues.c.meta).where(_IS_QUEUE)

# Marker allocation: how posts commit in marker order
# ---------------------------------------------------
# A post first adds the number of messages it writes to its queue's counter
# row. The UPDATE takes that row's write lock, which is held until the post
# commits, so a second post to the same queue waits at this statement until
# the first one has committed (or rolled back). Markers are therefore
# committed in increasing order per queue: once a reader sees marker m, all
# markers below m are committed or will never exist, and a reader paging
# with "marker > last seen" cannot skip a message. The same statement
# returns the queue id, so a post is: bump counter, insert messages, commit.
# It also returns the queue's metadata, which cannot change before the post
# commits (changing it needs the same row lock): what the post must obey.
_BUMP = (sa.update(queues).where(_IS_QUEUE)
         .values(counter=queues.c.counter + sa.bindparam('p_count')))
_BUMP_RETURNING = _BUMP.returning(queues.c.id, queues.c.counter,
                                  queues.c.meta)
# MariaDB has no UPDATE ... RETURNING: read the row back (this transaction
# holds its lock, so the value is ours).
_COUNTER = sa.select(queues.c.id, queues.c.counter,
                     queues.c.meta).where(_IS_QUEUE)

_NEW_QUEUE: dict[str, Any] = {
    column: sa.bindparam(column)
    for column in ('project', 'name', 'meta', 'counter', 'created')}


@functools.cache
def _insert_if_missing(dialect: str) -> Any:
    if dialect == 'postgresql':
        return (postgresql.insert(queues).values(_NEW_QUEUE)
                .on_conflict_do_nothing())
    if dialect == 'sqlite':
        return (sqlite.insert(queues).values(_NEW_QUEUE)
                .on_conflict_do_nothing())
    # MariaDB: a plain INSERT; create() treats a duplicate key as "exists"
    # (INSERT IGNORE would also silently truncate over-long values).
    return mysql.insert(queues).values(_NEW_QUEUE)


def _params(project: str, name: str) -> dict[str, Any]:
    return {'p_project': project, 'p_queue': name}


def lookup(conn: _Conn, project: str, name: str
           ) -> tuple[int, dict[str, Any]] | None:
    """(id, metadata) of the queue, or None."""
    row = conn.execute(_SELECT_QUEUE, _params(project, name)).first()
    if row is None:
        return None
    return row.id, json.loads(row.meta)


_SELECT_META = sa.select(queues.c.meta).where(_IS_QUEUE)


def metadata_text(conn: _Conn, project: str, name: str) -> str | None:
    """The queue's metadata as stored (JSON text), or None."""
    return conn.execute(_SELECT_META, _params(project, name)).scalar()


def create(conn: _Conn, project: str, name: str, meta: dict[str, Any],
           now: float) -> bool:
    """Insert the queue unless it exists; True if this call created it."""
    stmt = _insert_if_missing(conn.dialect.name)
    row = {'project': project, 'name': name, 'meta': json.dumps(meta),
           'counter': 0, 'created': now}
    try:
        return conn.execute(stmt, row).rowcount == 1
    except conn.dialect.loaded_dbapi.IntegrityError:
        if conn.dialect.name in ('postgresql', 'sqlite'):
            raise
        return False  # InnoDB undid just this statement


def reserve_markers(conn: _Conn, project: str, name: str, count: int,
                    now: float, max_queues: int | None = None
                    ) -> tuple[int, int, str]:
    """Lock the queue's counter until commit, creating the queue if it is
    missing (QuotaExceeded if the project has ``max_queues`` already), and
    reserve ``count`` markers. Return (queue id, first reserved marker,
    metadata as stored: JSON text)."""
    params = {'p_project': project, 'p_queue': name, 'p_count': count}
    returning = conn.dialect.update_returning
    for _ in range(3):
        if returning:
            row = conn.execute(_BUMP_RETURNING, params).first()
        elif conn.execute(_BUMP, params).rowcount:
            row = conn.execute(_COUNTER, params).first()
        else:
            row = None
        if row is not None:
            return row.id, row.counter - count + 1, row.meta
        # Lazy creation; a concurrent creator makes this a no-op and the
        # next UPDATE finds its row.
        sql_quotas.check_queues(conn, project, max_queues)
        create(conn, project, name, {}, now)
    # The queue was deleted again between our insert and update each time.
    raise transactor.Retry()


_SET_META = (sa.update(queues).where(_IS_QUEUE)
             .values(meta=sa.bindparam('p_meta')))


def set_metadata(conn: _Conn, project: str, name: str,
                 meta: dict[str, Any]) -> bool:
    params = dict(_params(project, name), p_meta=json.dumps(meta))
    return conn.execute(_SET_META, params).rowcount > 0


@functools.cache
def _listing(dialect: str, count_only: bool, after: bool,
             contains: bool) -> Any:
    """The statement listing (or counting) a project's queues."""
    where = [queues.c.project == sa.bindparam('p_project')]
    if after:
        where.append(queues.c.name > sa.bindparam('p_marker'))
    if contains and dialect == 'sqlite':
        # SQLite's LIKE ignores ASCII case; instr() does not.
        where.append(sa.func.instr(queues.c.name,
                                   sa.bindparam('p_text')) > 0)
    elif contains:
        where.append(queues.c.name.like(sa.bindparam('p_like'), escape='/'))
    if count_only:
        return sa.select(sa.func.count()).select_from(queues).where(*where)
    return (sa.select(queues.c.name, queues.c.meta).where(*where)
            .order_by(queues.c.name).limit(sa.bindparam('p_limit')))


def _filter_params(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    escaped = (text.replace('/', '//').replace('%', '/%')
               .replace('_', '/_'))
    return {'p_text': text, 'p_like': '%' + escaped + '%'}


def list_(conn: _Conn, project: str, marker: str | None, limit: int,
          text: str | None) -> list[tuple[str, dict[str, Any]]]:
    stmt = _listing(conn.dialect.name, False, bool(marker), bool(text))
    params = {'p_project': project, 'p_marker': marker,
              'p_limit': max(0, limit), **_filter_params(text)}
    return [(row.name, json.loads(row.meta))
            for row in conn.execute(stmt, params)]


def count(conn: _Conn, project: str, text: str | None) -> int:
    stmt = _listing(conn.dialect.name, True, False, bool(text))
    params = {'p_project': project, **_filter_params(text)}
    return int(conn.execute(stmt, params).scalar_one())


_p_queue_id: sa.BindParameter[Any] = sa.bindparam('p_queue_id')
_LOCK_QUEUE = sa.select(queues.c.id).where(_IS_QUEUE).with_for_update()
_DROP = (sa.delete(messages).where(messages.c.queue_id == _p_queue_id),
         sa.delete(dedup_keys).where(dedup_keys.c.queue_id == _p_queue_id),
         sa.delete(queues).where(queues.c.id == _p_queue_id))


def delete(conn: _Conn, project: str, name: str) -> None:
    """Delete the queue, its messages and its dedup keys."""
    # Lock the queue row first: a post in flight finishes before we delete
    # its messages, and a later post waits, then re-creates the queue.
    queue_id = conn.execute(_LOCK_QUEUE, _params(project, name)).scalar()
    if queue_id is None:
        return
    for stmt in _DROP:
        conn.execute(stmt, {'p_queue_id': queue_id})


_p_now: sa.BindParameter[Any] = sa.bindparam('p_now')
_is_delayed = messages.c.visible_at > _p_now
_is_claimed = sa.and_(messages.c.visible_at <= _p_now,
                      messages.c.claim_id.is_not(None),
                      messages.c.claim_expires > _p_now)
_COUNTS = (sa.select(
    sa.func.count().label('total'),
    sa.func.coalesce(sa.func.sum(sa.case((_is_delayed, 1), else_=0)), 0)
    .label('delayed'),
    sa.func.coalesce(sa.func.sum(sa.case((_is_claimed, 1), else_=0)), 0)
    .label('claimed'))
    .where(messages.c.queue_id == QUEUE_ID, messages.c.expires > _p_now))
_VISIBLE = (sa.select(*rows.MESSAGE_COLUMNS)
            .where(messages.c.queue_id == QUEUE_ID,
                   messages.c.expires > _p_now,
                   messages.c.visible_at <= _p_now)
            .limit(1))
_OLDEST = _VISIBLE.order_by(messages.c.marker)
_NEWEST = _VISIBLE.order_by(messages.c.marker.desc())


def stats(conn: _Conn, project: str, name: str, now: float
          ) -> models.QueueStats:
    params = dict(_params(project, name), p_now=now)
    counts = conn.execute(_COUNTS, params).one()
    if not counts.total:
        return models.QueueStats(free=0, claimed=0, delayed=0,
                               oldest=None, newest=None)
    oldest = conn.execute(_OLDEST, params).first()
    newest = conn.execute(_NEWEST, params).first()
    return models.QueueStats(
        free=int(counts.total - counts.delayed - counts.claimed),
        claimed=int(counts.claimed), delayed=int(counts.delayed),
        oldest=rows.to_message(oldest, now) if oldest else None,
        newest=rows.to_message(newest, now) if newest else None)
