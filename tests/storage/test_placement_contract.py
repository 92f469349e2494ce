"""Placement contract: every driver keeps the pool catalog, and queues are
placed on pools and found there by every process.

Each test runs once per backend as the *default* storage (the catalog);
its pools are SQLite files of the test, so a test registers pools of a
driver other than the catalog's on every backend but SQLite. A second
"process" is a second :class:`PooledStorage` with its own registry and
placement cache over the same default storage. Pools are registered under
names unique to the test and removed from the catalog afterwards.

The pooled backend's catalog already has two pools of weight 1; a test
that needs new queues on its own pool gives that pool weight ``BIG``.
"""

from __future__ import annotations

import pathlib
import uuid
from typing import Callable, Iterator

import pytest

from bridge.storage import base, catalog, errors, from_url, models, pooling
from bridge.storage.pooling import PooledStorage, Registry

from .conftest import make_conf
from .support import TTL, new, run_threads

Facade = Callable[[], PooledStorage]

#: A weight beside which the pooled backend's own pools (1 each) get a new
#: queue once in half a million.
BIG = 10 ** 6


def _default(storage: base.Storage) -> base.Storage:
    """The catalog backend (the pooled backend's own default)."""
    if isinstance(storage, PooledStorage):
        return storage.registry.default
    return storage


@pytest.fixture
def names() -> Callable[[str], str]:
    suffix = uuid.uuid4().hex[:8]
    return lambda name: '%s-%s' % (name, suffix)


@pytest.fixture
def facade(storage: base.Storage, tmp_path: pathlib.Path
           ) -> Iterator[Facade]:
    """Makes "processes": pooled storages over the backend, each with its
    own view of the catalog, re-read at every call."""
    default = _default(storage)
    made: list[PooledStorage] = []
    before = {name for name, _ in default.catalog().entries(catalog.POOLS)}

    def make() -> PooledStorage:
        conf = make_conf()
        registry = Registry(default, lambda url: from_url(url, conf), 0.0)
        made.append(PooledStorage(registry))
        return made[-1]

    yield make
    for each in made:
        each.registry.close()
    for kind in (catalog.POOLS, catalog.FLAVORS):
        for name, _ in default.catalog().entries(kind):
            if kind == catalog.FLAVORS or name not in before:
                default.catalog().delete(kind, name)


def add_pool(store: PooledStorage, tmp_path: pathlib.Path, name: str,
             weight: int = 1, flavor: str | None = None) -> None:
    assert store.registry.create_pool(catalog.Pool(
        name, 'sqlite:///%s/%s.sqlite' % (tmp_path, name), weight=weight,
        flavor=flavor))


def test_the_first_placement_wins_and_every_caller_gets_it(
        storage: base.Storage, project: str) -> None:
    cat = _default(storage).catalog()
    got: list[str] = [''] * 8

    def place(i: int) -> None:
        got[i] = cat.place(project, 'q', 'pool-%d' % i)

    run_threads(8, place)
    assert len(set(got)) == 1
    assert cat.placement(project, 'q') == got[0]
    assert (project, 'q') in cat.placed_on(got[0], limit=1000)
    cat.unplace(project, 'q')
    assert cat.placement(project, 'q') is None


def test_catalog_documents_are_created_once_and_listed_by_name(
        storage: base.Storage, names: Callable[[str], str]) -> None:
    cat = _default(storage).catalog()
    kind = 'test-' + names('k')[-8:]
    assert cat.put(kind, 'b', {'v': 1}, create=True)
    assert not cat.put(kind, 'b', {'v': 2}, create=True)
    assert cat.get(kind, 'b') == {'v': 1}
    assert cat.put(kind, 'b', {'v': 3}, create=False)
    assert cat.put(kind, 'a', {'v': 0}, create=True)
    assert cat.entries(kind) == [('a', {'v': 0}), ('b', {'v': 3})]
    assert cat.entries(kind, marker='a', limit=5) == [('b', {'v': 3})]
    for name in ('a', 'b'):
        cat.delete(kind, name)
    assert cat.get(kind, 'a') is None and cat.entries(kind) == []


def test_a_queue_placed_by_one_process_is_found_there_by_another(
        facade: Facade, tmp_path: pathlib.Path, project: str,
        names: Callable[[str], str]) -> None:
    one, other = facade(), facade()
    pool = names('p')
    add_pool(one, tmp_path, pool, weight=BIG)
    one.post_messages(project, 'q', [new('hello')])
    assert one.catalog().placement(project, 'q') == pool
    assert [m.body for m in other.list_messages(project, 'q').messages] == [
        'hello']
    assert other.registry.driver(pool).get_queue(project, 'q') == {}
    claim = other.create_claim(project, 'q', ttl=60, grace=60, limit=5)
    assert claim is not None and [m.body for m in claim.messages] == [
        'hello']


def test_a_pool_added_online_takes_new_queues_old_ones_stay(
        storage: base.Storage, facade: Facade, tmp_path: pathlib.Path,
        project: str, names: Callable[[str], str]) -> None:
    running, admin = facade(), facade()
    running.create_queue(project, 'before', {})
    was = running.catalog().placement(project, 'before') or pooling.DEFAULT
    pool = names('new')
    add_pool(admin, tmp_path, pool, weight=BIG)
    running.post_messages(project, 'after', [new(1)])
    running.post_messages(project, 'before', [new(2)])
    assert running.catalog().placement(project, 'after') == pool
    assert running.catalog().placement(project, 'before') == was
    assert admin.registry.driver(was).get_queue(project, 'before') == {}
    assert admin.queue_stats(project, 'before').total == 1


def test_queues_follow_their_flavor_else_the_weights(
        facade: Facade, tmp_path: pathlib.Path, project: str,
        names: Callable[[str], str]) -> None:
    store = facade()
    gold, plain, idle = names('gold'), names('plain'), names('idle')
    add_pool(store, tmp_path, gold)
    add_pool(store, tmp_path, plain, weight=BIG)
    add_pool(store, tmp_path, idle, weight=0)
    store.registry.put_flavor(catalog.Flavor(names('f')), [gold])
    for i in range(5):
        store.create_queue(project, 'g%d' % i, {'_flavor': names('f')})
        store.create_queue(project, 'p%d' % i, {})
    placed = {store.catalog().placement(project, q)
              for q in ('g%d' % i for i in range(5))}
    assert placed == {gold}
    placed = {store.catalog().placement(project, q)
              for q in ('p%d' % i for i in range(5))}
    assert placed == {plain}
    with pytest.raises(errors.NoPoolForFlavor):
        store.create_queue(project, 'x', {'_flavor': names('none')})


def test_a_deleted_queue_keeps_its_pool(
        facade: Facade, tmp_path: pathlib.Path, project: str,
        names: Callable[[str], str]) -> None:
    store = facade()
    first, second = names('a'), names('b')
    add_pool(store, tmp_path, first)
    store.create_queue(project, 'q', {})
    pool = store.catalog().placement(project, 'q')
    add_pool(store, tmp_path, second, weight=BIG)
    store.delete_queue(project, 'q')
    store.post_messages(project, 'q', [new(1)])
    assert store.catalog().placement(project, 'q') == pool


def test_project_wide_calls_span_every_pool(
        facade: Facade, tmp_path: pathlib.Path, project: str,
        names: Callable[[str], str]) -> None:
    store = facade()
    add_pool(store, tmp_path, names('a'))
    add_pool(store, tmp_path, names('b'))
    queues = ['q%02d' % i for i in range(12)]
    evicted = store.post_many([
        models.Post(project=project, queue=q, messages=[new(q), new(q)],
                    max_depth=1) for q in queues])
    assert evicted == len(queues)
    assert len({store.catalog().placement(project, q) for q in queues}) > 1
    page = store.list_queues(project, limit=5)
    assert [name for name, _ in page] == queues[:5]
    rest = store.list_queues(project, marker=page[-1][0], limit=100)
    assert [name for name, _ in rest] == queues[5:]
    assert store.count_queues(project) == len(queues)
    for q in queues:
        assert store.queue_stats(project, q).total == 1
        store.create_subscription(project, q, 'http://h.example/' + q,
                                  ttl=TTL, options={}, secret='s',
                                  confirmed=True)
        store.post_messages(project, q, [new('more')])
    mine: list[models.Subscription] = []
    for _ in range(50):  # other tests' subscriptions may come first
        leased = store.lease_subscriptions('owner', lease_seconds=60,
                                           limit=500)
        mine += [s for s in leased if s.project == project]
        if not leased or len(mine) == len(queues):
            break
    assert sorted(s.queue for s in mine) == queues
    sub = mine[0]
    assert store.record_delivery(sub, 'owner', models.DeliveryOutcome(
        cursor=sub.cursor + 1, failures=0), release=True)


def test_a_pool_holding_queues_cannot_be_deleted(
        facade: Facade, tmp_path: pathlib.Path, project: str,
        names: Callable[[str], str]) -> None:
    store = facade()
    pool = names('p')
    add_pool(store, tmp_path, pool, weight=BIG)
    store.create_queue(project, 'q', {})
    assert store.catalog().placement(project, 'q') == pool
    with pytest.raises(errors.Forbidden):
        store.registry.delete_pool(pool)
    store.delete_queue(project, 'q')
    store.registry.delete_pool(pool)
    assert store.catalog().placement(project, 'q') is None
    with pytest.raises(errors.PoolNotFound):
        store.registry.get_pool(pool)


def test_pools_of_every_driver_hold_queues_side_by_side(
        tmp_path: pathlib.Path, project: str,
        names: Callable[[str], str]) -> None:
    """One catalog (SQLite) with a pool of each driver, a flavor per pool:
    each flavored queue lives in its pool's database and works there."""
    from .conftest import _create_sql_database, backend_url
    conf = make_conf()
    default = from_url('sqlite:///%s/catalog.sqlite' % tmp_path, conf)
    default.ensure_schema()
    store = pooling.wrap(default, conf)
    try:
        for backend in ('postgresql', 'mariadb', 'mongodb'):
            url = backend_url(backend, str(tmp_path))
            _create_sql_database(backend, url)
            pool = names(backend)
            assert store.registry.create_pool(catalog.Pool(pool, url, 1))
            store.registry.put_flavor(catalog.Flavor(pool), [pool])
            store.create_queue(project, backend, {'_flavor': pool})
            store.post_messages(project, backend, [new(backend)])
            assert store.catalog().placement(project, backend) == pool
            direct = store.registry.driver(pool)
            assert [m.body for m in direct.list_messages(
                project, backend).messages] == [backend]
            claim = store.create_claim(project, backend, ttl=60, grace=60,
                                       limit=5)
            assert claim is not None
            store.delete_messages(project, backend,
                                  [m.id for m in claim.messages],
                                  claim_ids=[claim.id])
            assert store.queue_stats(project, backend).total == 0
        assert [name for name, _ in store.list_queues(project)] == [
            'mariadb', 'mongodb', 'postgresql']
    finally:
        store.close()


def _two_flavored_pools(store: PooledStorage, tmp_path: pathlib.Path,
                        names: Callable[[str], str]) -> tuple[str, str]:
    """Two pools, each the only pool of a flavor named after it."""
    left, right = names('left'), names('right')
    for pool in (left, right):
        add_pool(store, tmp_path, pool)
        store.registry.put_flavor(catalog.Flavor(pool), [pool])
    return left, right


def test_queue_and_subscription_quotas_count_every_pool(
        facade: Facade, tmp_path: pathlib.Path, project: str,
        names: Callable[[str], str]) -> None:
    store = facade()
    left, right = _two_flavored_pools(store, tmp_path, names)
    store.create_queue(project, 'a', {'_flavor': left}, max_queues=2)
    store.create_queue(project, 'b', {'_flavor': right}, max_queues=2)
    assert store.catalog().placement(project, 'a') == left
    assert store.catalog().placement(project, 'b') == right
    # Each pool holds one queue; the project holds two.
    with pytest.raises(errors.QuotaExceeded) as refused:
        store.create_queue(project, 'c', {'_flavor': left}, max_queues=2)
    assert refused.value.resource == 'queues'
    with pytest.raises(errors.QuotaExceeded):
        store.post_prepared(project, 'd', lambda metadata: [new(1)],
                            max_queues=2)
    assert store.count_queues(project) == 2
    assert not store.create_queue(project, 'a', {}, max_queues=2)
    store.post_prepared(project, 'b', lambda metadata: [new(1)],
                        max_queues=2)  # an existing queue is not counted

    def subscribe(queue: str) -> models.Subscription:
        return store.create_subscription(
            project, queue, 'https://h.example/' + queue, ttl=TTL,
            options={}, secret='s', confirmed=True, max_subscriptions=2)

    subscribe('a')
    subscribe('b')
    assert store.count_subscriptions(project) == 2
    with pytest.raises(errors.QuotaExceeded) as refused:
        subscribe('a2')
    assert refused.value.resource == 'subscriptions'
    assert store.count_subscriptions(project) == 2


def test_metric_samples_merge_every_pool_in_order(
        facade: Facade, tmp_path: pathlib.Path, project: str,
        names: Callable[[str], str]) -> None:
    store = facade()
    left, right = _two_flavored_pools(store, tmp_path, names)
    store.create_queue(project, 'shallow', {'_flavor': left})
    store.create_queue(project, 'deep', {'_flavor': right})
    store.post_messages(project, 'shallow', [new(1)])
    store.post_messages(project, 'deep', [new(i) for i in range(3)])
    for queue in ('shallow', 'deep'):
        store.create_subscription(project, queue, 'https://h.example/' +
                                  queue, ttl=TTL, options={}, secret='s',
                                  confirmed=True)
    store.post_messages(project, 'deep', [new(4)])
    samples = store.sample_queues(10_000)
    assert [(s.queue, s.depth) for s in samples if s.project == project] == [
        ('deep', 4), ('shallow', 1)]
    keys = [(-s.depth, s.project, s.queue) for s in samples]
    assert keys == sorted(keys)
    assert len(store.sample_queues(1)) == 1
    backlogs = store.sample_backlogs(10_000)
    assert [(s.queue, s.backlog) for s in backlogs
            if s.project == project] == [('deep', 1)]
    keys = [(-s.backlog, s.subscription_id) for s in backlogs]
    assert keys == sorted(keys)
    assert store.sample_backlogs(0) == []


def test_every_pool_seals_and_opens_with_the_facades_codec(
        facade: Facade, tmp_path: pathlib.Path, project: str,
        names: Callable[[str], str]) -> None:
    store = facade()
    left, right = _two_flavored_pools(store, tmp_path, names)
    assert store.registry.driver(left).codec is store.codec
    assert store.registry.driver(right).codec is store.codec
