"""Quotas on SQL: the per-project overrides (table ``quotas``) and the
counts a write checks before it inserts (see the Storage module docstring
for the guarantees). Each function runs inside the caller's transaction.

How a per-project count stays exact under concurrency: the writer first
locks the project's rows (``SELECT ... FOR UPDATE``), so a second writer
in the same project waits there until the first commits.

* SQLite: the write transaction already holds the database lock.
* PostgreSQL and MariaDB (both run at READ COMMITTED, see :mod:`.engine`):
  the lock makes the second writer wait for the first; the count that
  follows is a new statement, which sees what the first committed. A
  project with no row yet has nothing to lock: its first creations can
  race past a quota of 1.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from bridge.storage import errors
from bridge.storage.sql import executor
from bridge.storage.sql.schema import messages, queues, quotas, subscriptions

_Conn = executor.Session

_LIVE_MESSAGES = (sa.select(sa.func.count()).select_from(messages)
                  .where(messages.c.queue_id == sa.bindparam('p_queue_id'),
                         messages.c.expires > sa.bindparam('p_now')))
_QUEUES = (sa.select(sa.func.count()).select_from(queues)
           .where(queues.c.project == sa.bindparam('p_project')))
_LOCK_QUEUES = (sa.select(queues.c.id)
                .where(queues.c.project == sa.bindparam('p_project'))
                .with_for_update())
_LIVE_SUBSCRIPTIONS = (
    sa.select(sa.func.count()).select_from(subscriptions)
    .where(subscriptions.c.project == sa.bindparam('p_project'),
           subscriptions.c.expires > sa.bindparam('p_now')))
_LOCK_SUBSCRIPTIONS = (
    sa.select(subscriptions.c.id)
    .where(subscriptions.c.project == sa.bindparam('p_project'))
    .with_for_update())


def check_messages(conn: _Conn, queue_id: int, adding: int,
                   max_messages: int | None, now: float) -> None:
    """QuotaExceeded if the queue would hold more than ``max_messages``
    unexpired messages with ``adding`` more. The caller holds the queue's
    counter lock (:func:`.queues.reserve_markers`), so no other post to
    the queue can commit between this count and its own commit."""
    if max_messages is None:
        return
    held = conn.execute(_LIVE_MESSAGES, {'p_queue_id': queue_id,
                                         'p_now': now}).scalar_one()
    if int(held) + adding > max_messages:
        raise errors.QuotaExceeded('messages in queue', max_messages)


def check_queues(conn: _Conn, project: str, max_queues: int | None) -> None:
    """QuotaExceeded if the project already has ``max_queues`` queues."""
    if max_queues is None:
        return
    params = {'p_project': project}
    conn.execute(_LOCK_QUEUES, params)
    if conn.execute(_QUEUES, params).scalar_one() >= max_queues:
        raise errors.QuotaExceeded('queues', max_queues)


def count_subscriptions(conn: _Conn, project: str, now: float) -> int:
    """The project's unexpired subscriptions."""
    return int(conn.execute(_LIVE_SUBSCRIPTIONS, {
        'p_project': project, 'p_now': now}).scalar_one())


def check_subscriptions(conn: _Conn, project: str,
                        max_subscriptions: int | None, now: float) -> None:
    if max_subscriptions is None:
        return
    params = {'p_project': project, 'p_now': now}
    conn.execute(_LOCK_SUBSCRIPTIONS, params)
    held = conn.execute(_LIVE_SUBSCRIPTIONS, params).scalar_one()
    if int(held) >= max_subscriptions:
        raise errors.QuotaExceeded('subscriptions', max_subscriptions)


# -- overrides -------------------------------------------------------------

_ROW: dict[str, Any] = {'project': sa.bindparam('project'),
        'resource': sa.bindparam('resource'),
        'hard_limit': sa.bindparam('hard_limit')}


def set_(conn: _Conn, project: str, resource: str, limit: int) -> None:
    row = {'project': project, 'resource': resource, 'hard_limit': limit}
    dialect = conn.dialect.name
    stmt: Any
    if dialect == 'postgresql':
        ins = postgresql.insert(quotas).values(_ROW)
        stmt = ins.on_conflict_do_update(
            index_elements=['project', 'resource'],
            set_={'hard_limit': ins.excluded.hard_limit})
    elif dialect == 'sqlite':
        ins_s = sqlite.insert(quotas).values(_ROW)
        stmt = ins_s.on_conflict_do_update(
            index_elements=['project', 'resource'],
            set_={'hard_limit': ins_s.excluded.hard_limit})
    else:
        ins_m = mysql.insert(quotas).values(_ROW)
        stmt = ins_m.on_duplicate_key_update(
            hard_limit=ins_m.inserted.hard_limit)
    conn.execute(stmt, row)


_OF_PROJECT = (sa.select(quotas.c.resource, quotas.c.hard_limit)
               .where(quotas.c.project == sa.bindparam('p_project')))
_ALL = sa.select(quotas.c.project, quotas.c.resource,
                 quotas.c.hard_limit).order_by(quotas.c.project,
                                               quotas.c.resource)
_DELETE_ALL = sa.delete(quotas).where(
    quotas.c.project == sa.bindparam('p_project'))
_DELETE_ONE = _DELETE_ALL.where(
    quotas.c.resource == sa.bindparam('p_resource'))


def get(conn: _Conn, project: str) -> dict[str, int]:
    return {row.resource: int(row.hard_limit)
            for row in conn.execute(_OF_PROJECT, {'p_project': project})}


def list_(conn: _Conn) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for row in conn.execute(_ALL):
        found.setdefault(row.project, {})[row.resource] = int(row.hard_limit)
    return found


def delete(conn: _Conn, project: str, resource: str | None) -> None:
    if resource is None:
        conn.execute(_DELETE_ALL, {'p_project': project})
    else:
        conn.execute(_DELETE_ONE, {'p_project': project,
                                   'p_resource': resource})
