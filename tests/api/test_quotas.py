"""Quotas through the API: queues and subscriptions per project, messages
per queue, from [quotas] defaults and per-project overrides; exceeding one
answers 403 with Zaqar's error body and stores nothing."""

from __future__ import annotations

from typing import Callable

import pytest
from oslo_config import cfg

from bridge.storage.base import Storage
from .support import Api, assert_error

HOOK = {'subscriber': 'https://93.184.216.34/hook', 'ttl': 3600}


@pytest.fixture
def quota(conf: cfg.ConfigOpts) -> Callable[..., None]:
    """Set [quotas] defaults (before ``api``); overrides are read afresh on
    every request."""
    conf.set_override('refresh_seconds', 0, group='quotas')

    def set_defaults(**values: int) -> None:
        for name, value in values.items():
            conf.set_override(name, value, group='quotas')
    return set_defaults


def assert_quota_error(resp, says: str) -> None:
    assert_error(resp, 403)
    assert resp.json['title'] == 'Quota exceeded'
    assert says in resp.json['description']


def queue_names(api: Api) -> list[str]:
    return [q['name'] for q in api.get('/v2/queues').json['queues']]


def test_creating_a_queue_beyond_the_project_quota_answers_403(
        quota, make_api) -> None:
    quota(queues_per_project=2)
    api = make_api()
    assert api.put('/v2/queues/q1').status_code == 201
    assert api.put('/v2/queues/q2').status_code == 201
    assert_quota_error(api.put('/v2/queues/q3'), 'at most 2 queues')
    assert api.put('/v2/queues/q1').status_code == 204  # exists: fine
    assert api.as_project('project-b').put(
        '/v2/queues/q3').status_code == 201
    assert queue_names(api) == ['q1', 'q2']


def test_a_post_that_would_create_a_queue_beyond_the_quota_creates_nothing(
        quota, make_api) -> None:
    quota(queues_per_project=1)
    api = make_api()
    api.post_messages('q1', 'a')
    resp = api.post('/v2/queues/q2/messages',
                    json={'messages': [{'body': 'b'}]})
    assert_quota_error(resp, 'at most 1 queues')
    assert queue_names(api) == ['q1']
    api.post_messages('q1', 'still fine')


def test_a_post_beyond_the_messages_quota_stores_none_of_its_batch(
        quota, make_api) -> None:
    quota(messages_per_queue=3)
    api = make_api()
    api.post_messages('q1', 1, 2)
    resp = api.post('/v2/queues/q1/messages',
                    json={'messages': [{'body': 3}, {'body': 4}]})
    assert_quota_error(resp, 'at most 3 unexpired messages in this queue')
    listed = api.get('/v2/queues/q1/messages',
                     query_string='echo=true').json['messages']
    assert [m['body'] for m in listed] == [1, 2]
    api.post_messages('q1', 3)
    stats = api.get('/v2/queues/q1/stats').json['messages']
    assert stats['total'] == 3


def test_subscriptions_beyond_the_project_quota_answer_403(
        quota, make_api) -> None:
    quota(subscriptions_per_project=1)
    api = make_api()
    assert api.post('/v2/queues/q1/subscriptions',
                    json=HOOK).status_code == 201
    resp = api.post('/v2/queues/q2/subscriptions',
                    json=dict(HOOK, subscriber=HOOK['subscriber'] + '2'))
    assert_quota_error(resp, 'at most 1 subscriptions in this project')
    assert api.get('/v2/queues/q2/subscriptions').json[
        'subscriptions'] == []


def test_a_project_override_replaces_the_default_and_zero_is_unlimited(
        quota, make_api, storage: Storage) -> None:
    quota(queues_per_project=1)
    api = make_api()
    storage.set_quota('project-a', 'queues', 0)
    storage.set_quota('project-b', 'queues', 2)
    for name in ('q1', 'q2', 'q3'):
        assert api.put('/v2/queues/' + name).status_code == 201
    other = api.as_project('project-b')
    assert other.put('/v2/queues/q1').status_code == 201
    assert other.put('/v2/queues/q2').status_code == 201
    assert_quota_error(other.put('/v2/queues/q3'), 'at most 2 queues')
    storage.delete_quota('project-b')
    assert_quota_error(other.put('/v2/queues/q3'), 'at most 1 queues')
