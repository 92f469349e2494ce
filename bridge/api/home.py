"""Service-level resources: version list, home document, ping, health."""

from __future__ import annotations

import json

import falcon

from bridge.api import wire
from bridge.storage.base import Storage

VERSION = {
    'id': '2',
    'status': 'CURRENT',
    'updated': '2014-09-24T04:06:47Z',
    'media-types': [{'base': 'application/json',
                     'type': 'application/vnd.openstack.messaging-v2+json'}],
    'links': [{'href': '/v2/', 'rel': 'self'}],
}

_Q = '/v2/queues/{queue_name}'
# relation -> (href template, allowed methods)
_RESOURCES = {
    'queues': ('/v2/queues{?marker,limit,detailed,name,with_count}',
               ['GET']),
    'queue': (_Q, ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE']),
    'queue_stats': (_Q + '/stats', ['GET']),
    'queue_purge': (_Q + '/purge', ['POST']),
    'messages': (_Q + '/messages{?marker,limit,echo,include_claimed,'
                      'include_delayed,wait}', ['GET']),
    'post_messages': (_Q + '/messages', ['POST']),
    'messages_by_ids': (_Q + '/messages{?ids}', ['GET', 'DELETE']),
    'messages_pop': (_Q + '/messages{?pop}', ['DELETE']),
    'message': (_Q + '/messages/{message_id}{?claim_id}', ['GET', 'DELETE']),
    'post_claim': (_Q + '/claims{?limit,wait}', ['POST']),
    'claim': (_Q + '/claims/{claim_id}', ['GET', 'PATCH', 'DELETE']),
    'ping': ('/v2/ping', ['GET', 'HEAD']),
    'health': ('/v2/health', ['GET']),
}


#: Relations whose requests take ``wait`` (long polling).
_LONG_POLL = ('messages', 'post_claim')
_LONG_POLL_HINT = (
    'Long polling: wait=N (0 to %d seconds) holds the request until a '
    'message arrives in the queue, or answers the empty answer after N '
    'seconds.')


def _home_document(max_wait: int) -> bytes:
    resources = {}
    for rel, (template, methods) in _RESOURCES.items():
        key = 'href-template' if '{' in template else 'href'
        hints: dict[str, object] = {
            'allow': methods, 'formats': {'application/json': {}}}
        if rel in _LONG_POLL:
            hints['long-polling'] = _LONG_POLL_HINT % max_wait
        resources['rel/' + rel] = {key: template, 'hints': hints}
    return json.dumps({'resources': resources}, indent=2).encode()


class Versions:
    """``GET /``: 300 Multiple Choices with the versions served."""

    public = True
    rules: dict[str, str] = {}
    _body = json.dumps({'versions': [VERSION]})

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.status = falcon.HTTP_300
        resp.text = self._body


class HomeDocument:
    """``GET /v2``: a JSON-home document of the v2 resources. Like every
    /v2 resource it needs Client-ID and an identity (as in Zaqar); only
    ``/`` is public."""

    rules: dict[str, str] = {}

    def __init__(self, max_wait: int) -> None:
        self._body = _home_document(max_wait)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = self._body
        resp.content_type = 'application/json-home'
        resp.cache_control = ['max-age=86400']


class Ping:
    """``GET /v2/ping``: 204 when the storage answers (503 otherwise);
    ``HEAD``: 204 as long as the API itself answers."""

    rules = {'GET': 'ping:get', 'HEAD': 'ping:head'}

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._storage.health()
        resp.status = falcon.HTTP_204

    def on_head(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.status = falcon.HTTP_204


class Health:
    """``GET /v2/health`` (admin): a storage round trip that writes
    nothing; 503 if the storage does not answer."""

    rules = {'GET': 'health:get'}

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._storage.health()
        wire.send(resp, {'storage_reachable': True})
