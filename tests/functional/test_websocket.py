"""Zaqar v2's WebSocket API on a real bridge-api ([websocket] bind_port),
driven by python-zaqarclient's websocket transport (the one os-collect-config
uses) and by raw frames with websocket-client.

Every action goes through the REST application; these tests check the
frames (status, body shapes as Zaqar gives them), socket subscriptions fed
by posts over REST from another process, and, in keystone mode, that the
token's project is bound to the socket whatever headers the frames carry.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Iterator

import pytest
import requests
import websocket
from zaqarclient.transport import errors as zaqar_errors
from zaqarclient.transport import get_transport_for
from zaqarclient.transport import request as zaqar_request

from .conftest import sqlite_options
from .keystone import Keystone
from .server import BridgeAPI

TIMEOUT = 10


@pytest.fixture(scope='module')
def ws_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeAPI]:
    workdir = tmp_path_factory.mktemp('bridge-ws')
    server = BridgeAPI(workdir, sqlite_options(workdir),
                       websocket=True).start()
    yield server
    server.stop()


class Client:
    """python-zaqarclient's websocket transport, as os-collect-config
    drives it."""

    def __init__(self, url: str, project: str, token: str = 'unused') -> None:
        options = {'auth_opts': {'backend': 'keystone', 'options': {
            'os_auth_token': token, 'os_project_id': project}}}
        self.url = url
        self.transport = get_transport_for(url, options=options)

    def send(self, action: str, **body: Any) -> tuple[int, Any]:
        req = zaqar_request.Request(self.url, action,
                                    content=json.dumps(body))
        resp = self.transport.send(req)
        return resp.status_code, json.loads(resp.content or 'null')

    def close(self) -> None:
        self.transport.cleanup()


def test_zaqarclient_creates_posts_lists_claims_deletes_and_pops(
        ws_api: BridgeAPI) -> None:
    client = Client(ws_api.ws_url, 'ws-' + uuid.uuid4().hex[:8])
    try:
        assert client.send('queue_create', queue_name='jobs',
                           metadata={'kind': 'test'})[0] == 201
        assert client.send('queue_create', queue_name='jobs')[0] == 204
        status, body = client.send('queue_get', queue_name='jobs')
        assert (status, body['kind']) == (200, 'test')
        status, body = client.send('queue_list')
        assert status == 200
        assert [q['name'] for q in body['queues']] == ['jobs']

        status, body = client.send('message_post', queue_name='jobs',
                                   messages=[{'body': n, 'ttl': 300}
                                             for n in range(4)])
        assert status == 201
        ids = body['message_ids']
        assert len(ids) == 4

        status, body = client.send('message_list', queue_name='jobs',
                                   echo=True)
        assert status == 200
        assert [m['body'] for m in body['messages']] == [0, 1, 2, 3]
        assert set(body['messages'][0]) == {'id', 'claim_id', 'ttl', 'age',
                                            'body'}
        status, body = client.send('message_get', queue_name='jobs',
                                   message_id=ids[0])
        assert (status, body['id'], body['body']) == (200, ids[0], 0)
        status, body = client.send('message_get_many', queue_name='jobs',
                                   message_ids=ids[:2])
        assert sorted(m['body'] for m in body['messages']) == [0, 1]

        status, claim = client.send('claim_create', queue_name='jobs',
                                    ttl=60, grace=60, limit=2)
        assert status == 201
        assert [m['body'] for m in claim['messages']] == [0, 1]
        assert all(m['claim_id'] == claim['claim_id']
                   for m in claim['messages'])
        status, body = client.send('claim_get', queue_name='jobs',
                                   claim_id=claim['claim_id'])
        assert status == 200 and len(body['messages']) == 2
        assert client.send('claim_update', queue_name='jobs',
                           claim_id=claim['claim_id'], ttl=120)[0] == 204
        assert client.send('message_delete', queue_name='jobs',
                           message_id=ids[0],
                           claim_id=claim['claim_id'])[0] == 204
        assert client.send('claim_delete', queue_name='jobs',
                           claim_id=claim['claim_id'])[0] == 204
        assert client.send('message_delete_many', queue_name='jobs',
                           message_ids=[ids[1]])[0] == 204

        status, body = client.send('message_delete_many', queue_name='jobs',
                                   pop=1)
        assert status == 200
        assert [m['body'] for m in body['messages']] == [2]
        status, body = client.send('queue_get_stats', queue_name='jobs')
        assert status == 200 and body['messages']['total'] == 1

        assert client.send('queue_delete', queue_name='jobs')[0] == 204
        assert client.send('queue_list')[1]['queues'] == []
        with pytest.raises(zaqar_errors.ResourceNotFound):
            client.send('claim_get', queue_name='jobs',
                        claim_id=claim['claim_id'])
    finally:
        client.close()


def _socket(api: BridgeAPI) -> websocket.WebSocket:
    return websocket.create_connection(api.ws_url, timeout=TIMEOUT)


def _call(ws: websocket.WebSocket, action: str, body: dict[str, Any],
          headers: dict[str, str]) -> dict[str, Any]:
    ws.send(json.dumps({'action': action, 'headers': headers, 'body': body}))
    return json.loads(ws.recv())


def test_bad_frames_get_zaqar_errors_and_the_socket_stays_open(
        ws_api: BridgeAPI) -> None:
    ws = _socket(ws_api)
    try:
        ws.send('not json')
        answer = json.loads(ws.recv())
        assert answer['headers'] == {'status': 400}
        assert 'error' in answer['body']
        headers = {'Client-ID': str(uuid.uuid4()), 'X-Project-ID': 'ws-bad'}
        answer = _call(ws, 'queue_fly', {}, headers)
        assert answer['headers']['status'] == 400
        answer = _call(ws, 'queue_create', {'queue_name': 'no/slash'},
                       headers)
        assert answer['headers']['status'] in (400, 404)
        answer = _call(ws, 'message_post', {'queue_name': 'q',
                                            'messages': 'nope'}, headers)
        assert answer['headers']['status'] == 400
        assert answer['body']['error']
        assert answer['request']['action'] == 'message_post'
        answer = _call(ws, 'queue_list', {}, {'Client-ID': str(uuid.uuid4())})
        assert answer['headers']['status'] == 400  # no project in noauth
    finally:
        ws.close()


def test_a_socket_subscription_pushes_messages_posted_over_rest(
        ws_api: BridgeAPI) -> None:
    project = 'ws-' + uuid.uuid4().hex[:8]
    headers = {'Client-ID': str(uuid.uuid4()), 'X-Project-ID': project}
    ws = _socket(ws_api)
    try:
        requests.post(f'{ws_api.url}/v2/queues/feed/messages',
                      json={'messages': [{'body': 'before'}]},
                      headers={'Client-ID': str(uuid.uuid4()),
                               'X-Project-Id': project}, timeout=TIMEOUT)
        answer = _call(ws, 'subscription_create',
                       {'queue_name': 'feed', 'ttl': 60}, headers)
        assert answer['headers']['status'] == 201
        assert answer['body']['subscription_id']
        for n in range(3):
            resp = requests.post(
                f'{ws_api.url}/v2/queues/feed/messages',
                json={'messages': [{'body': {'n': n}, 'ttl': 120}]},
                headers={'Client-ID': str(uuid.uuid4()),
                         'X-Project-Id': project}, timeout=TIMEOUT)
            assert resp.status_code == 201
        pushed = [json.loads(ws.recv()) for _ in range(3)]
        assert [p['body'] for p in pushed] == [{'n': 0}, {'n': 1}, {'n': 2}]
        assert all(p['queue_name'] == 'feed' and p['ttl'] == 120
                   and p['Message_Type'] == 'Notification' for p in pushed)
        # Another project's queue of the same name pushes nothing here.
        requests.post(f'{ws_api.url}/v2/queues/feed/messages',
                      json={'messages': [{'body': 'not yours'}]},
                      headers={'Client-ID': str(uuid.uuid4()),
                               'X-Project-Id': project + '-other'},
                      timeout=TIMEOUT)
        ws.settimeout(1.0)
        with pytest.raises(websocket.WebSocketTimeoutException):
            ws.recv()
    finally:
        ws.close()


def test_a_socket_subscription_ends_with_its_ttl(ws_api: BridgeAPI) -> None:
    project = 'ws-' + uuid.uuid4().hex[:8]
    headers = {'Client-ID': str(uuid.uuid4()), 'X-Project-ID': project}
    ws = _socket(ws_api)
    try:
        answer = _call(ws, 'subscription_create',
                       {'queue_name': 'short', 'ttl': 1}, headers)
        assert answer['headers']['status'] == 201
        time.sleep(1.5)
        requests.post(f'{ws_api.url}/v2/queues/short/messages',
                      json={'messages': [{'body': 'late'}]},
                      headers={'Client-ID': str(uuid.uuid4()),
                               'X-Project-Id': project}, timeout=TIMEOUT)
        ws.settimeout(1.0)
        with pytest.raises(websocket.WebSocketTimeoutException):
            ws.recv()
    finally:
        ws.close()


# -- keystone mode ------------------------------------------------------------

def test_keystone_a_socket_of_project_a_cannot_touch_project_b(
        keystone_api: BridgeAPI, keystone: Keystone) -> None:
    api = keystone_api
    alice, bob = keystone.create_user('ws-alice'), keystone.create_user('ws-bob')
    bob_headers = {'Client-ID': str(uuid.uuid4()),
                   'X-Auth-Token': keystone.token(bob)}
    resp = requests.post(f'{api.url}/v2/queues/secret/messages',
                         json={'messages': [{'body': 'bob only'}]},
                         headers=bob_headers, timeout=TIMEOUT)
    assert resp.status_code == 201

    ws = _socket(api)
    try:
        forged = {'Client-ID': str(uuid.uuid4()),
                  'X-Project-ID': bob.project_id,
                  'X-Auth-Token': keystone.token(bob),
                  'X-Roles': 'admin'}
        answer = _call(ws, 'queue_list', {}, forged)
        assert answer['headers']['status'] == 403  # not authenticated yet
        answer = _call(ws, 'authenticate', {},
                       {'X-Auth-Token': 'not-a-token'})
        assert answer['headers']['status'] == 401
        answer = _call(ws, 'authenticate', {},
                       {'X-Auth-Token': keystone.token(alice)})
        assert answer['headers']['status'] == 200
        # Whatever the frames say, they act in alice's project.
        assert _call(ws, 'message_list', {'queue_name': 'secret',
                                          'echo': True},
                     forged)['body']['messages'] == []
        assert _call(ws, 'message_delete_many', {
            'queue_name': 'secret', 'pop': 5}, forged)['body'][
                'messages'] == []
        assert _call(ws, 'claim_create', {'queue_name': 'secret'},
                     forged)['headers']['status'] == 204
        answer = _call(ws, 'queue_list', {}, forged)
        assert answer['body']['queues'] == []
        answer = _call(ws, 'subscription_create', {
            'queue_name': 'secret', 'ttl': 60}, forged)
        assert answer['headers']['status'] == 201
        requests.post(f'{api.url}/v2/queues/secret/messages',
                      json={'messages': [{'body': 'still bob only'}]},
                      headers=bob_headers, timeout=TIMEOUT)
        ws.settimeout(1.5)
        with pytest.raises(websocket.WebSocketTimeoutException):
            ws.recv()
    finally:
        ws.close()
    # Bob's messages are all still there.
    resp = requests.get(f'{api.url}/v2/queues/secret/messages?echo=true',
                        headers=bob_headers, timeout=TIMEOUT)
    assert [m['body'] for m in resp.json()['messages']] == [
        'bob only', 'still bob only']
