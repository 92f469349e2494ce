"""Topics on a running bridge-api, over real HTTP: the whole lifecycle
Zaqar v2 defines (create, list, show, metadata, post, list messages,
stats, subscriptions, purge, delete).

python-zaqarclient (4.x, and its newest source) has no topic API, so the
topic calls are made with ``requests``; python-zaqarclient checks that a
project's topics never show up as queues and leave its queue of the same
name alone."""

from __future__ import annotations

import json
import uuid

import requests
from zaqarclient.queues.v2 import client as zaqar_client

from .server import BridgeAPI

TIMEOUT = 10
PATCH_TYPE = 'application/openstack-messaging-v2.0-json-patch'


class Http:
    def __init__(self, api: BridgeAPI, project: str) -> None:
        self.base = api.url
        self.session = requests.Session()
        self.session.headers.update({'Client-ID': str(uuid.uuid4()),
                                     'X-Project-Id': project})

    def __call__(self, method: str, path: str, **kw) -> requests.Response:
        return self.session.request(method, self.base + path,
                                    timeout=TIMEOUT, **kw)


def test_a_topic_lifecycle_over_http_beside_zaqarclients_queues(
        noauth_api: BridgeAPI) -> None:
    project = 'topics-' + uuid.uuid4().hex[:8]
    http = Http(noauth_api, project)
    queues = zaqar_client.Client(noauth_api.url, version=2, conf={
        'auth_opts': {'backend': 'noauth',
                      'options': {'os_project_id': project}}})

    assert http('PUT', '/v2/topics/alerts', json={'team': 'ops'}) \
        .status_code == 201
    assert http('PUT', '/v2/topics/alerts').status_code == 204
    assert http('GET', '/v2/topics/missing').status_code == 404
    listed = http('GET', '/v2/topics').json()
    assert [t['name'] for t in listed['topics']] == ['alerts']

    patched = http('PATCH', '/v2/topics/alerts',
                   headers={'Content-Type': PATCH_TYPE},
                   data=json.dumps([{'op': 'replace', 'path': '/metadata/team',
                                     'value': 'sre'}]))
    assert patched.status_code == 200
    assert http('GET', '/v2/topics/alerts').json()['team'] == 'sre'

    sub = http('POST', '/v2/topics/alerts/subscriptions',
               json={'subscriber': 'https://hooks.invalid/alerts'})
    assert sub.status_code == 201, sub.text
    posted = http('POST', '/v2/topics/alerts/messages',
                  json={'messages': [{'body': {'level': 'high'}}]})
    assert posted.status_code == 201
    messages = http('GET', '/v2/topics/alerts/messages',
                    params={'echo': 'true'}).json()['messages']
    assert [m['body'] for m in messages] == [{'level': 'high'}]
    assert messages[0]['href'] == posted.json()['resources'][0]
    assert http('GET', '/v2/topics/alerts/stats').json()['messages'][
        'total'] == 1
    assert http('POST', '/v2/topics/alerts/claims', json={}) \
        .status_code == 404

    # The queue of the same name is another thing, as zaqarclient sees it.
    queue = queues.queue('alerts', force_create=True)
    queue.post([{'body': 'to the queue', 'ttl': 300}])
    assert [q.name for q in queues.queues()[0]] == ['alerts']
    assert [m.body for m in queue.messages(echo=True)] == ['to the queue']
    assert list(queue.subscriptions()) == []

    assert http('POST', '/v2/topics/alerts/purge').status_code == 204
    assert http('GET', '/v2/topics/alerts/subscriptions').json()[
        'subscriptions'] == []
    assert http('DELETE', '/v2/topics/alerts').status_code == 204
    assert http('GET', '/v2/topics').json()['topics'] == []
    assert [m.body for m in queue.messages(echo=True)] == ['to the queue']
