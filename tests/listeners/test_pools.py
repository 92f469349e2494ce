"""The listener over storage pools, end to end on a real RabbitMQ: with an
SQLite pool and a PostgreSQL pool registered, every notification lands
once in its owner's queue, on the pool the catalog names for that queue,
and another process (an API worker) finds it there. Nothing is lost."""

from __future__ import annotations

import uuid

import pytest

from bridge import emitter
from bridge import storage as bridge_storage
from bridge.listeners import service
from bridge.storage import catalog
from tests.listeners.conftest import make_conf
from tests.listeners.test_rabbit import messages_of, wait_for
from tests.storage.conftest import _create_sql_database, backend_url


@pytest.fixture
def pooled_conf(bus, sqlite_url, samples, tmp_path):
    exchanges = sorted({s['exchange'] for s in samples})
    conf = make_conf(sqlite_url, topics=[bus['topic']], pool=bus['pool'],
                     exchanges=exchanges, batch_timeout=0.2,
                     dead_letter_project='operators')
    conf.set_override('refresh_seconds', 0.2, group='pooling')
    pg_url = backend_url('postgresql', '')
    _create_sql_database('postgresql', pg_url)
    admin = bridge_storage.from_conf(conf)
    admin.ensure_schema()
    admin.registry.create_pool(catalog.Pool(
        'lite', 'sqlite:///%s' % (tmp_path / 'pool.sqlite'), weight=1))
    admin.registry.create_pool(catalog.Pool('pg', pg_url, weight=1))
    yield conf
    admin.close()


def test_a_listener_writes_to_queues_on_two_pools_and_loses_nothing(
        bus, pooled_conf, samples):
    bridge = service.ListenerService(pooled_conf)
    bridge.start()
    sent = []
    try:
        with emitter.Emitter(bus['url']) as out:
            for sample in samples:
                sample = dict(sample, topic=bus['topic'],
                              message_id=str(uuid.uuid4()))
                out.publish(sample)
                sent.append(sample)

        def handled():
            c = bridge.endpoint.counters.snapshot()
            return c['stored'] + c['dead_lettered'] + c['dropped'] >= len(sent)

        wait_for(handled, 60, 'bridge to handle %d notifications' % len(sent))
        counters = bridge.endpoint.counters.snapshot()
    finally:
        bridge.stop()
    assert counters['lost'] == 0

    worker = bridge_storage.from_conf(pooled_conf)  # another process's view
    placements = set()
    queues = set()
    try:
        for sample in sent:
            owner = sample['expected_project']
            if not owner:
                continue
            mine = [(queue, m) for queue, m in messages_of(worker, owner)
                    if m.body.get('id') == sample['message_id']]
            assert len(mine) == 1, sample['fixture']
            queue = mine[0][0]
            pool = worker.catalog().placement(owner, queue)
            placements.add(pool)
            queues.add((owner, queue))
            on_pool = worker.registry.driver(pool).get_messages(
                owner, queue, [mine[0][1].id])
            assert [m.body for m in on_pool] == [mine[0][1].body]
    finally:
        worker.close()
    # Placed at random, weight 1 each: all on one pool once in 2**(n-1)
    # (the samples make 19 queues).
    assert len(queues) >= 12
    assert placements == {'lite', 'pg'}
