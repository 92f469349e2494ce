"""The pool catalog (:class:`bridge.storage.catalog.Catalog`) in the
``catalog_entries`` and ``placements`` tables.

Concurrency: :meth:`SqlCatalog.place` and a creating :meth:`SqlCatalog.put`
read, then insert, in one write transaction. Two callers racing past the
read collide on the primary key; the transactor reruns the loser, which
then reads the winner's row. So exactly one placement per queue is ever
recorded, and every caller returns it.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from bridge.storage import catalog
from bridge.storage.sql import executor
from bridge.storage.sql import transactor
from bridge.storage.sql.schema import catalog_entries, placements

_Conn = executor.Session
_e = catalog_entries.c
_p = placements.c

_IS_ENTRY = sa.and_(_e.kind == sa.bindparam('p_kind'),
                    _e.name == sa.bindparam('p_name'))
_GET = sa.select(_e.doc).where(_IS_ENTRY)
_INSERT = sa.insert(catalog_entries).values(
    kind=sa.bindparam('p_kind'), name=sa.bindparam('p_name'),
    doc=sa.bindparam('p_doc'))
_UPDATE = sa.update(catalog_entries).where(_IS_ENTRY).values(
    doc=sa.bindparam('p_doc'))
_DELETE = sa.delete(catalog_entries).where(_IS_ENTRY)
_LIST = (sa.select(_e.name, _e.doc)
         .where(_e.kind == sa.bindparam('p_kind'),
                _e.name > sa.bindparam('p_marker'))
         .order_by(_e.name).limit(sa.bindparam('p_limit')))

_IS_PLACED = sa.and_(_p.project == sa.bindparam('p_project'),
                     _p.queue == sa.bindparam('p_queue'))
_PLACEMENT = sa.select(_p.pool).where(_IS_PLACED)
_PLACE = sa.insert(placements).values(
    project=sa.bindparam('p_project'), queue=sa.bindparam('p_queue'),
    pool=sa.bindparam('p_pool'))
_UNPLACE = sa.delete(placements).where(_IS_PLACED)
_PLACED_ON = (sa.select(_p.project, _p.queue)
              .where(_p.pool == sa.bindparam('p_pool'))
              .limit(sa.bindparam('p_limit')))

_ALL = 2 ** 31 - 1


class SqlCatalog(catalog.Catalog):
    """The catalog in the database of ``tx`` (the SQL driver's
    transactor)."""

    def __init__(self, tx: transactor.Transactor) -> None:
        self._tx = tx

    def put(self, kind: str, name: str, doc: dict[str, Any], *,
            create: bool) -> bool:
        params = {'p_kind': kind, 'p_name': name, 'p_doc': json.dumps(doc)}

        def work(conn: _Conn) -> bool:
            exists = conn.execute(_GET, params).first() is not None
            if exists and create:
                return False
            conn.execute(_UPDATE if exists else _INSERT, params)
            return True
        return self._tx.write(work)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        text = self._tx.autocommit(lambda conn: conn.execute(
            _GET, {'p_kind': kind, 'p_name': name}).scalar())
        return None if text is None else json.loads(text)

    def entries(self, kind: str, *, marker: str | None = None,
             limit: int | None = None) -> list[tuple[str, dict[str, Any]]]:
        params = {'p_kind': kind, 'p_marker': marker or '',
                  'p_limit': _ALL if limit is None else limit}
        rows = self._tx.autocommit(
            lambda conn: conn.execute(_LIST, params).all())
        return [(row.name, json.loads(row.doc)) for row in rows]

    def delete(self, kind: str, name: str) -> None:
        self._tx.autocommit(lambda conn: conn.execute(
            _DELETE, {'p_kind': kind, 'p_name': name}))

    def place(self, project: str, queue: str, pool: str) -> str:
        params = {'p_project': project, 'p_queue': queue, 'p_pool': pool}

        def work(conn: _Conn) -> str:
            found = conn.execute(_PLACEMENT, params).scalar()
            if found is not None:
                return str(found)
            conn.execute(_PLACE, params)
            return pool
        return self._tx.write(work)

    def placement(self, project: str, queue: str) -> str | None:
        return self._tx.autocommit(lambda conn: conn.execute(
            _PLACEMENT, {'p_project': project, 'p_queue': queue}).scalar())

    def placed_on(self, pool: str, *, limit: int) -> list[tuple[str, str]]:
        rows = self._tx.autocommit(lambda conn: conn.execute(
            _PLACED_ON, {'p_pool': pool, 'p_limit': limit}).all())
        return [(row.project, row.queue) for row in rows]

    def unplace(self, project: str, queue: str) -> None:
        self._tx.autocommit(lambda conn: conn.execute(
            _UNPLACE, {'p_project': project, 'p_queue': queue}))
