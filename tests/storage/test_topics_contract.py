"""Topics in storage (bridge.storage.namespaces), checked against every
backend: a topic is a queue of the owner ``<project>/topics``, so it must
never meet the project's queue of the same name, and the notifier's
leases must fan a topic's messages out to each of its subscribers."""

from __future__ import annotations

import pytest

from bridge.storage import errors, namespaces
from .support import bodies, post

HOOK = 'https://receiver.example.com/hook'
LEASE = 60.0


@pytest.fixture
def topics(storage, project):
    owner = namespaces.owner(project, namespaces.TOPICS)
    yield owner
    for queue in ('news', 'other'):
        storage.delete_queue(owner, queue)
        storage.delete_queue(project, queue)


def test_a_topic_and_a_queue_of_the_same_name_are_separate(
        storage, project, topics):
    assert storage.create_queue(topics, 'news', {'kind': 'topic'}) is True
    assert storage.create_queue(project, 'news', {'kind': 'queue'}) is True
    post(storage, topics, 'news', ['to the topic'])
    post(storage, project, 'news', ['to the queue', 'again'])

    assert storage.get_queue(topics, 'news') == {'kind': 'topic'}
    assert storage.get_queue(project, 'news') == {'kind': 'queue'}
    assert bodies(storage.list_messages(topics, 'news', echo=True)) == \
        ['to the topic']
    assert bodies(storage.list_messages(project, 'news', echo=True)) == \
        ['to the queue', 'again']
    assert storage.queue_stats(topics, 'news').total == 1
    assert storage.queue_stats(project, 'news').total == 2


def test_listing_queues_never_shows_topics_nor_the_reverse(
        storage, project, topics):
    storage.create_queue(topics, 'news', {})
    storage.create_queue(project, 'other', {})
    assert [name for name, _ in storage.list_queues(topics)] == ['news']
    assert [name for name, _ in storage.list_queues(project)] == ['other']
    assert storage.count_queues(topics) == 1
    assert storage.count_queues(project) == 1


def test_deleting_a_topic_keeps_the_queue_of_the_same_name(
        storage, project, topics):
    post(storage, topics, 'news', ['t'])
    post(storage, project, 'news', ['q'])
    storage.delete_queue(topics, 'news')
    with pytest.raises(errors.QueueNotFound):
        storage.get_queue(topics, 'news')
    assert bodies(storage.list_messages(project, 'news', echo=True)) == ['q']


def test_a_topic_message_is_leased_to_every_subscriber_of_the_topic(
        storage, project, topics):
    first = storage.create_subscription(
        topics, 'news', HOOK + '/1', ttl=300, options={}, secret='s',
        confirmed=True)
    second = storage.create_subscription(
        topics, 'news', HOOK + '/2', ttl=300, options={}, secret='s',
        confirmed=True)
    queue_sub = storage.create_subscription(
        project, 'news', HOOK + '/1', ttl=300, options={}, secret='s',
        confirmed=True)
    post(storage, topics, 'news', ['fan out'])

    leased = {s.id: s for s in storage.lease_subscriptions(
        'owner-' + project, lease_seconds=LEASE, limit=1000)
        if s.tenant == project}
    assert set(leased) == {first.id, second.id}, \
        'the queue of the same name has no message: its subscriber waits'
    for sub in leased.values():
        assert sub.project == topics and sub.queue == 'news'
        assert sub.source_path == '/v2/topics/news'
        page = storage.list_messages(sub.project, sub.queue,
                                     marker=str(sub.cursor), echo=True)
        assert bodies(page) == ['fan out']
    assert storage.list_subscriptions(project, 'news') == [queue_sub]


def test_the_same_subscriber_may_follow_a_topic_and_a_queue(
        storage, project, topics):
    storage.create_subscription(topics, 'news', HOOK, ttl=300, options={},
                                secret='s', confirmed=True)
    storage.create_subscription(project, 'news', HOOK, ttl=300, options={},
                                secret='s', confirmed=True)
    with pytest.raises(errors.Conflict):
        storage.create_subscription(topics, 'news', HOOK, ttl=300,
                                    options={}, secret='s', confirmed=True)
