"""Reading request bodies and writing Zaqar v2 JSON documents.

Bodies are capped by ``[limits] max_request_body`` before they are read
(413); JSON is parsed by :func:`bridge.api.validation.parse_json`. The
document builders here are the one definition of how a message, a link or a
stats entry looks on the wire.
"""

from __future__ import annotations

import json
import time
from typing import Any

import falcon

from bridge.api import errors
from bridge.api import validation
from bridge.storage.models import Message


def read_body(req: falcon.Request, limits: validation.Limits,
              required: bool = False) -> bytes | None:
    """The raw request body, or None when there is none. Refuses a body
    larger than ``max_request_body`` without reading it when its length is
    announced, and stops reading one byte past the cap when it is chunked."""
    cap = limits.max_request_body
    length = req.content_length
    if length is not None and length > cap:
        raise errors.PayloadTooLarge(
            'Request bodies are limited to %d bytes.' % cap)
    if length:
        data = req.bounded_stream.read(length)
    elif 'chunked' in (req.get_header('Transfer-Encoding') or '').lower():
        data = req.stream.read(cap + 1)
        if len(data) > cap:
            raise errors.PayloadTooLarge(
                'Request bodies are limited to %d bytes.' % cap)
    else:
        data = b''
    if not data:
        if required:
            raise errors.BadRequest('The request body cannot be empty.')
        return None
    return data


def read_json(req: falcon.Request, limits: validation.Limits,
              required: bool = False) -> Any:
    """The parsed JSON body, or None when there is no body."""
    raw = read_body(req, limits, required)
    if raw is None:
        return None
    return validation.parse_json(raw, limits.max_json_depth)


def send(resp: falcon.Response, document: Any,
         status: str = falcon.HTTP_200) -> None:
    resp.status = status
    resp.text = json.dumps(document)


def queue_path(queue: str) -> str:
    return '/v2/queues/' + queue


def message_href(path: str, message_id: str,
                 claim_id: str | None = None) -> str:
    """The href of a message of the queue (or topic) at ``path``."""
    href = path + '/messages/' + message_id
    if claim_id:
        href += '?claim_id=' + claim_id
    return href


def message(path: str, msg: Message, now: float,
            claim_id: str | None = None) -> dict[str, Any]:
    """A message as Zaqar v2 shows it: the claim id appears only in the
    href, and only while the message is claimed. ``path`` is its queue's
    (or topic's)."""
    return {'id': msg.id,
            'href': message_href(path, msg.id, claim_id or msg.claim_id),
            'ttl': msg.ttl,
            'age': msg.age(now),
            'body': msg.body}


def messages(path: str, msgs: list[Message],
             claim_id: str | None = None) -> list[dict[str, Any]]:
    now = time.time()
    return [message(path, m, now, claim_id) for m in msgs]


def popped(msgs: list[Message]) -> list[dict[str, Any]]:
    """Messages removed by a pop: no href (they no longer exist)."""
    now = time.time()
    return [{'id': m.id, 'body': m.body, 'ttl': m.ttl, 'age': m.age(now),
             'claim_count': m.claim_count, 'claim_id': None} for m in msgs]


def next_link(path: str, params: dict[str, Any]) -> list[dict[str, str]]:
    """The ``links`` list of a page: one ``next`` link."""
    return [{'rel': 'next', 'href': path + falcon.to_query_str(params)}]


def iso8601(timestamp: float) -> str:
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(timestamp))
