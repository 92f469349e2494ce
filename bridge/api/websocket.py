"""Zaqar v2's WebSocket API (the protocol of python-zaqarclient's websocket
transport and os-collect-config), on the worker's event loop.

A client sends frames ``{"action", "headers", "body"}`` and gets, for each,
``{"request", "headers": {"status"}, "body"}``. Every action except
``authenticate`` and socket subscriptions runs as a request to the one REST
application (:mod:`bridge.api.ws_actions`), through the same
authentication pipeline, in the same thread pool as HTTP requests.

Identity
--------
* ``auth_strategy = keystone``: ``authenticate`` (header ``X-Auth-Token``)
  runs a request through keystonemiddleware; once it passes, that token is
  bound to the connection and sent with every later request, and the
  frames' own identity headers (``X-Auth-Token``, ``X-Project-ID``,
  ``X-Roles``...) are dropped: only ``Client-ID`` is kept. The project is
  always the token's, each request re-validated by keystonemiddleware (its
  cache). When the token expires the socket is closed (code 4003). Frames
  before ``authenticate`` get 403.
* ``noauth``: ``authenticate`` succeeds; each frame names its project in
  ``X-Project-ID``, as REST requests do.

Socket subscriptions
--------------------
``subscription_create`` without a ``subscriber`` subscribes this socket:
each message posted to the queue afterwards is pushed to it, in posting
order, as ``{"body", "ttl", "queue_name", "Message_Type": "Notification",
"id"}`` (Zaqar's notification), until ``ttl`` seconds pass or the socket
closes. The subscription lists the queue from a marker, and lists again on
each wake-up of the queue (:mod:`bridge.wakeups`): delivery is at least
once while the socket lives.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import uuid
from typing import Any, Awaitable, Callable

from oslo_log import log

from bridge.api import ws_actions
from bridge.wakeups.hub import Hub

LOG = log.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
#: Runs a REST request: (method, path, query, headers, body) ->
#: (status, headers, parsed JSON body or None, environ after the request)
Dispatch = Callable[[str, str, str, dict[str, str], bytes],
                    Awaitable[tuple[int, dict[str, str], Any, dict[str, Any]]]]

#: Frame headers passed on in noauth mode; keystone mode passes Client-ID
#: only, and the bound token.
NOAUTH_HEADERS = ('Client-ID', 'X-Project-ID')
AUTH_EXPIRED = 4003
#: Messages fetched per listing when pushing.
PUSH_PAGE = 20
#: Longest socket subscription, in seconds.
MAX_SUBSCRIPTION_TTL = 12 * 3600


class Connection:
    """One WebSocket client."""

    def __init__(self, send: Send, dispatch: Dispatch, hub: Hub,
                 keystone: bool) -> None:
        self._send_raw = send
        self._dispatch = dispatch
        self._hub = hub
        self._keystone = keystone
        self._token: str | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._subscriptions: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    async def serve(self, receive: Receive) -> None:
        try:
            while True:
                event = await receive()
                if event['type'] == 'websocket.disconnect':
                    return
                if event['type'] != 'websocket.receive':
                    continue
                data = event.get('text')
                if data is None:
                    data = (event.get('bytes') or b'').decode('utf-8',
                                                              'replace')
                await self._frame(data)
        finally:
            self._closed = True
            for task in self._subscriptions.values():
                task.cancel()
            if self._expiry is not None:
                self._expiry.cancel()

    async def _send(self, frame: dict[str, Any]) -> None:
        if not self._closed:
            await self._send_raw({'type': 'websocket.send',
                                  'text': json.dumps(frame)})

    async def _answer(self, request: dict[str, Any], status: int,
                      body: Any) -> None:
        headers = {k: v for k, v in (request.get('headers') or {}).items()
                   if k.lower() != 'x-auth-token'}
        await self._send({'request': {'action': request.get('action'),
                                      'headers': headers,
                                      'body': request.get('body'),
                                      'api': 'v2'},
                          'headers': {'status': status}, 'body': body})

    async def _frame(self, data: str) -> None:
        try:
            request = json.loads(data)
        except ValueError as exc:
            await self._answer({}, 400, {'error': "Can't decode text (JSON) "
                                         'request: %s' % exc})
            return
        if not isinstance(request, dict):
            await self._answer({}, 400, {
                'error': 'Unexpected body type. Expected dict or dict like.'})
            return
        action = request.get('action')
        headers = request.get('headers') or {}
        body = request.get('body') or {}
        if not isinstance(headers, dict) or not isinstance(body, dict):
            await self._answer(request, 400, {
                'error': '"headers" and "body" must be objects.'})
            return
        if action == 'authenticate':
            await self._authenticate(request, headers)
            return
        if self._keystone and self._token is None:
            await self._answer(request, 403, {'error': 'Not authentified.'})
            return
        if action == 'subscription_create' and not body.get('subscriber'):
            await self._subscribe(request, headers, body)
            return
        if (action == 'subscription_delete'
                and body.get('subscription_id') in self._subscriptions):
            self._subscriptions.pop(body['subscription_id']).cancel()
            await self._answer(request, 204, {})
            return
        spec = ws_actions.ACTIONS.get(action)  # type: ignore[arg-type]
        if spec is None:
            await self._answer(request, 400, {
                'error': 'Unknown action %r.' % (action,)})
            return
        try:
            method, path, query, raw = ws_actions.to_request(spec, body)
        except ws_actions.BadFrame as exc:
            await self._answer(request, 400, {'error': str(exc)})
            return
        status, resp_headers, answer, _ = await self._dispatch(
            method, path, query, self._identity(headers), raw)
        await self._answer(request, status, ws_actions.to_body(
            str(action), status, answer, resp_headers.get('location')))

    def _identity(self, headers: dict[str, Any]) -> dict[str, str]:
        """The headers a frame's request carries: only allowed ones."""
        allowed = ('Client-ID',) if self._keystone else NOAUTH_HEADERS
        lowered = {str(k).lower(): v for k, v in headers.items()}
        out = {name: str(lowered[name.lower()]) for name in allowed
               if isinstance(lowered.get(name.lower()), (str, int))}
        if self._keystone and self._token is not None:
            out['X-Auth-Token'] = self._token
        return out

    # -- authenticate ------------------------------------------------------

    async def _authenticate(self, request: dict[str, Any],
                            headers: dict[str, Any]) -> None:
        if not self._keystone:
            await self._answer(request, 200, {'message': 'Authentified.'})
            return
        token = headers.get('X-Auth-Token')
        if not isinstance(token, str) or not token:
            await self._answer(request, 401,
                               {'error': 'Authentication failed.'})
            return
        probe = {'Client-ID': str(uuid.uuid4()), 'X-Auth-Token': token}
        status, _, _, environ = await self._dispatch(
            'GET', '/v2/ping', '', probe, b'')
        if status >= 400:
            await self._answer(request, 401 if status in (401, 403)
                               else status,
                               {'error': 'Authentication failed.'})
            return
        self._token = token
        self._expire_at(environ.get('keystone.token_info'))
        await self._answer(request, 200, {'message': 'Authentified.'})

    def _expire_at(self, token_info: Any) -> None:
        try:
            expires = datetime.datetime.fromisoformat(
                token_info['token']['expires_at'].replace('Z', '+00:00'))
        except (TypeError, KeyError, ValueError, AttributeError):
            return
        delay = (expires - datetime.datetime.now(datetime.timezone.utc)
                 ).total_seconds()
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry = asyncio.get_running_loop().call_later(
            max(delay, 0), lambda: asyncio.ensure_future(self._expired()))

    async def _expired(self) -> None:
        self._token = None
        await self._send_raw({'type': 'websocket.close',
                              'code': AUTH_EXPIRED})

    # -- socket subscriptions ------------------------------------------------

    async def _subscribe(self, request: dict[str, Any],
                         headers: dict[str, Any], body: dict[str, Any]
                         ) -> None:
        ttl = body.get('ttl', 3600)
        if (not isinstance(ttl, int) or isinstance(ttl, bool)
                or not 1 <= ttl <= MAX_SUBSCRIPTION_TTL):
            await self._answer(request, 400, {
                'error': '"ttl" must be an integer from 1 to %d.'
                         % MAX_SUBSCRIPTION_TTL})
            return
        identity = self._identity(headers)
        identity.setdefault('Client-ID', str(uuid.uuid4()))
        try:
            listing = ws_actions.to_request(
                ws_actions.ACTIONS['message_list'], body)
        except ws_actions.BadFrame as exc:
            await self._answer(request, 400, {'error': str(exc)})
            return
        # The same request the pushes make: it checks the queue name, the
        # identity and the policy, and finds where the queue ends now.
        mark = self._hub.mark()
        status, answer, marker = await self._end_of(listing[1], identity)
        if status != 200:
            await self._answer(request, status, ws_actions.to_body(
                'message_list', status, answer, None))
            return
        subscription_id = str(uuid.uuid4())
        key = (await self._project(identity), body['queue_name'])
        self._subscriptions[subscription_id] = asyncio.ensure_future(
            self._push(subscription_id, listing[1], identity, key, marker,
                       mark, ttl, body['queue_name']))
        await self._answer(request, 201, {
            'subscription_id': subscription_id,
            'message': 'Subscription %s created.' % subscription_id})

    async def _project(self, identity: dict[str, str]) -> str:
        if not self._keystone:
            return identity.get('X-Project-ID', '')
        _, _, _, environ = await self._dispatch(
            'GET', '/v2/ping', '', identity, b'')
        return environ.get('HTTP_X_PROJECT_ID', '')

    async def _page(self, path: str, identity: dict[str, str],
                    marker: str | None) -> tuple[int, Any, str | None]:
        query = 'limit=%d&echo=true&include_claimed=true' % PUSH_PAGE
        if marker:
            query += '&marker=' + marker
        status, _, answer, _ = await self._dispatch('GET', path, query,
                                                    identity, b'')
        next_marker = marker
        if status == 200 and answer.get('links'):
            href = answer['links'][0].get('href', '')
            for part in href.split('?', 1)[-1].split('&'):
                if part.startswith('marker='):
                    next_marker = part[len('marker='):]
        return status, answer, next_marker

    async def _end_of(self, path: str, identity: dict[str, str]
                      ) -> tuple[int, Any, str | None]:
        """Page to the end of the queue: (status, last answer, marker)."""
        marker = None
        while True:
            status, answer, next_marker = await self._page(path, identity,
                                                           marker)
            if status != 200 or len(answer.get('messages', ())) < PUSH_PAGE:
                return status, answer, next_marker
            marker = next_marker

    async def _push(self, subscription_id: str, path: str,
                    identity: dict[str, str], key: tuple[str, str],
                    marker: str | None, mark: int, ttl: int,
                    queue_name: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ttl
        try:
            while loop.time() < deadline and not self._closed:
                await self._hub.wait(key, mark, deadline - loop.time())
                while True:  # everything since the marker
                    mark = self._hub.mark()
                    status, answer, marker = await self._page(
                        path, identity, marker)
                    if status != 200:
                        return
                    for message in answer.get('messages', ()):
                        await self._send({
                            'body': message.get('body'),
                            'ttl': message.get('ttl'),
                            'queue_name': queue_name,
                            'Message_Type': 'Notification',
                            'id': message.get('id')})
                    if len(answer.get('messages', ())) < PUSH_PAGE:
                        break
        except Exception:  # noqa: BLE001 - one subscription, not the socket
            LOG.exception('Socket subscription %s failed', subscription_id)
        finally:
            self._subscriptions.pop(subscription_id, None)
