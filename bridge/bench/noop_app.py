"""The ceiling for ``bridge-bench api``: a falcon app that answers the
benchmark's Zaqar v2 calls and stores nothing.

It does what any Python WSGI handler of these calls must do (route, check
the ``Client-ID`` and ``X-Project-Id`` headers, parse the JSON body, build
and serialize a Zaqar-shaped JSON answer) and nothing a storage layer does.
Every claim answers with ``limit`` freshly invented messages, so a run
against it has the full post/claim/delete mix. Served by granian's native
WSGI interface (the fastest server measured here for a Python WSGI app) at
its best worker count, its request rate is the best a Python WSGI service
can reach on the machine.

Run it with ``granian --interface wsgi bridge.bench.noop_app:application``.
"""

from __future__ import annotations

import json
import uuid

import falcon

_JSON = 'application/json'


def _require_headers(req: falcon.Request) -> None:
    client_id = req.get_header('Client-ID')
    if not client_id:
        raise falcon.HTTPBadRequest(title='Invalid request',
                                    description='Client-ID header is required')
    try:
        uuid.UUID(client_id)
    except ValueError:
        raise falcon.HTTPBadRequest(title='Invalid request',
                                    description='Client-ID must be a UUID')
    if not req.get_header('X-Project-Id'):
        raise falcon.HTTPBadRequest(title='Invalid request',
                                    description='X-Project-Id is required')


def _read_json(req: falcon.Request) -> object:
    raw = req.bounded_stream.read()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise falcon.HTTPBadRequest(title='Malformed JSON',
                                    description='Body is not valid JSON')


class _Queue:
    def on_put(self, req: falcon.Request, resp: falcon.Response,
               queue: str) -> None:
        _require_headers(req)
        _read_json(req)
        resp.status = falcon.HTTP_201

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  queue: str) -> None:
        _require_headers(req)
        resp.status = falcon.HTTP_204


class _Messages:
    def on_post(self, req: falcon.Request, resp: falcon.Response,
                queue: str) -> None:
        _require_headers(req)
        doc = _read_json(req)
        messages = doc.get('messages') if isinstance(doc, dict) else None
        if not isinstance(messages, list) or not messages:
            raise falcon.HTTPBadRequest(title='Invalid request',
                                        description='messages is required')
        base = '/v2/queues/%s/messages/' % queue
        resp.status = falcon.HTTP_201
        resp.content_type = _JSON
        resp.text = json.dumps(
            {'resources': [base + uuid.uuid4().hex[:24] for _ in messages]})


class _Message:
    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  queue: str, message_id: str) -> None:
        _require_headers(req)
        resp.status = falcon.HTTP_204


class _Claims:
    def on_post(self, req: falcon.Request, resp: falcon.Response,
                queue: str) -> None:
        _require_headers(req)
        doc = _read_json(req)
        ttl = doc.get('ttl', 300) if isinstance(doc, dict) else 300
        limit = req.get_param_as_int('limit', min_value=1, max_value=20,
                                     default=10)
        claim_id = uuid.uuid4().hex[:24]
        base = '/v2/queues/%s/messages/' % queue
        messages = []
        for n in range(limit):
            message_id = uuid.uuid4().hex[:24]
            messages.append({
                'id': message_id,
                'href': '%s%s?claim_id=%s' % (base, message_id, claim_id),
                'ttl': 300, 'age': 1,
                'body': {'event_type': 'bench.post', 'seq': n},
            })
        resp.status = falcon.HTTP_201
        resp.content_type = _JSON
        resp.location = '/v2/queues/%s/claims/%s' % (queue, claim_id)
        resp.text = json.dumps({'messages': messages, 'ttl': ttl})


class _Ping:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.status = falcon.HTTP_204

    on_head = on_get


def create_app() -> falcon.App:
    """The no-op app: routes for exactly the calls the benchmark makes."""
    app = falcon.App()
    app.add_route('/v2/ping', _Ping())
    app.add_route('/v2/queues/{queue}', _Queue())
    app.add_route('/v2/queues/{queue}/messages', _Messages())
    app.add_route('/v2/queues/{queue}/messages/{message_id}', _Message())
    app.add_route('/v2/queues/{queue}/claims', _Claims())
    return app


application = create_app()
