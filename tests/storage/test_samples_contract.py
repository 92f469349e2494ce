"""The metrics samples of bridge.storage.base (deepest queues, largest
subscription backlogs), checked against every backend.

The test databases are shared by every test, so each test looks only at
its own project's share of a sample taken with a large limit, and checks
the limit separately.
"""

from __future__ import annotations

import time

import pytest

from .support import post

EVERYTHING = 100000


@pytest.fixture(autouse=True)
def _clean_up(storage, project):
    yield
    for queue in ('deep', 'shallow', 'empty'):
        storage.delete_queue(project, queue)


def ours(samples, project):
    return [s for s in samples if s.project == project]


def test_sample_queues_lists_queues_deepest_first_with_oldest_age(
        storage, project):
    post(storage, project, 'shallow', [1])
    before = time.time()
    post(storage, project, 'deep', [1, 2, 3], ttl=60)
    storage.create_queue(project, 'empty', {})
    later = before + 30
    samples = ours(storage.sample_queues(EVERYTHING, now=later), project)
    assert [(s.queue, s.depth) for s in samples] == [('deep', 3),
                                                     ('shallow', 1)]
    assert 25 <= samples[0].oldest_age <= 31
    assert samples[1].oldest_age >= samples[0].oldest_age


def test_sample_queues_leaves_out_expired_messages_and_obeys_the_limit(
        storage, project):
    post(storage, project, 'deep', [1, 2], ttl=60)
    post(storage, project, 'shallow', [1], ttl=3600)
    later = time.time() + 120
    samples = ours(storage.sample_queues(EVERYTHING, now=later), project)
    assert [(s.queue, s.depth) for s in samples] == [('shallow', 1)]
    assert len(storage.sample_queues(1)) == 1


def test_sample_backlogs_counts_messages_after_each_cursor(storage, project):
    early = storage.create_subscription(
        project, 'deep', 'https://a.example.com/', ttl=300, options={},
        secret='s', confirmed=True)
    post(storage, project, 'deep', [1, 2, 3])
    storage.create_subscription(
        project, 'deep', 'https://b.example.com/', ttl=300, options={},
        secret='s', confirmed=True)
    samples = ours(storage.sample_backlogs(EVERYTHING), project)
    assert [(s.subscription_id, s.queue, s.backlog) for s in samples] == [
        (early.id, 'deep', 3)]
    assert len(storage.sample_backlogs(1)) <= 1
    assert ours(storage.sample_backlogs(EVERYTHING,
                                        now=time.time() + 400), project) == []
