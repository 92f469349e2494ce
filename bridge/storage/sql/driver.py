"""SqlStorage: the Storage interface on SQLite, PostgreSQL and MariaDB.

Every method is one short transaction (see :mod:`.engine` for how each
backend keeps concurrent callers apart) built from the statements in
:mod:`.queues`, :mod:`.messages` and :mod:`.claims`. Methods whose work is
independent statements (reads, single-statement writes) run them with
``Transactor.autocommit`` (one round trip each on PostgreSQL); the others
take a ``write`` transaction.
"""

from __future__ import annotations

import itertools
import time
from typing import Any, Sequence

from bridge.storage import base, errors
from bridge.storage.sql import claims as sql_claims
from bridge.storage.sql import engine as sql_engine
from bridge.storage.sql import executor
from bridge.storage.sql import messages as sql_messages
from bridge.storage.sql import queues as sql_queues
from bridge.storage.sql import transactor
from bridge.storage.sql.schema import metadata

_Conn = executor.Session


_MAX_MARKER = 2 ** 63 - 1  # BIGINT
_MAX_LIMIT = 2 ** 31 - 1  # what LIMIT accepts everywhere


def _parse_marker(marker: str | None) -> int:
    """A marker as a BIGINT; unparseable markers mean "from the start"."""
    try:
        value = int(marker) if marker else 0
    except ValueError:
        return 0
    return min(max(value, 0), _MAX_MARKER)


def _limit(limit: int) -> int:
    return min(max(limit, 0), _MAX_LIMIT)


class SqlStorage(base.Storage):
    """Queues, messages and claims in an SQL database.

    ``url`` is an SQLAlchemy URL (``sqlite:///PATH``, ``postgresql://...``,
    ``mysql+pymysql://...``); ``opts`` is the ``[storage]`` option group.
    No connection is made until the first call.
    """

    def __init__(self, url: str, opts: Any) -> None:
        self._tx = transactor.Transactor(sql_engine.make_engine(url, opts))

    # -- lifecycle ---------------------------------------------------------

    def ensure_schema(self) -> None:
        self._tx.ensure_schema(metadata)

    def health(self) -> None:
        self._tx.autocommit(lambda conn: conn.exec_driver_sql('SELECT 1'))

    def close(self) -> None:
        self._tx.engine.dispose()

    def sweep(self, now: float | None = None) -> int:
        at = time.time() if now is None else now
        return self._tx.autocommit(
            lambda conn: sql_messages.sweep(conn, at))

    # -- queues ------------------------------------------------------------

    def create_queue(self, project: str, name: str,
                     metadata: dict[str, Any]) -> bool:
        now = time.time()
        return self._tx.autocommit(lambda conn: sql_queues.create(
            conn, project, name, metadata, now))

    def get_queue(self, project: str, name: str) -> dict[str, Any]:
        found = self._tx.autocommit(
            lambda conn: sql_queues.lookup(conn, project, name))
        if found is None:
            raise errors.QueueNotFound('queue %s not found' % name)
        return found[1]

    def set_queue_metadata(self, project: str, name: str,
                           metadata: dict[str, Any]) -> None:
        if not self._tx.autocommit(lambda conn: sql_queues.set_metadata(
                conn, project, name, metadata)):
            raise errors.QueueNotFound('queue %s not found' % name)

    def list_queues(self, project: str, *, marker: str | None = None,
                    limit: int = 10, name: str | None = None
                    ) -> list[tuple[str, dict[str, Any]]]:
        return self._tx.autocommit(lambda conn: sql_queues.list_(
            conn, project, marker, _limit(limit), name))

    def count_queues(self, project: str, name: str | None = None) -> int:
        return self._tx.autocommit(
            lambda conn: sql_queues.count(conn, project, name))

    def delete_queue(self, project: str, name: str) -> None:
        self._tx.write(lambda conn: sql_queues.delete(conn, project, name))

    def queue_stats(self, project: str, name: str) -> base.QueueStats:
        now = time.time()
        return self._tx.autocommit(
            lambda conn: sql_queues.stats(conn, project, name, now))

    # -- messages ----------------------------------------------------------

    def post_messages(self, project: str, queue: str,
                      messages: Sequence[base.NewMessage],
                      client_id: str | None = None) -> list[str]:
        if not messages:
            return []
        now = time.time()
        return self._tx.write(lambda conn: sql_messages.post(
            conn, project, queue, messages, client_id, now,
            self.dedup_window))

    def post_many(self, posts: Sequence[base.Post]) -> int:
        """All posts and trims in one transaction. Queues are locked in
        (project, name) order, so two concurrent calls cannot deadlock."""
        now = time.time()
        groups = sorted(enumerate(posts),
                        key=lambda item: (item[1].project, item[1].queue))

        def work(conn: _Conn) -> int:
            evicted = 0
            for _, group in itertools.groupby(
                    groups, key=lambda item: (item[1].project,
                                              item[1].queue)):
                depth = None
                for _, post in group:
                    if post.messages:
                        sql_messages.post(conn, post.project, post.queue,
                                          post.messages, post.client_id,
                                          now, self.dedup_window)
                    if post.max_depth:
                        depth = post.max_depth
                if depth:
                    evicted += sql_messages.trim(conn, post.project,
                                                 post.queue, depth, now)
            return evicted
        return self._tx.write(work)

    def trim_queue(self, project: str, queue: str, max_depth: int) -> int:
        now = time.time()
        return self._tx.write(lambda conn: sql_messages.trim(
            conn, project, queue, max_depth, now))

    def list_messages(self, project: str, queue: str, *,
                      marker: str | None = None, limit: int = 10,
                      client_id: str | None = None, echo: bool = False,
                      include_claimed: bool = False,
                      include_delayed: bool = False) -> base.MessagePage:
        now = time.time()
        found = self._tx.autocommit(lambda conn: sql_messages.list_(
            conn, project, queue, marker=_parse_marker(marker),
            limit=_limit(limit),
            client_id=client_id, echo=echo, include_claimed=include_claimed,
            include_delayed=include_delayed, now=now))
        next_marker = str(found[-1].marker) if found else None
        return base.MessagePage(messages=found, next_marker=next_marker)

    def get_messages(self, project: str, queue: str,
                     ids: Sequence[str]) -> list[base.Message]:
        now = time.time()
        return self._tx.autocommit(lambda conn: sql_messages.get(
            conn, project, queue, ids, now))

    def delete_message(self, project: str, queue: str, message_id: str,
                       claim_id: str | None = None) -> None:
        now = time.time()
        self._tx.autocommit(lambda conn: sql_messages.delete_one(
            conn, project, queue, message_id, claim_id, now))

    def delete_messages(self, project: str, queue: str,
                        ids: Sequence[str],
                        claim_ids: Sequence[str] = ()) -> None:
        if not ids:
            return
        now = time.time()
        self._tx.write(lambda conn: sql_messages.delete_many(
            conn, project, queue, ids, claim_ids, now))

    def pop_messages(self, project: str, queue: str,
                     limit: int) -> list[base.Message]:
        now = time.time()
        return self._tx.write(lambda conn: sql_messages.pop(
            conn, project, queue, _limit(limit), now))

    def purge_queue(self, project: str, queue: str) -> None:
        self._tx.autocommit(
            lambda conn: sql_messages.purge(conn, project, queue))

    # -- claims ------------------------------------------------------------

    def create_claim(self, project: str, queue: str, *, ttl: int,
                     grace: int, limit: int) -> base.Claim | None:
        now = time.time()
        return self._tx.write(lambda conn: sql_claims.create(
            conn, project, queue, ttl=ttl, grace=grace, limit=_limit(limit),
            now=now))

    def get_claim(self, project: str, queue: str,
                  claim_id: str) -> base.Claim:
        now = time.time()
        return self._tx.autocommit(lambda conn: sql_claims.get(
            conn, project, queue, claim_id, now))

    def update_claim(self, project: str, queue: str, claim_id: str, *,
                     ttl: int, grace: int) -> None:
        now = time.time()
        self._tx.autocommit(lambda conn: sql_claims.update(
            conn, project, queue, claim_id, ttl=ttl, grace=grace, now=now))

    def delete_claim(self, project: str, queue: str, claim_id: str) -> None:
        self._tx.autocommit(lambda conn: sql_claims.release(
            conn, project, queue, claim_id))
