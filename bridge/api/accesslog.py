"""One access-log line per request, and the request's metrics.

:class:`AccessLog` is WSGI middleware placed just inside oslo.middleware's
``RequestId`` (so the request id is known) and outside everything else (so
it sees every answer: auth_token's 401s, CORS preflights, /healthcheck,
404s). For each request it:

* makes an oslo.context ``RequestContext`` carrying the request id current
  for the request's thread, so every log line written while serving it
  shows ``[req-... ]`` as in other OpenStack services;
* logs one line at INFO on ``bridge.api.access`` once the body is sent::

    req-<uuid> <project> <METHOD> <route template> <path> <status> <bytes>B <ms>ms

  ``project`` is the caller's validated project (``-`` when none was
  established); the route template is the API route that served the
  request (``-`` when none matched). Control characters, spaces, quotes
  and backslashes in client-supplied text are escaped (``\\xNN``), so one
  request is always exactly one line;
* counts the request and its duration in the API metrics
  (:mod:`bridge.metrics.families`), labelled by route template, method and
  status only, so clients cannot grow the number of series.

:class:`RouteFacts` is the falcon middleware that tells the access log
which route served a request and for which project.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, Iterable, Iterator

import falcon
from oslo_context import context
from oslo_log import log

from bridge.api.auth import WSGIApp

LOG = log.getLogger('bridge.api.access')

ROUTE_KEY = 'bridge.route'
PROJECT_KEY = 'bridge.project'
REQUEST_ID_KEY = 'openstack.request_id'
GLOBAL_REQUEST_ID_KEY = 'openstack.global_request_id'

#: Methods counted under their own name; others count as ``OTHER``.
METHODS = frozenset(('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE',
                     'OPTIONS'))

_UNSAFE = re.compile(r'[\x00-\x20\x7f-\xa0"\\\u2028\u2029]')


def escape(text: str) -> str:
    """``text`` with control characters, whitespace, quotes and
    backslashes escaped as ``\\xNN`` (``\\uNNNN`` beyond Latin-1)."""
    def one(match: re.Match[str]) -> str:
        code = ord(match.group())
        return '\\x%02x' % code if code < 0x100 else '\\u%04x' % code
    return _UNSAFE.sub(one, text)


class RouteFacts:
    """Falcon middleware: leave the route template and the validated
    project in the WSGI environment for :class:`AccessLog`. List it after
    the gate, whose checks set ``req.context.project``."""

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: Any, req_succeeded: bool) -> None:
        env = req.env
        if req.uri_template:
            env[ROUTE_KEY] = req.uri_template
        project = getattr(req.context, 'project', None)
        if project:
            env[PROJECT_KEY] = project


Recorder = Callable[[str, str, int, float], None]


class AccessLog:
    """The middleware described in the module docstring. ``record`` gets
    ``(route, method, status, seconds)`` of every request (metrics)."""

    def __init__(self, app: WSGIApp, record: Recorder | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._app = app
        self._record = record
        self._clock = clock

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = self._clock()
        ctx = context.RequestContext(
            request_id=environ.get(REQUEST_ID_KEY),
            global_request_id=environ.get(GLOBAL_REQUEST_ID_KEY),
            overwrite=True)
        status: list[str] = []

        def capture(status_line: str, headers: list[tuple[str, str]],
                    exc_info: Any = None) -> Any:
            status[:] = [status_line]
            return start_response(status_line, headers, exc_info)

        try:
            body = self._app(environ, capture)
        except BaseException:
            status[:] = ['500 Internal Server Error']
            self._finish(environ, ctx, status, 0, started)
            raise
        return _Body(body, lambda sent: self._finish(environ, ctx, status,
                                                     sent, started))

    def _finish(self, environ: dict[str, Any], ctx: context.RequestContext,
                status: list[str], sent: int, started: float) -> None:
        seconds = self._clock() - started
        code = int(status[0].split(' ', 1)[0]) if status else 0
        method = environ.get('REQUEST_METHOD', '')
        route = environ.get(ROUTE_KEY) or '-'
        path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
        query = environ.get('QUERY_STRING')
        if query:
            path += '?' + query
        LOG.info('%s %s %s %s %s %d %dB %.1fms', ctx.request_id or '-',
                 escape(environ.get(PROJECT_KEY) or '-'),
                 escape(method) or '-', route, escape(path), code, sent,
                 seconds * 1000.0)
        if context.get_current() is ctx:
            # oslo.context has no public "clear": drop ours so later log
            # lines of this thread do not carry a finished request's id.
            vars(context._request_store).pop('context', None)
        if self._record is not None:
            self._record(route if route != '-' else 'unmatched',
                         method if method in METHODS else 'OTHER', code,
                         seconds)


class _Body:
    """The response body, counted as it is sent; ``done(bytes sent)`` runs
    once, when the server closes it (or it is exhausted)."""

    def __init__(self, body: Iterable[bytes],
                 done: Callable[[int], None]) -> None:
        self._body = body
        self._done: Callable[[int], None] | None = done
        self._sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self._body, 'close', None)
            if close is not None:
                close()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done(self._sent)
