"""Batching over a real RabbitMQ: a lone notification is stored at once
(not after [listener] batch_timeout), and a burst is still stored in
batches."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from bridge import emitter
from bridge.listeners import batching, service
from tests.listeners.conftest import make_conf


def _handled(bridge: service.ListenerService) -> int:
    c = bridge.endpoint.counters.snapshot()
    return c['stored'] + c['dead_lettered'] + c['dropped']


@pytest.fixture
def running(bus, sqlite_url, samples):
    """bridge-listener's service with the default batch_timeout (0.5 s),
    recording the size of every batch it handles."""
    sample = next(s for s in samples if s['expected_project'])
    conf = make_conf(sqlite_url, topics=[bus['topic']], pool=bus['pool'],
                     exchanges=[sample['exchange']])
    assert conf.listener.batch_timeout == 0.5
    bridge = service.ListenerService(conf)
    sizes: list[int] = []
    lock = threading.Lock()
    handle = bridge.endpoint.handle

    def recording(priority, messages):
        with lock:
            sizes.append(len(messages))
        return handle(priority, messages)

    bridge.endpoint.handle = recording
    bridge.start()
    try:
        with emitter.Emitter(bus['url']) as out:
            yield bridge, sizes, lambda: out.publish(dict(
                sample, topic=bus['topic'], message_id=str(uuid.uuid4())))
    finally:
        bridge.stop()


def _wait_handled(bridge, count, timeout=30.0) -> float:
    deadline = time.monotonic() + timeout
    while _handled(bridge) < count:
        assert time.monotonic() < deadline, 'not handled in %ss' % timeout
        time.sleep(0.001)
    return time.monotonic()


def test_a_lone_notification_is_stored_without_waiting_for_a_batch(running):
    bridge, sizes, publish = running
    publish()
    _wait_handled(bridge, 1)  # the pool queue and connections are warm
    delays = []
    for n in range(2, 12):
        time.sleep(0.05)
        sent = time.monotonic()
        publish()
        delays.append(_wait_handled(bridge, n) - sent)
    # Waiting for the batch to fill would take the rest of a 0.5 s window.
    assert max(delays) < 0.15, ['%.3f' % d for d in delays]


def test_a_burst_is_still_stored_in_batches(running):
    bridge, sizes, publish = running
    for _ in range(300):
        publish()
    _wait_handled(bridge, 300)
    assert sum(sizes) == 300
    assert len(sizes) <= 100, sizes  # an average of 3 or more per batch


def test_prompt_poll_takes_what_arrives_within_the_linger():
    arrivals = [['a'], ['b', 'c'], [], ['late']]
    calls = []

    def poll(timeout=None, batch_size=1, batch_timeout=None):
        calls.append((batch_size, batch_timeout))
        return arrivals.pop(0)[:batch_size]

    prompt = batching.prompt_poll(poll, linger=1.0)
    assert prompt(batch_size=10, batch_timeout=0.5) == ['a', 'b', 'c']
    assert calls[0] == (1, 0.5)  # the first waits up to batch_timeout
    assert calls[1][0] == 9 and calls[1][1] <= 1.0


def test_prompt_poll_returns_nothing_when_nothing_came():
    prompt = batching.prompt_poll(lambda **kw: [], linger=1.0)
    assert prompt(batch_size=10, batch_timeout=0.01) == []
