"""The WSGI application behind an ASGI server, without a thread per
connection.

:class:`WSGIBridge` is an ASGI application (what granian serves) around
bridge's WSGI application (the falcon app in its middleware pipeline). It
reads each request body on the event loop, so a client that trickles its
body costs a pending coroutine and not a thread, and only then runs the
WSGI application on the request, body in memory: on the event loop's own
thread when ``[api] threads`` is 1 (no hand-over between threads: measured
about 25 us less CPU per request), else in a pool of that many threads.
Headers never reach Python before they are complete: the server (granian)
parses HTTP in Rust.

A body announced larger than ``[limits] max_request_body``, or a chunked body
that grows past it, is refused with 413 before it is read, and the answer
says ``Connection: close``: the unread rest of the body cannot be mistaken
for the next request, and the client knows to open a new connection.

Lifespan events start and stop the thread pool; at shutdown the pool
finishes the requests it has already been handed.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Iterable

from oslo_log import log

LOG = log.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_JSON = (b'content-type', b'application/json')
_CLOSE = (b'connection', b'close')


def _error_body(title: str, description: str) -> bytes:
    return json.dumps({'title': title, 'description': description}).encode()


class BodyTooLarge(Exception):
    """The request body is over the cap."""


class ClientGone(Exception):
    """The client disconnected before its body was complete."""


class WSGIBridge:
    """ASGI application running ``app`` (WSGI) in ``threads`` threads once
    the whole body of a request is in memory."""

    def __init__(self, app: WSGIApp, threads: int, max_body: int) -> None:
        self._app = app
        self._threads = threads
        self._max_body = max_body
        self._pool: ThreadPoolExecutor | None = None
        self._too_large = _error_body(
            'Request body too large',
            'Request bodies are limited to %d bytes.' % max_body)

    def pool(self) -> ThreadPoolExecutor | None:
        """The thread pool (None with one thread: requests run inline)."""
        if self._pool is None and self._threads > 1:
            self._pool = ThreadPoolExecutor(
                self._threads, thread_name_prefix='bridge-api')
        return self._pool

    def shutdown(self) -> None:
        """Finish the requests handed to the pool, then stop its threads."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    async def __call__(self, scope: Scope, receive: Receive,
                       send: Send) -> None:
        kind = scope['type']
        if kind == 'http':
            await self._http(scope, receive, send)
        elif kind == 'lifespan':
            await self._lifespan(receive, send)
        # Other kinds (websocket) are not served: returning without
        # accepting makes the server refuse them.

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message['type'] == 'lifespan.startup':
                self.pool()
                await send({'type': 'lifespan.startup.complete'})
            elif message['type'] == 'lifespan.shutdown':
                await asyncio.get_running_loop().run_in_executor(
                    None, self.shutdown)
                await send({'type': 'lifespan.shutdown.complete'})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await self._read_body(scope, receive)
        except BodyTooLarge:
            await _respond(send, 413, [_JSON, _CLOSE], self._too_large)
            return
        except ClientGone:
            return  # a partial body is never handed to the application
        environ = wsgi_environ(scope, body, self._threads > 1)
        pool = self.pool()
        if pool is None:
            status, headers, chunks = self._run(environ)
        else:
            status, headers, chunks = await asyncio.get_running_loop(
            ).run_in_executor(pool, self._run, environ)
        await _respond(send, status, headers, chunks)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        length = _content_length(scope['headers'])
        if length is not None and length > self._max_body:
            raise BodyTooLarge()
        message = await receive()
        if message['type'] != 'http.request':
            raise ClientGone()
        body = message.get('body', b'')
        if not message.get('more_body', False):
            return body
        parts = [body]
        size = len(body)
        while message.get('more_body', False):
            message = await receive()
            if message['type'] != 'http.request':
                raise ClientGone()
            chunk = message.get('body', b'')
            size += len(chunk)
            if size > self._max_body:
                raise BodyTooLarge()
            parts.append(chunk)
        return b''.join(parts)

    def _run(self, environ: dict[str, Any]
             ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Call the WSGI application (in a pool thread)."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            started[:] = [status, headers]
            return _no_write

        try:
            result = self._app(environ, start_response)
            try:
                body = b''.join(result)
            finally:
                close = getattr(result, 'close', None)
                if close is not None:
                    close()
        except Exception:
            LOG.exception('The WSGI application failed')
            return 500, [_JSON], _error_body(
                'Internal server error',
                'The server could not complete the request.')
        status, headers = started
        return (int(status[:3]),
                [(name.lower().encode('latin-1'), value.encode('latin-1'))
                 for name, value in headers], body)


def _no_write(data: bytes) -> None:
    raise NotImplementedError('write() is not supported; return the body')


async def _respond(send: Send, status: int,
                   headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({'type': 'http.response.start', 'status': status,
                'headers': headers})
    await send({'type': 'http.response.body', 'body': body})


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b'content-length':
            try:
                return int(value)
            except ValueError:
                return None
    return None


def wsgi_environ(scope: Scope, body: bytes, multithread: bool
                 ) -> dict[str, Any]:
    """The PEP 3333 environment of an ASGI HTTP request whose whole body
    is ``body``. The body's length is ``CONTENT_LENGTH`` whatever the
    framing was (a chunked body is already read)."""
    server = scope.get('server') or ('127.0.0.1', 80)
    client = scope.get('client') or ('', 0)
    environ: dict[str, Any] = {
        'REQUEST_METHOD': scope['method'],
        'SCRIPT_NAME': scope.get('root_path', '').encode().decode('latin-1'),
        'PATH_INFO': scope['path'].encode().decode('latin-1'),
        'QUERY_STRING': scope['query_string'].decode('latin-1'),
        'SERVER_NAME': str(server[0]),
        'SERVER_PORT': str(server[1]),
        'SERVER_PROTOCOL': 'HTTP/' + scope.get('http_version', '1.1'),
        'REMOTE_ADDR': str(client[0]),
        'REMOTE_PORT': str(client[1]),
        'wsgi.version': (1, 0),
        'wsgi.url_scheme': scope.get('scheme', 'http'),
        'wsgi.input': io.BytesIO(body),
        'wsgi.errors': sys.stderr,
        'wsgi.multithread': multithread,
        'wsgi.multiprocess': True,
        'wsgi.run_once': False,
    }
    if body:
        environ['CONTENT_LENGTH'] = str(len(body))
    for raw_name, raw_value in scope['headers']:
        if b'_' in raw_name:
            # X_Project_Id would pass for X-Project-Id once in the
            # environment: drop it, as gunicorn and nginx do.
            continue
        name = raw_name.decode('latin-1').upper().replace('-', '_')
        value = raw_value.decode('latin-1')
        if name == 'CONTENT_TYPE':
            environ['CONTENT_TYPE'] = value
            continue
        if name in ('CONTENT_LENGTH', 'TRANSFER_ENCODING'):
            continue
        key = 'HTTP_' + name
        if key in environ:
            value = environ[key] + ',' + value
        environ[key] = value
    return environ
