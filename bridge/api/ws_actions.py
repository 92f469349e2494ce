"""Zaqar v2's WebSocket actions as requests to the one REST application.

Each action of python-zaqarclient's websocket transport (``queue_create``,
``message_post``, ``claim_create``...) becomes the REST request that does
the same thing (:func:`to_request`); its answer is reshaped into the body
Zaqar's WebSocket API gives (:func:`to_body`). No operation is implemented
here: validation, policy, storage and errors are the REST resources'.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from typing import Any, Callable

_Q = '/v2/queues/%(queue_name)s'


class BadFrame(ValueError):
    """The frame cannot become a request (400, with this description)."""


@dataclasses.dataclass(frozen=True)
class Action:
    method: str
    path: str  # %-template over the frame's body
    query: tuple[str, ...] = ()  # body fields sent as query parameters
    json_fields: tuple[str, ...] | None = None  # body fields as JSON body
    whole: str | None = None  # one body field sent as the JSON body


ACTIONS: dict[str, Action] = {
    'queue_list': Action('GET', '/v2/queues',
                         ('marker', 'limit', 'detailed', 'name')),
    'queue_create': Action('PUT', _Q, whole='metadata'),
    'queue_delete': Action('DELETE', _Q),
    'queue_get': Action('GET', _Q),
    'queue_get_stats': Action('GET', _Q + '/stats'),
    'message_list': Action('GET', _Q + '/messages',
                           ('marker', 'limit', 'echo', 'include_claimed',
                            'include_delayed')),
    'message_get': Action('GET', _Q + '/messages/%(message_id)s'),
    'message_get_many': Action('GET', _Q + '/messages', ('message_ids',)),
    'message_post': Action('POST', _Q + '/messages',
                           json_fields=('messages',)),
    'message_delete': Action('DELETE', _Q + '/messages/%(message_id)s',
                             ('claim_id',)),
    'message_delete_many': Action('DELETE', _Q + '/messages',
                                  ('message_ids', 'claim_ids', 'pop')),
    'claim_create': Action('POST', _Q + '/claims', ('limit',),
                           json_fields=('ttl', 'grace')),
    'claim_get': Action('GET', _Q + '/claims/%(claim_id)s'),
    'claim_update': Action('PATCH', _Q + '/claims/%(claim_id)s',
                           json_fields=('ttl', 'grace')),
    'claim_delete': Action('DELETE', _Q + '/claims/%(claim_id)s'),
    'subscription_create': Action('POST', _Q + '/subscriptions',
                                  json_fields=('subscriber', 'ttl',
                                               'options')),
    'subscription_get': Action('GET',
                               _Q + '/subscriptions/%(subscription_id)s'),
    'subscription_list': Action('GET', _Q + '/subscriptions',
                                ('marker', 'limit')),
    'subscription_delete': Action(
        'DELETE', _Q + '/subscriptions/%(subscription_id)s'),
}

#: Query parameter names that differ from the frame's body fields.
_QUERY_NAMES = {'message_ids': 'ids'}


def _segment(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadFrame('The body needs "%s" (a string).' % name)
    return urllib.parse.quote(value, safe='')


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, tuple)):
        return ','.join(str(v) for v in value)
    return str(value)


def to_request(action: Action, body: dict[str, Any]
               ) -> tuple[str, str, str, bytes]:
    """(method, path, query string, JSON body) of the REST request."""
    names = [part.split(')')[0] for part in action.path.split('%(')[1:]]
    path = action.path % {n: _segment(body, n) for n in names}
    query = urllib.parse.urlencode(
        [(_QUERY_NAMES.get(f, f), _query_value(body[f]))
         for f in action.query if body.get(f) is not None])
    data: Any = None
    if action.whole is not None:
        data = body.get(action.whole) or {}
    elif action.json_fields is not None:
        data = {f: body[f] for f in action.json_fields if f in body}
    raw = b'' if data is None else json.dumps(data).encode()
    return action.method, path, query, raw


def ws_message(message: dict[str, Any]) -> dict[str, Any]:
    """A REST message as Zaqar's WebSocket API shows it (claim id as a
    field, no href)."""
    claim_id = message.get('claim_id')
    if claim_id is None and 'href' in message:
        found = urllib.parse.parse_qs(
            urllib.parse.urlsplit(message['href']).query).get('claim_id')
        claim_id = found[0] if found else None
    return {'id': message.get('id'), 'claim_id': claim_id,
            'ttl': message.get('ttl'), 'age': message.get('age'),
            'body': message.get('body')}


def _messages(answer: Any) -> Any:
    if isinstance(answer, dict) and isinstance(answer.get('messages'), list):
        return dict(answer, messages=[ws_message(m)
                                      for m in answer['messages']])
    return answer


def _posted(answer: Any) -> Any:
    hrefs = answer.get('resources', []) if isinstance(answer, dict) else []
    return {'message_ids': [h.rsplit('/', 1)[-1] for h in hrefs]}


def _claimed(answer: Any, location: str | None) -> Any:
    claim_id = location.rsplit('/', 1)[-1] if location else None
    body = _messages(answer) if answer else {}
    return dict(body, claim_id=claim_id)


_RESHAPE: dict[str, Callable[[Any, str | None], Any]] = {
    'message_list': lambda a, _: _messages(a),
    'message_get': lambda a, _: ws_message(a) if a else a,
    'message_get_many': lambda a, _: _messages(a),
    'message_delete_many': lambda a, _: _messages(a),
    'message_post': lambda a, _: _posted(a),
    'claim_create': _claimed,
    'claim_get': lambda a, _: _messages(a),
}


def to_body(action: str, status: int, answer: Any,
            location: str | None) -> Any:
    """The frame body of the REST answer (status, parsed JSON or None,
    Location header)."""
    if status >= 400:
        if isinstance(answer, dict):
            return {'error': answer.get('description') or answer.get('title'),
                    'exception': answer.get('title')}
        return {'error': 'HTTP %d' % status}
    reshape = _RESHAPE.get(action)
    if reshape is None:
        return answer if answer is not None else {}
    return reshape(answer, location)
