"""The ownership index in SQL: rows of the ``ownership`` table.

Every function runs inside the caller's transaction (see :mod:`.driver`).

How the guarantees hold
-----------------------
* **Upserts without lost updates**: :func:`record` reads the batch's
  existing rows, inserts the missing ones (one multi-row INSERT) and sends
  an UPDATE only for a field that changes. Each UPDATE sets one field and
  carries its own condition (``project <> new``, ``expires > new``), so two
  processes recording the same resource never undo each other's change:
  a later "the resource lives" never clears an expiry a delete set.
* **Concurrent inserts**: two processes inserting the same new key collide
  on the primary key; the transactor runs the loser again, which then
  finds the row and updates it.
* **One round trip per lookup**: one SELECT with an IN list per batch.
"""

from __future__ import annotations

from typing import Any, Sequence

import sqlalchemy as sa

from bridge.storage import models
from bridge.storage.sql import executor
from bridge.storage.sql.schema import ownership

_Conn = executor.Session
_o = ownership.c
_p_ids: sa.BindParameter[Any] = sa.bindparam('p_ids', expanding=True)
_KEY = sa.and_(_o.resource_type == sa.bindparam('p_type'),
               _o.resource_id == sa.bindparam('p_id'))

_SELECT = sa.select(_o.resource_type, _o.resource_id, _o.project,
                    _o.expires).where(_o.resource_id.in_(_p_ids))
_SELECT_ALIVE = _SELECT.where(_o.expires > sa.bindparam('p_now'))
_INSERT = sa.insert(ownership).values(
    {column.name: sa.bindparam(column.name) for column in ownership.c})
_SET_PROJECT = (sa.update(ownership)
                .where(_KEY, _o.project != sa.bindparam('p_project'))
                .values(project=sa.bindparam('p_project'),
                        updated=sa.bindparam('p_now')))
_SET_EXPIRES = (sa.update(ownership)
                .where(_KEY, _o.expires > sa.bindparam('p_expires'))
                .values(expires=sa.bindparam('p_expires'),
                        updated=sa.bindparam('p_now')))
_SWEEP = sa.delete(ownership).where(_o.expires <= sa.bindparam('p_now'))

#: Most ids in one IN list (SQLite allows 32766 parameters).
_CHUNK = 500


def _rows(conn: _Conn, stmt: Any, ids: Sequence[str],
          params: dict[str, Any]) -> list[Any]:
    found: list[Any] = []
    for start in range(0, len(ids), _CHUNK):
        found += conn.execute(stmt, dict(params,
                                         p_ids=ids[start:start + _CHUNK]))
    return found


def record(conn: _Conn, entries: Sequence[models.Ownership],
           now: float) -> None:
    """See Storage.record_owners."""
    merged = models.merge_ownership(entries)
    if not merged:
        return
    ids = sorted({key[1] for key in merged})
    existing = {(row.resource_type, row.resource_id): row
                for row in _rows(conn, _SELECT, ids, {})}
    new_rows = []
    for key in sorted(merged):  # a stable lock order between processes
        entry = merged[key]
        row = existing.get(key)
        if row is None:
            new_rows.append({'resource_type': key[0], 'resource_id': key[1],
                             'project': entry.project,
                             'expires': entry.expires, 'updated': now})
            continue
        params = {'p_type': key[0], 'p_id': key[1], 'p_now': now}
        if row.project != entry.project:
            conn.execute(_SET_PROJECT, dict(params, p_project=entry.project))
        if entry.expires < row.expires:
            conn.execute(_SET_EXPIRES, dict(params, p_expires=entry.expires))
    if new_rows:
        conn.insert_rows(_INSERT, new_rows)


def lookup(conn: _Conn, keys: Sequence[tuple[str, str]], now: float
           ) -> dict[tuple[str, str], models.Ownership]:
    """See Storage.lookup_owners."""
    wanted = set(keys)
    if not wanted:
        return {}
    ids = sorted({key[1] for key in wanted})
    found = {}
    for row in _rows(conn, _SELECT_ALIVE, ids, {'p_now': now}):
        key = (row.resource_type, row.resource_id)
        if key in wanted:
            found[key] = models.Ownership(row.resource_type, row.resource_id,
                                          row.project, row.expires)
    return found


def sweep(conn: _Conn, now: float) -> int:
    return conn.execute(_SWEEP, {'p_now': now}).rowcount
