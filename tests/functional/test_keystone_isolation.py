"""With ``auth_strategy = keystone`` a real keystonemiddleware validates every
token with a real Keystone (tools/start-keystone.sh), and the project comes
from the token only: project A cannot list, read, claim or delete project B's
messages, not even by sending ``X-Project-Id: B``; requests without a valid
token get 401."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from .keystone import Keystone
from .server import BridgeAPI

TIMEOUT = 10
QUEUE = 'reports'  # the same queue name in both projects


class Tenant:
    """A user of one project, talking to bridge with its own token."""

    def __init__(self, api: BridgeAPI, keystone: Keystone, name: str,
                 forged_project: str | None = None) -> None:
        user = keystone.create_user(name)
        self.token = keystone.token(user)
        self.project_id = project_id = user.project_id
        self.api = api
        # Like python-zaqarclient, name the project in X-Project-Id too.
        self.headers = {'Client-ID': str(uuid.uuid4()), 'X-Auth-Token': self.token,
                        'X-Project-Id': project_id}
        if forged_project:
            # Headers that would name another project, or claim privileges,
            # if anything downstream of keystonemiddleware trusted them.
            self.headers.update({'X-Project-Id': forged_project,
                                 'X-Tenant-Id': forged_project,
                                 'X-Roles': 'admin',
                                 'X-Identity-Status': 'Confirmed'})

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, self.api.url + path, headers=self.headers,
                                timeout=TIMEOUT, **kwargs)


@pytest.fixture(scope='module')
def tenants(keystone_api: BridgeAPI, keystone: Keystone) -> dict[str, Any]:
    b = Tenant(keystone_api, keystone, 'bob')
    a = Tenant(keystone_api, keystone, 'alice', forged_project=b.project_id)
    assert a.project_id != b.project_id
    assert b.call('PUT', f'/v2/queues/{QUEUE}').status_code == 201
    resp = b.call('POST', f'/v2/queues/{QUEUE}/messages', json={'messages': [
        {'body': {'secret': 'b-secret-1'}, 'ttl': 600},
        {'body': {'secret': 'b-secret-2'}, 'ttl': 600}]})
    assert resp.status_code == 201, resp.text
    b_ids = [href.rsplit('/', 1)[1] for href in resp.json()['resources']]
    return {'a': a, 'b': b, 'b_ids': b_ids}


def b_messages(b: Tenant) -> list[dict[str, Any]]:
    resp = b.call('GET', f'/v2/queues/{QUEUE}/messages',
                  params={'echo': 'true', 'include_claimed': 'true'})
    assert resp.status_code == 200, resp.text
    return resp.json()['messages']


def assert_b_untouched(tenants: dict[str, Any]) -> None:
    """B still has both messages, unclaimed."""
    b = tenants['b']
    messages = b_messages(b)
    assert [m['id'] for m in messages] == tenants['b_ids']
    assert all('claim_id' not in m['href'] for m in messages)
    stats = b.call('GET', f'/v2/queues/{QUEUE}/stats').json()['messages']
    assert (stats['total'], stats['claimed']) == (2, 0)


def test_a_cannot_list_b_queues_or_messages(tenants: dict[str, Any]) -> None:
    a = tenants['a']
    queues = a.call('GET', '/v2/queues')
    assert queues.status_code == 200, queues.text
    assert QUEUE not in [q['name'] for q in queues.json()['queues']]
    listing = a.call('GET', f'/v2/queues/{QUEUE}/messages',
                     params={'echo': 'true', 'include_claimed': 'true'})
    assert listing.status_code in (200, 404), listing.text
    assert 'b-secret' not in listing.text
    assert_b_untouched(tenants)


def test_a_cannot_read_b_messages(tenants: dict[str, Any]) -> None:
    a, b_ids = tenants['a'], tenants['b_ids']
    one = a.call('GET', f'/v2/queues/{QUEUE}/messages/{b_ids[0]}')
    assert one.status_code == 404, one.text
    many = a.call('GET', f'/v2/queues/{QUEUE}/messages', params={'ids': ','.join(b_ids)})
    assert many.status_code in (200, 404), many.text
    assert 'b-secret' not in many.text
    stats = a.call('GET', f'/v2/queues/{QUEUE}/stats')
    assert stats.status_code in (200, 404), stats.text
    if stats.status_code == 200:
        assert stats.json()['messages']['total'] == 0


def test_a_cannot_claim_b_messages(tenants: dict[str, Any]) -> None:
    a = tenants['a']
    claim = a.call('POST', f'/v2/queues/{QUEUE}/claims', params={'limit': 10},
                   json={'ttl': 300, 'grace': 60})
    assert claim.status_code in (204, 404), claim.text
    assert 'b-secret' not in claim.text
    assert_b_untouched(tenants)


def test_a_cannot_delete_b_messages_or_queue(tenants: dict[str, Any]) -> None:
    a, b_ids = tenants['a'], tenants['b_ids']
    attempts = [
        a.call('DELETE', f'/v2/queues/{QUEUE}/messages/{b_ids[0]}'),
        a.call('DELETE', f'/v2/queues/{QUEUE}/messages', params={'ids': ','.join(b_ids)}),
        a.call('DELETE', f'/v2/queues/{QUEUE}/messages', params={'pop': 2}),
        a.call('POST', f'/v2/queues/{QUEUE}/purge', json={'resource_types': ['messages']}),
        a.call('DELETE', f'/v2/queues/{QUEUE}'),
    ]
    for resp in attempts:
        assert resp.status_code < 500, (resp.request.method, resp.request.url, resp.text)
        assert 'b-secret' not in resp.text
    assert_b_untouched(tenants)
    assert QUEUE in [q['name'] for q in tenants['b'].call('GET', '/v2/queues').json()['queues']]


@pytest.mark.parametrize('token', [None, 'not-a-token', ''])
@pytest.mark.parametrize('method,path', [
    ('GET', '/v2/queues'),
    ('GET', f'/v2/queues/{QUEUE}/messages'),
    ('POST', f'/v2/queues/{QUEUE}/messages'),
    ('POST', f'/v2/queues/{QUEUE}/claims'),
])
def test_missing_or_invalid_token_gets_401(tenants: dict[str, Any], token: str | None,
                                           method: str, path: str) -> None:
    b = tenants['b']
    headers = {'Client-ID': str(uuid.uuid4()), 'X-Project-Id': b.project_id}
    if token is not None:
        headers['X-Auth-Token'] = token
    body = {'messages': [{'body': 'intruder', 'ttl': 600}]} if path.endswith('messages') else {}
    resp = requests.request(method, b.api.url + path, headers=headers, timeout=TIMEOUT,
                            params={'echo': 'true'}, json=body if method == 'POST' else None)
    assert resp.status_code == 401, resp.text
    assert 'b-secret' not in resp.text
    assert_b_untouched(tenants)


def test_a_token_revoked_in_keystone_is_refused_at_once(
        keystone_api: BridgeAPI, keystone: Keystone) -> None:
    carol = Tenant(keystone_api, keystone, 'carol')
    assert carol.call('GET', '/v2/queues').status_code == 200
    keystone.revoke(carol.token)
    resp = carol.call('GET', '/v2/queues')
    assert resp.status_code == 401, resp.text


def test_a_works_in_its_own_project_whatever_project_header_it_sends(
        tenants: dict[str, Any]) -> None:
    a = tenants['a']  # sends X-Project-Id: B on every request
    assert a.call('PUT', f'/v2/queues/{QUEUE}').status_code == 201
    posted = a.call('POST', f'/v2/queues/{QUEUE}/messages',
                    json={'messages': [{'body': {'own': 'a-1'}, 'ttl': 600}]})
    assert posted.status_code == 201, posted.text
    a_id = posted.json()['resources'][0].rsplit('/', 1)[1]

    listed = a.call('GET', f'/v2/queues/{QUEUE}/messages', params={'echo': 'true'})
    assert listed.status_code == 200, listed.text
    assert [m['body'] for m in listed.json()['messages']] == [{'own': 'a-1'}]

    claim = a.call('POST', f'/v2/queues/{QUEUE}/claims', json={'ttl': 300, 'grace': 60})
    assert claim.status_code == 201, claim.text
    (claimed,) = claim.json()['messages']
    assert claimed['id'] == a_id
    deleted = a.call('DELETE', claimed['href'])  # href carries ?claim_id=
    assert deleted.status_code == 204, deleted.text
    assert a.call('GET', f'/v2/queues/{QUEUE}/messages/{a_id}').status_code == 404

    assert a.call('DELETE', f'/v2/queues/{QUEUE}').status_code == 204
    assert_b_untouched(tenants)


def test_a_cannot_see_or_read_b_topics(tenants: dict[str, Any]) -> None:
    a, b = tenants['a'], tenants['b']
    topic = f'/v2/topics/{QUEUE}'
    assert b.call('PUT', topic).status_code in (201, 204)
    posted = b.call('POST', topic + '/messages', json={'messages': [
        {'body': {'secret': 'b-topic-secret'}}]})
    assert posted.status_code == 201, posted.text
    assert a.call('GET', '/v2/topics').json()['topics'] == []
    assert a.call('GET', topic).status_code == 404
    listing = a.call('GET', topic + '/messages', params={'echo': 'true'})
    assert 'b-topic-secret' not in listing.text
    assert a.call('GET', posted.json()['resources'][0]).status_code == 404
    mine = b.call('GET', topic + '/messages', params={'echo': 'true'})
    assert 'b-topic-secret' in mine.text
    assert_b_untouched(tenants)
