"""PooledStorage: the Storage interface over the default storage and the
registered pools, routing each call to the backend that holds its queue.

* A call on one queue goes to the queue's pool, read from the catalog once
  and then cached (placements never change, see
  :mod:`bridge.storage.catalog`). A queue with no placement is on the
  default storage, or nowhere yet.
* A call that may create the queue (create, post, subscribe) places it
  first if it has no placement: on the default storage if it already
  exists there, else where :meth:`.Registry.choose` says (its ``_flavor``,
  else the weights). The catalog's first writer wins, so processes racing
  to place the same queue agree.
* A queue's ``_dead_letter_queue`` is placed on the queue's own pool
  (dead letters move inside one backend), or the metadata is refused.
* Project-wide calls fan out: queue lists are merged by name, counts
  summed, subscription leases taken from each backend in turn, metric
  samples merged in their order.
* Quotas: ``max_messages`` is checked by the queue's pool (exact, as the
  driver is). ``max_queues`` and ``max_subscriptions`` are checked here
  against the sum over every pool before the driver creates (each driver
  counts only its own), then again by the driver: not atomic across pools,
  so concurrent creations may overshoot by those in flight.
* Ownership entries and quota overrides are project-wide records kept
  with the catalog, on the default storage.
* While no pool is registered, every call goes straight to the default
  storage: one dictionary check per call.

Guarantees are the drivers', per queue. :meth:`PooledStorage.post_many`
is atomic per backend; a batch spanning pools is written backend by
backend, and a retry is safe because of the dedup keys.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from typing import Any, Callable, Iterator, Sequence

from bridge.storage import base, errors, models
from bridge.storage.catalog import Catalog
from bridge.storage.codec import BodyCodec
from bridge.storage.pooling.records import DefaultRecords
from bridge.storage.pooling.registry import DEFAULT, Registry, exists

#: Placements cached per process before the cache starts over.
CACHE_SIZE = 100_000


class PooledStorage(DefaultRecords, base.Storage):
    """Routes every Storage call of the default storage and its pools."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._default = registry.default
        self._catalog = registry.catalog
        self._placed: dict[tuple[str, str], str] = {}
        self._rotation = itertools.count()
        self._lock = threading.Lock()

    @property  # type: ignore[override]
    def dedup_window(self) -> int:  # type: ignore[override]
        return self._default.dedup_window

    @dedup_window.setter
    def dedup_window(self, seconds: int) -> None:
        for driver in self._all():
            driver.dedup_window = seconds

    @property  # type: ignore[override]
    def codec(self) -> BodyCodec:  # type: ignore[override]
        return self._default.codec

    @codec.setter
    def codec(self, codec: BodyCodec) -> None:
        for driver in self._all():
            driver.codec = codec

    # -- routing -------------------------------------------------------------

    def _all(self) -> list[base.Storage]:
        return self.registry.drivers()

    def _remember(self, project: str, queue: str, pool: str) -> str:
        with self._lock:
            if len(self._placed) >= CACHE_SIZE:
                self._placed.clear()
            self._placed[(project, queue)] = pool
        return pool

    def _recorded(self, project: str, queue: str) -> str | None:
        pool = self._placed.get((project, queue))
        if pool is None:
            pool = self._catalog.placement(project, queue)
            if pool is not None:
                self._remember(project, queue, pool)
        return pool

    def _existing(self, project: str, queue: str) -> base.Storage:
        """The backend holding the queue (the default one if the queue
        exists nowhere)."""
        if not self.registry.pools():
            return self._default
        pool = self._recorded(project, queue)
        if pool is None:
            if not exists(self._default, project, queue):
                return self._default
            pool = self._remember(project, queue, self._catalog.place(
                project, queue, DEFAULT))
        return self.registry.driver(pool)

    def _placing(self, project: str, queue: str,
                 metadata: dict[str, Any] | None = None,
                 max_queues: int | None = None) -> base.Storage:
        """The backend of a call that may create the queue; places the
        queue first if it has no placement. If the queue does not exist
        yet, the project's queues on every pool count against
        ``max_queues``."""
        if not self.registry.pools():
            flavor = (metadata or {}).get('_flavor')
            if isinstance(flavor, str):
                self.registry.choose(flavor)  # refuses: no pool at all
            return self._default
        pool = self._recorded(project, queue)
        if pool is None:
            if exists(self._default, project, queue):
                choice = DEFAULT
            else:
                flavor = (metadata or {}).get('_flavor')
                choice = self.registry.choose(
                    flavor if isinstance(flavor, str) else None)
            pool = self._remember(project, queue, self._catalog.place(
                project, queue, choice))
        self._co_place(project, pool, metadata)
        driver = self.registry.driver(pool)
        if max_queues is not None and not exists(driver, project, queue) \
                and self.count_queues(project) >= max_queues:
            raise errors.QuotaExceeded('queues', max_queues)
        return driver

    def _co_place(self, project: str, pool: str,
                  metadata: dict[str, Any] | None) -> None:
        dead_letters = (metadata or {}).get('_dead_letter_queue')
        if not isinstance(dead_letters, str) or not self.registry.pools():
            return
        where = self._recorded(project, dead_letters)
        if where is None:
            if exists(self._default, project, dead_letters):
                where = DEFAULT
            where = self._remember(project, dead_letters, self._catalog.place(
                project, dead_letters, where or pool))
        if where != pool:
            raise errors.DeadLetterQueueElsewhere(dead_letters)

    # -- lifecycle -----------------------------------------------------------

    def catalog(self) -> Catalog:
        return self._catalog

    def ensure_schema(self) -> None:
        self._default.ensure_schema()
        for driver in self._all()[1:]:
            driver.ensure_schema()

    def health(self) -> None:
        for driver in self._all():
            driver.health()

    def close(self) -> None:
        self.registry.close()
        self._default.close()

    def sweep(self, now: float | None = None) -> int:
        return sum(driver.sweep(now) for driver in self._all())

    # -- queues --------------------------------------------------------------

    def create_queue(self, project: str, name: str,
                     metadata: dict[str, Any], *,
                     max_queues: int | None = None) -> bool:
        return self._placing(project, name, metadata, max_queues
                             ).create_queue(project, name, metadata,
                                            max_queues=max_queues)

    def get_queue(self, project: str, name: str) -> dict[str, Any]:
        return self._existing(project, name).get_queue(project, name)

    def set_queue_metadata(self, project: str, name: str,
                           metadata: dict[str, Any]) -> None:
        driver = self._existing(project, name)
        if self.registry.pools():
            self._co_place(project, self._recorded(project, name) or DEFAULT,
                           metadata)
        driver.set_queue_metadata(project, name, metadata)

    def list_queues(self, project: str, *, marker: str | None = None,
                    limit: int = 10, name: str | None = None
                    ) -> list[tuple[str, dict[str, Any]]]:
        if not self.registry.pools():
            return self._default.list_queues(project, marker=marker,
                                             limit=limit, name=name)
        pages = [driver.list_queues(project, marker=marker, limit=limit,
                                    name=name) for driver in self._all()]
        merged = heapq.merge(*pages, key=lambda entry: entry[0])
        unique = (next(group) for _, group in
                  itertools.groupby(merged, key=lambda entry: entry[0]))
        return list(itertools.islice(unique, max(limit, 0)))

    def count_queues(self, project: str, name: str | None = None) -> int:
        if not self.registry.pools():
            return self._default.count_queues(project, name)
        return sum(driver.count_queues(project, name)
                   for driver in self._all())

    def delete_queue(self, project: str, name: str) -> None:
        self._existing(project, name).delete_queue(project, name)

    def queue_stats(self, project: str, name: str) -> models.QueueStats:
        return self._existing(project, name).queue_stats(project, name)

    # -- messages ------------------------------------------------------------

    def post_messages(self, project: str, queue: str,
                      messages: Sequence[models.NewMessage],
                      client_id: str | None = None) -> list[str]:
        return self._placing(project, queue).post_messages(
            project, queue, messages, client_id)

    def post_prepared(self, project: str, queue: str,
                      prepare: Callable[[dict[str, Any]],
                                        Sequence[models.NewMessage]],
                      client_id: str | None = None, *,
                      max_messages: int | None = None,
                      max_queues: int | None = None) -> list[str]:
        return self._placing(project, queue, None, max_queues).post_prepared(
            project, queue, prepare, client_id, max_messages=max_messages,
            max_queues=max_queues)

    def post_many(self, posts: Sequence[models.Post]) -> int:
        if not self.registry.pools():
            return self._default.post_many(posts)
        groups: dict[int, tuple[base.Storage, list[models.Post]]] = {}
        for post in posts:
            driver = self._placing(post.project, post.queue)
            groups.setdefault(id(driver), (driver, []))[1].append(post)
        return sum(driver.post_many(group)
                   for driver, group in groups.values())

    def trim_queue(self, project: str, queue: str, max_depth: int) -> int:
        return self._existing(project, queue).trim_queue(project, queue,
                                                         max_depth)

    def list_messages(self, project: str, queue: str, *,
                      marker: str | None = None, limit: int = 10,
                      client_id: str | None = None, echo: bool = False,
                      include_claimed: bool = False,
                      include_delayed: bool = False) -> models.MessagePage:
        return self._existing(project, queue).list_messages(
            project, queue, marker=marker, limit=limit, client_id=client_id,
            echo=echo, include_claimed=include_claimed,
            include_delayed=include_delayed)

    def get_messages(self, project: str, queue: str,
                     ids: Sequence[str]) -> list[models.Message]:
        return self._existing(project, queue).get_messages(project, queue,
                                                           ids)

    def delete_message(self, project: str, queue: str, message_id: str,
                       claim_id: str | None = None) -> None:
        self._existing(project, queue).delete_message(project, queue,
                                                      message_id, claim_id)

    def delete_messages(self, project: str, queue: str,
                        ids: Sequence[str],
                        claim_ids: Sequence[str] = ()) -> None:
        self._existing(project, queue).delete_messages(project, queue, ids,
                                                       claim_ids)

    def pop_messages(self, project: str, queue: str,
                     limit: int) -> list[models.Message]:
        return self._existing(project, queue).pop_messages(project, queue,
                                                           limit)

    def purge_queue(self, project: str, queue: str) -> None:
        self._existing(project, queue).purge_queue(project, queue)

    # -- subscriptions -------------------------------------------------------

    def create_subscription(self, project: str, queue: str, subscriber: str,
                            *, ttl: int, options: dict[str, Any],
                            secret: str, confirmed: bool,
                            max_subscriptions: int | None = None
                            ) -> models.Subscription:
        driver = self._placing(project, queue)
        if (max_subscriptions is not None and self.registry.pools()
                and self.count_subscriptions(project) >= max_subscriptions):
            raise errors.QuotaExceeded('subscriptions', max_subscriptions)
        return driver.create_subscription(
            project, queue, subscriber, ttl=ttl, options=options,
            secret=secret, confirmed=confirmed,
            max_subscriptions=max_subscriptions)

    def count_subscriptions(self, project: str,
                            now: float | None = None) -> int:
        return sum(driver.count_subscriptions(project, now)
                   for driver in self._all())

    def get_subscription(self, project: str, queue: str,
                         subscription_id: str) -> models.Subscription:
        return self._existing(project, queue).get_subscription(
            project, queue, subscription_id)

    def list_subscriptions(self, project: str, queue: str, *,
                           marker: str | None = None, limit: int = 10
                           ) -> list[models.Subscription]:
        return self._existing(project, queue).list_subscriptions(
            project, queue, marker=marker, limit=limit)

    def update_subscription(self, project: str, queue: str,
                            subscription_id: str, *,
                            subscriber: str | None = None,
                            ttl: int | None = None,
                            options: dict[str, Any] | None = None,
                            confirmed: bool | None = None
                            ) -> models.Subscription:
        return self._existing(project, queue).update_subscription(
            project, queue, subscription_id, subscriber=subscriber, ttl=ttl,
            options=options, confirmed=confirmed)

    def delete_subscription(self, project: str, queue: str,
                            subscription_id: str) -> None:
        self._existing(project, queue).delete_subscription(
            project, queue, subscription_id)

    def lease_subscriptions(self, owner: str, *, lease_seconds: float,
                            limit: int, now: float | None = None
                            ) -> list[models.Subscription]:
        """Leases from each backend in turn (starting one further at each
        call, so no backend starves) until ``limit`` are taken."""
        leased: list[models.Subscription] = []
        for driver in self._rotated():
            if len(leased) >= limit:
                break
            leased += driver.lease_subscriptions(
                owner, lease_seconds=lease_seconds,
                limit=limit - len(leased), now=now)
        return leased

    def _rotated(self) -> Iterator[base.Storage]:
        drivers = self._all()
        start = next(self._rotation) % len(drivers)
        return itertools.chain(drivers[start:], drivers[:start])

    def record_delivery(self, subscription: models.Subscription, owner: str,
                        outcome: models.DeliveryOutcome, *,
                        release: bool = False) -> bool:
        return self._existing(subscription.project,
                              subscription.queue).record_delivery(
            subscription, owner, outcome, release=release)

    # -- samples for metrics: every pool's, merged in their order ------------

    def sample_queues(self, limit: int, now: float | None = None
                      ) -> list[models.QueueSample]:
        return _merged([driver.sample_queues(limit, now)
                        for driver in self._all()], limit,
                       lambda s: (-s.depth, s.project, s.queue))

    def sample_backlogs(self, limit: int, now: float | None = None
                        ) -> list[models.BacklogSample]:
        return _merged([driver.sample_backlogs(limit, now)
                        for driver in self._all()], limit,
                       lambda s: (-s.backlog, s.subscription_id))

    # -- claims --------------------------------------------------------------

    def create_claim(self, project: str, queue: str, *, ttl: int,
                     grace: int, limit: int) -> models.Claim | None:
        return self._existing(project, queue).create_claim(
            project, queue, ttl=ttl, grace=grace, limit=limit)

    def get_claim(self, project: str, queue: str,
                  claim_id: str) -> models.Claim:
        return self._existing(project, queue).get_claim(project, queue,
                                                        claim_id)

    def update_claim(self, project: str, queue: str, claim_id: str, *,
                     ttl: int, grace: int) -> None:
        self._existing(project, queue).update_claim(
            project, queue, claim_id, ttl=ttl, grace=grace)

    def delete_claim(self, project: str, queue: str, claim_id: str) -> None:
        self._existing(project, queue).delete_claim(project, queue,
                                                    claim_id)



def _merged(pages: list[list[Any]], limit: int,
            key: Callable[[Any], Any]) -> list[Any]:
    """The first ``limit`` of pages each sorted by ``key``."""
    return list(itertools.islice(heapq.merge(*pages, key=key),
                                 max(limit, 0)))
