"""The checks every request passes before its responder runs.

First of all, the path and the query string (both decoded) must hold no
control character (400): NUL and newlines reach no storage and no log.
Then, in Zaqar's order: a urlencoded body is refused (400), the client must accept
JSON (406), ``Client-ID`` must be a UUID (400), the caller's identity must
be known (noauth: ``X-Project-Id``, 400; keystone: the token, 401), the
queue name must be valid (400), and the policy rule for the method must
allow the caller (403).

A request presenting ``URL-Signature`` is a pre-signed one
(:mod:`bridge.signed_urls`), in either auth mode: its project is the signed
``X-Project-ID`` once the signature, expiry, method and path check out, it
has no roles, and anything else is 404 as in Zaqar. No token is read for
it.

Resources declare what applies to them:

* ``public = True``: no Client-ID, identity or policy (only the version
  list at ``/``, as in Zaqar);
* ``rules``: HTTP method -> policy rule name;
* ``kind`` (:mod:`.kinds`): whether the route serves queues or topics
  (queues when absent). A topic route's ``{topic_name}`` reaches the
  responder as ``queue_name``, the one name the shared resources take.

The results land on ``req.context``: ``client_id``, ``project`` (the
caller's), ``owner`` (whose queues or topics storage calls name).
"""

from __future__ import annotations

from typing import Any

import falcon

from bridge import signed_urls
from bridge.api import auth
from bridge.api import errors
from bridge.api import kinds
from bridge.api import policy
from bridge.api import validation

_URLENCODED = 'application/x-www-form-urlencoded'


def _accepts_json(req: falcon.Request) -> bool:
    accept = req.get_header('Accept')
    if not accept or '*/*' in accept or 'application/json' in accept:
        return True
    return req.client_accepts('application/json')


class Gate:
    """Falcon middleware applying the checks above."""

    def __init__(self, identify: auth.Identifier,
                 authorizer: policy.Authorizer,
                 signing_key: str | None = None) -> None:
        self._identify = identify
        self._authorizer = authorizer
        self._signing_key = signing_key

    def _signed_identity(self, req: falcon.Request) -> auth.Identity:
        try:
            project = signed_urls.verify(self._signing_key, req.get_header,
                                         req.method, req.path)
        except signed_urls.Refused as exc:
            raise errors.NotFound(str(exc))
        return auth.Identity(project=validation.project_id(project), roles=[])

    def process_request(self, req: falcon.Request,
                        resp: falcon.Response) -> None:
        validation.no_control_characters(req.path, 'the path')
        for name, value in req.params.items():
            validation.no_control_characters(
                name, 'query parameter names')
            values = value if isinstance(value, list) else (value,)
            for item in values:
                validation.no_control_characters(
                    item, 'the query parameter "%s"' % name)

    def process_resource(self, req: falcon.Request, resp: falcon.Response,
                         resource: Any, params: dict[str, Any]) -> None:
        if resource is None:
            return
        if req.content_length and (req.content_type or '').lower() \
                .startswith(_URLENCODED):
            raise errors.BadRequest('Request bodies must be JSON, not '
                                    'application/x-www-form-urlencoded.')
        if not _accepts_json(req):
            raise errors.NotAcceptable('This endpoint only serves '
                                       'application/json.')
        if getattr(resource, 'public', False):
            return
        ctx = req.context
        ctx.client_id = validation.client_id(req.get_header('Client-ID'))
        if signed_urls.is_signed(req.env):
            identity = self._signed_identity(req)
        else:
            identity = self._identify(req)
        kind = getattr(resource, 'kind', kinds.QUEUE)
        if kind.name_field in params:
            params['queue_name'] = params.pop(kind.name_field)
        ctx.project = identity.project
        ctx.kind = kind
        ctx.owner = kind.owner(identity.project)
        queue = params.get('queue_name')
        if queue is not None:
            validation.queue_name(queue, kind.noun)
        rule = resource.rules.get(req.method)
        if rule is not None and not self._authorizer.allowed(
                rule, identity.project, identity.roles, identity.user_id):
            raise errors.Forbidden('Policy does not allow "%s".' % rule)
