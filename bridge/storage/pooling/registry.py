"""Pools and flavors: the catalog's records, their rules, the open
drivers of the pools, and the choice of a pool for a new queue.

One :class:`Registry` per process. Its view of the registered pools is
re-read from the catalog at most every ``[pooling] refresh_seconds`` (and
at once after a change made through it), so a pool registered by any
process takes new queues in every process within that time.

Rules (Zaqar's, with the differences noted in the README):

* a pool is a backend URL of any driver; registering one connects to it
  and creates its schema, or fails;
* a pool belongs to at most one flavor (``flavor`` field); a flavor's
  pools are the pools naming it;
* a new queue goes to a pool chosen at random in proportion to the
  weights: among its flavor's pools when its metadata names a
  ``_flavor``, else among the pools of no flavor; weight 0 takes no new
  queues. With no such pool, an unflavored queue stays on the default
  storage (the [storage] url database, which is also the catalog);
* a pool may be deleted only when no flavor uses it and none of the
  queues placed on it still exists.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any, Callable

from bridge.storage import catalog as records
from bridge.storage import errors
from bridge.storage.base import Storage
from bridge.storage.catalog import Flavor, Pool

#: Name under which placements on the default storage are recorded. Not
#: a valid pool name, so it cannot collide with one.
DEFAULT = '(default)'

#: How many placements on a pool are checked per step when it is deleted.
_CHECK_BATCH = 500

Opener = Callable[[str], Storage]


class Registry:
    """``default``: the [storage] url backend (catalog and default pool);
    ``open_url``: opens a driver for a pool URL; ``refresh_seconds``: how
    stale this process's view of the pools may be."""

    def __init__(self, default: Storage, open_url: Opener,
                 refresh_seconds: float) -> None:
        self.default = default
        self.catalog = default.catalog()
        self._open_url = open_url
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._pools: dict[str, Pool] = {}
        self._drivers: dict[str, tuple[str, Storage]] = {}
        self._next_refresh = 0.0

    # -- the view every call consults ---------------------------------------

    def pools(self) -> dict[str, Pool]:
        """The registered pools, as of at most ``refresh_seconds`` ago."""
        if time.monotonic() >= self._next_refresh:
            self.refresh()
        return self._pools

    def refresh(self) -> None:
        found = {name: Pool.of(name, doc)
                 for name, doc in self.catalog.entries(records.POOLS)}
        with self._lock:
            self._pools = found
            self._next_refresh = time.monotonic() + self._refresh_seconds
            stale = [name for name, (uri, _) in self._drivers.items()
                     if name not in found or found[name].uri != uri]
            closing = [self._drivers.pop(name)[1] for name in stale]
        for driver in closing:
            driver.close()

    def driver(self, pool: str) -> Storage:
        """The open driver of a registered pool (DEFAULT: the default
        storage). Unavailable if the pool is not registered."""
        if pool == DEFAULT:
            return self.default
        entry = self._drivers.get(pool)
        if entry is not None:
            return entry[1]
        record = self.pools().get(pool)
        if record is None:
            self.refresh()
            record = self._pools.get(pool)
        if record is None:
            raise errors.Unavailable('storage pool %s is not registered'
                                     % pool)
        with self._lock:
            entry = self._drivers.get(pool)
            if entry is None:
                opened = self._open_url(record.uri)
                # Sealed bodies must open on every pool: one codec (keys).
                opened.codec = self.default.codec
                opened.dedup_window = self.default.dedup_window
                entry = (record.uri, opened)
                self._drivers[pool] = entry
        return entry[1]

    def drivers(self) -> list[Storage]:
        """The default storage, then every registered pool's driver."""
        return [self.default] + [self.driver(name)
                                 for name in sorted(self.pools())]

    def choose(self, flavor: str | None) -> str:
        """The pool a new queue goes to (see the module docstring)."""
        pools = self.pools()
        if flavor is not None:
            if self.catalog.get(records.FLAVORS, flavor) is None:
                raise errors.NoPoolForFlavor('no flavor %s' % flavor)
            candidates = [p for p in pools.values() if p.flavor == flavor]
        else:
            candidates = [p for p in pools.values() if p.flavor is None]
        chosen = weighted(candidates)
        if chosen is not None:
            return chosen.name
        if flavor is not None:
            raise errors.NoPoolForFlavor('flavor %s has no pool' % flavor)
        return DEFAULT

    def close(self) -> None:
        with self._lock:
            drivers = [driver for _, driver in self._drivers.values()]
            self._drivers.clear()
        for driver in drivers:
            driver.close()

    # -- pools (the admin API) ----------------------------------------------

    def _check_connects(self, uri: str) -> None:
        try:
            probe = self._open_url(uri)
        except ValueError as exc:
            raise errors.Invalid(str(exc)) from exc
        try:
            probe.ensure_schema()
            probe.health()
        except errors.StorageError as exc:
            raise errors.Invalid('cannot connect to %s' % uri) from exc
        finally:
            probe.close()

    def create_pool(self, pool: Pool) -> bool:
        """Register the pool; False if the name is taken. Invalid if its
        URL cannot be opened."""
        self._check_connects(pool.uri)
        created = self.catalog.put(records.POOLS, pool.name, pool.document(),
                                   create=True)
        self.refresh()
        return created

    def get_pool(self, name: str) -> Pool:
        doc = self.catalog.get(records.POOLS, name)
        if doc is None:
            raise errors.PoolNotFound(name)
        return Pool.of(name, doc)

    def list_pools(self, marker: str | None, limit: int) -> list[Pool]:
        return [Pool.of(name, doc) for name, doc in
                self.catalog.entries(records.POOLS, marker=marker, limit=limit)]

    def update_pool(self, name: str, changes: dict[str, Any]) -> Pool:
        """Change ``uri``, ``weight``, ``flavor`` and/or ``options``."""
        doc = dict(self.get_pool(name).document())
        if 'uri' in changes and changes['uri'] != doc['uri']:
            self._check_connects(changes['uri'])
        doc.update(changes)
        self.catalog.put(records.POOLS, name, doc, create=False)
        self.refresh()
        return Pool.of(name, doc)

    def delete_pool(self, name: str) -> None:
        """Forbidden while a flavor uses the pool or a queue placed on it
        still exists; placements of deleted queues are released."""
        doc = self.catalog.get(records.POOLS, name)
        if doc is None:
            return
        pool = Pool.of(name, doc)
        if pool.flavor and self.catalog.get(records.FLAVORS, pool.flavor):
            raise errors.Forbidden('pool %s is used by flavor %s; it cannot '
                                   'be deleted' % (name, pool.flavor))
        driver = self.driver(name)
        while True:
            placed = self.catalog.placed_on(name, limit=_CHECK_BATCH)
            for project, queue in placed:
                if exists(driver, project, queue):
                    raise errors.Forbidden(
                        'pool %s still holds queues (%s of project %s, at '
                        'least); it cannot be deleted' % (name, queue,
                                                          project))
                self.catalog.unplace(project, queue)
            if len(placed) < _CHECK_BATCH:
                break
        self.catalog.delete(records.POOLS, name)
        self.refresh()

    # -- flavors --------------------------------------------------------------

    def _assign(self, flavor: str, pool_list: list[str]) -> None:
        """Make exactly the pools of ``pool_list`` name ``flavor``."""
        current = {name: Pool.of(name, doc)
                   for name, doc in self.catalog.entries(records.POOLS)}
        missing = [name for name in pool_list if name not in current]
        if missing:
            raise errors.PoolNotFound(missing[0])
        for name, pool in current.items():
            wanted = flavor if name in pool_list else (
                None if pool.flavor == flavor else pool.flavor)
            if wanted != pool.flavor:
                doc = dict(pool.document(), flavor=wanted)
                self.catalog.put(records.POOLS, name, doc, create=False)
        self.refresh()

    def put_flavor(self, flavor: Flavor, pool_list: list[str]) -> None:
        """Create or replace the flavor; its pools become ``pool_list``
        (PoolNotFound, writing nothing, if one is not registered)."""
        for name in pool_list:
            self.get_pool(name)
        self.catalog.put(records.FLAVORS, flavor.name, flavor.document(),
                         create=False)
        self._assign(flavor.name, pool_list)

    def get_flavor(self, name: str) -> tuple[Flavor, list[str]]:
        """The flavor and the names of its pools."""
        doc = self.catalog.get(records.FLAVORS, name)
        if doc is None:
            raise errors.FlavorNotFound(name)
        return Flavor.of(name, doc), self.pools_of(name)

    def pools_of(self, flavor: str) -> list[str]:
        return [name for name, doc in self.catalog.entries(records.POOLS)
                if doc.get('flavor') == flavor]

    def list_flavors(self, marker: str | None, limit: int) -> list[Flavor]:
        return [Flavor.of(name, doc) for name, doc in self.catalog.entries(
            records.FLAVORS, marker=marker, limit=limit)]

    def update_flavor(self, name: str, pool_list: list[str]) -> None:
        flavor, _ = self.get_flavor(name)
        self.put_flavor(flavor, pool_list)

    def delete_flavor(self, name: str) -> None:
        """Idempotent; its pools become pools of no flavor."""
        self._assign(name, [])
        self.catalog.delete(records.FLAVORS, name)


def weighted(pools: list[Pool],
             pick: Callable[[int, int], int] = random.randint
             ) -> Pool | None:
    """A pool chosen with probability proportional to its weight (pools
    of weight 0 never); None if no pool has a weight above 0."""
    usable = [p for p in pools if p.weight > 0]
    if not usable:
        return None
    point = pick(0, sum(p.weight for p in usable) - 1)
    for pool in usable:
        if point < pool.weight:
            return pool
        point -= pool.weight
    return usable[-1]


def exists(driver: Storage, project: str, queue: str) -> bool:
    try:
        driver.get_queue(project, queue)
    except errors.QueueNotFound:
        return False
    return True
