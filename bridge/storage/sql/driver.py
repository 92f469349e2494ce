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

from bridge.storage import base, errors, models
from bridge.storage.sql import catalog as sql_catalog
from bridge.storage.sql import claims as sql_claims
from bridge.storage.sql import checkpointer
from bridge.storage.sql import engine as sql_engine
from bridge.storage.sql import executor
from bridge.storage.sql import messages as sql_messages
from bridge.storage.sql import guarded
from bridge.storage.sql import ownership as sql_ownership
from bridge.storage.sql import queues as sql_queues
from bridge.storage.sql import quotas as sql_quotas
from bridge.storage.sql import samples as sql_samples
from bridge.storage.sql import subscriptions as sql_subscriptions
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
        self._tx = transactor.Transactor(sql_engine.make_engine(url, opts),
                                         opts)
        self._metadata = guarded.MetadataCache()
        self._catalog = sql_catalog.SqlCatalog(self._tx)
        self._checkpointer: checkpointer.Checkpointer | None = None
        path = sql_engine.sqlite_path(self._tx.engine)
        if path and opts.sqlite_checkpoint_interval > 0:
            self._checkpointer = checkpointer.Checkpointer(
                path, opts.sqlite_checkpoint_interval)
            self._checkpointer.start()

    # -- lifecycle ---------------------------------------------------------

    def ensure_schema(self) -> None:
        self._tx.ensure_schema(metadata)

    def catalog(self) -> sql_catalog.SqlCatalog:
        return self._catalog

    def health(self) -> None:
        self._tx.autocommit(lambda conn: conn.exec_driver_sql('SELECT 1'))

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self._tx.engine.dispose()

    def sweep(self, now: float | None = None) -> int:
        at = time.time() if now is None else now
        self._tx.autocommit(lambda conn: sql_subscriptions.sweep(conn, at))
        self._tx.autocommit(lambda conn: sql_ownership.sweep(conn, at))
        return self._tx.autocommit(
            lambda conn: sql_messages.sweep(conn, at))

    # -- queues ------------------------------------------------------------

    def create_queue(self, project: str, name: str,
                     metadata: dict[str, Any], *,
                     max_queues: int | None = None) -> bool:
        now = time.time()
        if max_queues is None:
            return self._tx.autocommit(lambda conn: sql_queues.create(
                conn, project, name, metadata, now))

        def work(conn: _Conn) -> bool:
            if sql_queues.lookup(conn, project, name) is not None:
                return False
            sql_quotas.check_queues(conn, project, max_queues)
            return sql_queues.create(conn, project, name, metadata, now)
        return self._tx.write(work)

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
        def work(conn: _Conn) -> None:
            sql_queues.delete(conn, project, name)
            sql_subscriptions.delete_of_queue(conn, project, name)
        self._tx.write(work)

    def queue_stats(self, project: str, name: str) -> models.QueueStats:
        now = time.time()
        return self.codec.open_stats(self._tx.autocommit(
            lambda conn: sql_queues.stats(conn, project, name, now)))

    # -- messages ----------------------------------------------------------

    def post_messages(self, project: str, queue: str,
                      messages: Sequence[models.NewMessage],
                      client_id: str | None = None) -> list[str]:
        if not messages:
            return []
        return guarded.post(self._tx, self._metadata, project, queue,
                            self.codec.sealing(lambda _metadata: messages),
                            client_id, self.dedup_window)

    def post_prepared(self, project: str, queue: str,
                      prepare: sql_messages.Prepare,
                      client_id: str | None = None, *,
                      max_messages: int | None = None,
                      max_queues: int | None = None) -> list[str]:
        return guarded.post(self._tx, self._metadata, project, queue,
                            self.codec.sealing(prepare), client_id,
                            self.dedup_window, max_messages, max_queues)

    def post_many(self, posts: Sequence[models.Post]) -> int:
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
                                          now, self.dedup_window,
                                          self.codec.seal_batch)
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
                      include_delayed: bool = False) -> models.MessagePage:
        now = time.time()
        found = self._tx.autocommit(lambda conn: sql_messages.list_(
            conn, project, queue, marker=_parse_marker(marker),
            limit=_limit(limit),
            client_id=client_id, echo=echo, include_claimed=include_claimed,
            include_delayed=include_delayed, now=now))
        next_marker = str(found[-1].marker) if found else None
        return models.MessagePage(messages=self.codec.open_messages(found),
                                  next_marker=next_marker)

    def get_messages(self, project: str, queue: str,
                     ids: Sequence[str]) -> list[models.Message]:
        now = time.time()
        return self.codec.open_messages(self._tx.autocommit(
            lambda conn: sql_messages.get(conn, project, queue, ids, now)))

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
                     limit: int) -> list[models.Message]:
        now = time.time()
        return self.codec.open_messages(self._tx.write(
            lambda conn: sql_messages.pop(conn, project, queue,
                                          _limit(limit), now)))

    def purge_queue(self, project: str, queue: str) -> None:
        self._tx.autocommit(
            lambda conn: sql_messages.purge(conn, project, queue))

    # -- subscriptions -----------------------------------------------------

    def create_subscription(self, project: str, queue: str, subscriber: str,
                            *, ttl: int, options: dict[str, Any],
                            secret: str, confirmed: bool,
                            max_subscriptions: int | None = None
                            ) -> models.Subscription:
        now = time.time()

        def work(conn: _Conn) -> models.Subscription:
            sql_quotas.check_subscriptions(conn, project, max_subscriptions,
                                           now)
            return sql_subscriptions.create(
                conn, project, queue, subscriber, ttl=ttl, options=options,
                secret=secret, confirmed=confirmed, now=now)
        return self._tx.write(work)

    def count_subscriptions(self, project: str,
                            now: float | None = None) -> int:
        at = time.time() if now is None else now
        return self._tx.autocommit(
            lambda conn: sql_quotas.count_subscriptions(conn, project, at))

    def get_subscription(self, project: str, queue: str,
                         subscription_id: str) -> models.Subscription:
        now = time.time()
        return self._tx.autocommit(lambda conn: sql_subscriptions.get(
            conn, project, queue, subscription_id, now))

    def list_subscriptions(self, project: str, queue: str, *,
                           marker: str | None = None, limit: int = 10
                           ) -> list[models.Subscription]:
        now = time.time()
        return self._tx.autocommit(lambda conn: sql_subscriptions.list_(
            conn, project, queue, marker, _limit(limit), now))

    def update_subscription(self, project: str, queue: str,
                            subscription_id: str, *,
                            subscriber: str | None = None,
                            ttl: int | None = None,
                            options: dict[str, Any] | None = None,
                            confirmed: bool | None = None
                            ) -> models.Subscription:
        now = time.time()
        return self._tx.write(lambda conn: sql_subscriptions.update(
            conn, project, queue, subscription_id, subscriber=subscriber,
            ttl=ttl, options=options, confirmed=confirmed, now=now))

    def delete_subscription(self, project: str, queue: str,
                            subscription_id: str) -> None:
        self._tx.autocommit(lambda conn: sql_subscriptions.delete(
            conn, project, queue, subscription_id))

    def lease_subscriptions(self, owner: str, *, lease_seconds: float,
                            limit: int, now: float | None = None
                            ) -> list[models.Subscription]:
        at = time.time() if now is None else now
        return self._tx.write(lambda conn: sql_subscriptions.lease(
            conn, owner, lease_seconds=lease_seconds, limit=_limit(limit),
            now=at))

    def record_delivery(self, subscription: models.Subscription, owner: str,
                        outcome: models.DeliveryOutcome, *,
                        release: bool = False) -> bool:
        now = time.time()
        return self._tx.autocommit(lambda conn: sql_subscriptions.record(
            conn, subscription.id, owner, outcome, release=release,
            now=now))

    # -- ownership index ---------------------------------------------------

    def record_owners(self, entries: Sequence[models.Ownership],
                      now: float | None = None) -> None:
        if not entries:
            return
        at = time.time() if now is None else now
        self._tx.write(lambda conn: sql_ownership.record(conn, entries, at))

    def lookup_owners(self, keys: Sequence[tuple[str, str]],
                      now: float | None = None
                      ) -> dict[tuple[str, str], models.Ownership]:
        if not keys:
            return {}
        at = time.time() if now is None else now
        return self._tx.autocommit(
            lambda conn: sql_ownership.lookup(conn, keys, at))

    # -- claims ------------------------------------------------------------

    def sample_queues(self, limit: int, now: float | None = None
                      ) -> list[models.QueueSample]:
        at = time.time() if now is None else now
        return self._tx.autocommit(
            lambda conn: sql_samples.sample_queues(conn, _limit(limit), at))

    def sample_backlogs(self, limit: int, now: float | None = None
                        ) -> list[models.BacklogSample]:
        at = time.time() if now is None else now
        return self._tx.autocommit(
            lambda conn: sql_samples.sample_backlogs(conn, _limit(limit), at))

    def create_claim(self, project: str, queue: str, *, ttl: int,
                     grace: int, limit: int) -> models.Claim | None:
        claim = guarded.claim(self._tx, self._metadata, project, queue,
                              ttl=ttl, grace=grace, limit=_limit(limit))
        return claim and self.codec.open_claim(claim)

    def get_claim(self, project: str, queue: str,
                  claim_id: str) -> models.Claim:
        now = time.time()
        return self.codec.open_claim(self._tx.autocommit(
            lambda conn: sql_claims.get(conn, project, queue, claim_id,
                                        now)))

    def update_claim(self, project: str, queue: str, claim_id: str, *,
                     ttl: int, grace: int) -> None:
        now = time.time()
        self._tx.autocommit(lambda conn: sql_claims.update(
            conn, project, queue, claim_id, ttl=ttl, grace=grace, now=now))

    def delete_claim(self, project: str, queue: str, claim_id: str) -> None:
        self._tx.autocommit(lambda conn: sql_claims.release(
            conn, project, queue, claim_id))

    # -- quota overrides ---------------------------------------------------

    def set_quota(self, project: str, resource: str, limit: int) -> None:
        self._tx.write(lambda conn: sql_quotas.set_(conn, project, resource,
                                                    limit))

    def get_quotas(self, project: str) -> dict[str, int]:
        return self._tx.autocommit(lambda conn: sql_quotas.get(conn,
                                                               project))

    def list_quotas(self) -> dict[str, dict[str, int]]:
        return self._tx.autocommit(sql_quotas.list_)

    def delete_quota(self, project: str,
                     resource: str | None = None) -> None:
        self._tx.autocommit(lambda conn: sql_quotas.delete(conn, project,
                                                           resource))
