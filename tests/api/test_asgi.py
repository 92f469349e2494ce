"""The ASGI adapter around the WSGI application, driven as granian drives
it: a scope, a receive that yields the body in pieces, a send that records
what is sent."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bridge.api import asgi

SCOPE = {'type': 'http', 'method': 'POST', 'path': '/v2/queues/q1/messages',
         'query_string': b'echo=true', 'root_path': '', 'http_version': '1.1',
         'scheme': 'http', 'server': ('127.0.0.1', 8888),
         'client': ('127.0.0.1', 40000)}


def echo_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers with what it saw of the request."""
    seen = {key: value for key, value in environ.items()
            if isinstance(value, str)}
    seen['body'] = environ['wsgi.input'].read().decode()
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [json.dumps(seen).encode()]


def call(app: asgi.WSGIBridge, headers: list[tuple[bytes, bytes]],
         pieces: list[bytes]) -> tuple[int, dict[bytes, bytes], bytes]:
    messages = [{'type': 'http.request', 'body': piece,
                 'more_body': n < len(pieces) - 1}
                for n, piece in enumerate(pieces)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(dict(SCOPE, headers=headers), receive, send))
    start, body = sent
    return start['status'], dict(start['headers']), body['body']


@pytest.mark.parametrize('threads', [1, 3])
def test_body_in_pieces_reaches_the_app_whole_with_its_length(
        threads: int) -> None:
    app = asgi.WSGIBridge(echo_app, threads, 1024)
    status, _, body = call(app, [(b'transfer-encoding', b'chunked'),
                                 (b'content-type', b'application/json')],
                           [b'{"a":', b' 1', b'}'])
    seen = json.loads(body)
    assert status == 200
    assert seen['body'] == '{"a": 1}'
    assert seen['CONTENT_LENGTH'] == '8'
    assert seen['CONTENT_TYPE'] == 'application/json'
    assert 'HTTP_TRANSFER_ENCODING' not in seen
    assert (seen['PATH_INFO'], seen['QUERY_STRING']) == (
        '/v2/queues/q1/messages', 'echo=true')
    app.shutdown()


def test_announced_body_over_the_cap_is_413_with_connection_close() -> None:
    app = asgi.WSGIBridge(echo_app, 1, 10)
    status, headers, body = call(app, [(b'content-length', b'11')],
                                 [b'01234567890'])
    assert status == 413
    assert headers[b'connection'] == b'close'
    assert json.loads(body) == {
        'title': 'Request body too large',
        'description': 'Request bodies are limited to 10 bytes.'}


def test_chunked_body_growing_over_the_cap_is_413_with_connection_close(
        ) -> None:
    app = asgi.WSGIBridge(echo_app, 1, 10)
    status, headers, _ = call(app, [], [b'012345', b'678901', b'2'])
    assert (status, headers[b'connection']) == (413, b'close')


def test_header_names_with_underscores_are_dropped() -> None:
    """X_Project_Id would read as X-Project-Id in the environment."""
    app = asgi.WSGIBridge(echo_app, 1, 1024)
    _, _, body = call(app, [(b'x_project_id', b'forged'),
                            (b'x-roles', b'a'), (b'x-roles', b'b')], [b''])
    seen = json.loads(body)
    assert 'HTTP_X_PROJECT_ID' not in seen
    assert seen['HTTP_X_ROLES'] == 'a,b'


def test_a_failing_app_is_a_500_without_details() -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError('secret detail')

    status, _, body = call(asgi.WSGIBridge(broken, 1, 1024), [], [b''])
    assert status == 500
    assert b'secret' not in body and json.loads(body)['title']


def test_a_client_gone_before_its_body_is_complete_never_reaches_the_app(
        ) -> None:
    called = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        called.append(environ)
        start_response('201 Created', [])
        return [b'']

    messages = [{'type': 'http.request', 'body': b'{"messages": [',
                 'more_body': True}, {'type': 'http.disconnect'}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asgi.WSGIBridge(app, 1, 1024)(
        dict(SCOPE, headers=[]), receive, send))
    assert called == [] and sent == []
