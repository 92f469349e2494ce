"""Notifiers over storage pools: subscriptions of queues placed on an
SQLite pool and on a PostgreSQL pool are leased from both and delivered,
in order and once, by two notifiers that each have their own view of the
catalog (as separate processes do)."""

from __future__ import annotations

import time

from bridge import storage as bridge_storage
from bridge.storage import catalog
from tests.notifier.conftest import make_conf, post, subscribe
from tests.storage.conftest import _create_sql_database, backend_url


def seqs(requests):
    return [r.json['body']['seq'] for r in requests]


def test_notifiers_deliver_the_subscriptions_of_every_pool(
        receiver, project, sqlite_url, tmp_path, run_notifier):
    conf = make_conf(sqlite_url, threads=2)
    conf.set_override('refresh_seconds', 0.2, group='pooling')
    pg_url = backend_url('postgresql', '')
    _create_sql_database('postgresql', pg_url)
    api = bridge_storage.from_conf(conf)  # an API worker
    api.ensure_schema()
    api.registry.create_pool(catalog.Pool(
        'lite', 'sqlite:///%s' % (tmp_path / 'pool.sqlite'), weight=1))
    api.registry.create_pool(catalog.Pool('pg', pg_url, weight=1))
    api.registry.put_flavor(catalog.Flavor('on-lite'), ['lite'])
    queues = {'a': 'lite', 'b': 'pg'}
    api.create_queue(project, 'a', {'_flavor': 'on-lite'})
    api.registry.put_flavor(catalog.Flavor('on-pg'), ['pg'])
    api.create_queue(project, 'b', {'_flavor': 'on-pg'})
    notifiers = [bridge_storage.from_conf(conf) for _ in range(2)]
    running = []
    try:
        for queue in queues:
            subscribe(api, project, queue, receiver.url('/' + queue))
        running = [run_notifier(conf, each) for each in notifiers]
        for batch in range(4):
            for queue in queues:
                post(api, project, queue, 5, start=5 * batch)
            time.sleep(0.05)
        for queue, pool in queues.items():
            assert api.catalog().placement(project, queue) == pool
            assert seqs(receiver.wait_for(20, '/' + queue)) == list(range(20))
        assert len(receiver.received()) == 2 * 20  # nothing twice
    finally:
        for each in running:
            each.stop()
        for each in notifiers:
            each.close()
        api.close()
