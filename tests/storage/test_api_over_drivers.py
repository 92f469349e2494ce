"""The Zaqar parity behaviours that depend on what storage keeps, through
the real API application over every backend: the reserved queue metadata
(with ``_enable_encrypt_messages``), claim ids each driver issues passing
the API's claim id check while malformed ones are 400, and a purge of both
resource types."""

from __future__ import annotations

import uuid

import pytest
from falcon import testing

from bridge.api import app as api_app
from bridge.storage import base

from .conftest import make_conf


class Client:
    def __init__(self, storage: base.Storage, project: str) -> None:
        self.client = testing.TestClient(api_app.create_app(make_conf(),
                                                            storage))
        self.headers = {'Client-ID': str(uuid.uuid4()),
                        'X-Project-Id': project}

    def __call__(self, method: str, path: str, **kwargs) -> testing.Result:
        return self.client.simulate_request(method, path,
                                            headers=self.headers, **kwargs)


@pytest.fixture
def api(storage: base.Storage, project: str) -> Client:
    return Client(storage, project)


def test_reserved_metadata_and_the_encryption_flag_are_kept(
        api: Client) -> None:
    assert api('PUT', '/v2/queues/q', json={
        '_enable_encrypt_messages': True, '_max_claim_count': 3,
        'owner': 'ops'}).status_code == 201
    shown = api('GET', '/v2/queues/q').json
    assert shown['_enable_encrypt_messages'] is True
    assert shown['_max_claim_count'] == 3 and shown['owner'] == 'ops'
    assert shown['_dead_letter_queue'] is None
    assert shown['_default_message_ttl'] == 3600


def test_issued_claim_ids_delete_and_malformed_ones_are_400(
        api: Client) -> None:
    resp = api('POST', '/v2/queues/q/messages',
               json={'messages': [{'body': 1}, {'body': 2}]})
    first, second = [h.rsplit('/', 1)[1] for h in resp.json['resources']]
    claim = api('POST', '/v2/queues/q/claims', json={'ttl': 60, 'grace': 60})
    assert claim.status_code == 201
    hrefs = [m['href'] for m in claim.json['messages']]
    malformed = api('DELETE', '/v2/queues/q/messages/' + first,
                    params={'claim_id': 'not-a-claim'})
    assert malformed.status_code == 400
    for href in hrefs:
        path, _, query = href.partition('?')
        assert api('DELETE', path, query_string=query).status_code == 204
    left = api('GET', '/v2/queues/q/messages',
               params={'echo': 'true', 'include_claimed': 'true'})
    assert left.json['messages'] == []
    assert {first, second} == {h.split('/')[-1].split('?')[0] for h in hrefs}


def test_purge_of_both_resource_types_empties_the_queue_and_unsubscribes(
        api: Client) -> None:
    api('POST', '/v2/queues/q/messages', json={'messages': [{'body': 1}]})
    for hook in ('http://93.184.216.34/a', 'mailto:ops@example.com'):
        assert api('POST', '/v2/queues/q/subscriptions',
                   json={'subscriber': hook}).status_code == 201
    resp = api('POST', '/v2/queues/q/purge',
               json={'resource_types': ['messages', 'subscriptions']})
    assert resp.status_code == 204
    assert api('GET', '/v2/queues/q/stats').json['messages']['total'] == 0
    assert api('GET', '/v2/queues/q/subscriptions').json[
        'subscriptions'] == []
    assert api('HEAD', '/v2/queues/q').status_code == 204


def test_topics_through_the_api_are_apart_from_queues_on_every_driver(
        api: Client) -> None:
    assert api('PUT', '/v2/topics/t', json={'x': 1}).status_code == 201
    api('POST', '/v2/topics/t/messages', json={'messages': [{'body': 'T'}]})
    api('POST', '/v2/queues/t/messages', json={'messages': [{'body': 'Q'}]})
    assert [t['name'] for t in api('GET', '/v2/topics').json['topics']] \
        == ['t']
    assert [q['name'] for q in api('GET', '/v2/queues').json['queues']] \
        == ['t']
    topic = api('GET', '/v2/topics/t/messages', params={'echo': 'true'})
    assert [m['body'] for m in topic.json['messages']] == ['T']
    assert api('GET', '/v2/topics/t/stats').json['messages']['total'] == 1
    assert api('DELETE', '/v2/topics/t').status_code == 204
    assert api('GET', '/v2/topics/t').status_code == 404
    queue = api('GET', '/v2/queues/t/messages', params={'echo': 'true'})
    assert [m['body'] for m in queue.json['messages']] == ['Q']
    api('DELETE', '/v2/queues/t')
