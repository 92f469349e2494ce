"""A client that changes a queue's metadata, then posts at once, gets the
new metadata's defaults and limits whichever API worker serves the post
(workers remember metadata between requests; see
bridge.storage.sql.guarded)."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from falcon import testing

from bridge import storage as bridge_storage
from bridge.api import app as api_app

from .support import Api, assert_error
from .test_queues import PATCH_TYPE


@pytest.fixture
def workers(conf: Any, tmp_path: Any) -> Iterator[tuple[Api, Api]]:
    """Two applications with their own storage on one SQLite file, as two
    bridge-api workers have; same project and client."""
    url = 'sqlite:///%s' % (tmp_path / 'api.sqlite')
    stores = [bridge_storage.from_url(url, conf) for _ in range(2)]
    stores[0].ensure_schema()
    first, second = (Api(testing.TestClient(api_app.create_app(conf, s)))
                     for s in stores)
    second.headers = dict(first.headers)
    yield first, second
    for store in stores:
        store.close()


def _set(api: Api, queue: str, name: str, value: Any) -> None:
    """PATCH one metadata key, as python-zaqarclient does."""
    resp = api.patch('/v2/queues/' + queue,
                     headers={'Content-Type': PATCH_TYPE},
                     body=json.dumps([{'op': 'add',
                                       'path': '/metadata/' + name,
                                       'value': value}]))
    assert resp.status_code == 200, resp.text


def _ttl(api: Api, queue: str, message_id: str) -> int:
    resp = api.get('/v2/queues/%s/messages/%s' % (queue, message_id))
    assert resp.status_code == 200, resp.text
    return resp.json['ttl']


def test_a_post_right_after_a_metadata_change_gets_the_new_default_ttl(
        workers):
    first, second = workers
    first.post_messages('q', 'before')
    _set(second, 'q', '_default_message_ttl', 120)
    [message_id] = first.post_messages('q', 'after')
    assert _ttl(first, 'q', message_id) == 120


def test_a_post_right_after_a_lower_size_limit_is_refused(workers):
    first, second = workers
    first.post_messages('q', 'x' * 300)
    _set(second, 'q', '_max_messages_post_size', 100)
    resp = first.post('/v2/queues/q/messages',
                      json={'messages': [{'body': 'x' * 300}]})
    assert_error(resp, 400)


def test_a_post_right_after_a_raised_size_limit_is_accepted(workers):
    first, second = workers
    second.put('/v2/queues/q', json={'_max_messages_post_size': 100})
    first.post_messages('q', 'small')
    _set(second, 'q', '_max_messages_post_size', 1000)
    first.post_messages('q', 'x' * 300)
