"""Message resources: post, list, get by id(s), delete by id(s), pop."""

from __future__ import annotations

from typing import Any

import falcon

from bridge import quotas as bridge_quotas
from bridge.api import errors
from bridge.api import kinds
from bridge.api import validation
from bridge.api import wire
from bridge.storage.base import Storage
from bridge.storage.models import NewMessage


class Collection(kinds.Served):
    """``/v2/queues/{queue_name}/messages``, and
    ``/v2/topics/{topic_name}/messages`` (post and list only)."""

    rules = {'POST': 'messages:create', 'GET': 'messages:get_all',
             'DELETE': 'messages:delete_all'}

    def __init__(self, storage: Storage, limits: validation.Limits,
                 kind: kinds.Kind = kinds.QUEUE, *,
                 quotas: bridge_quotas.Quotas) -> None:
        self._storage = storage
        self._limits = limits
        self._quotas = quotas
        self.serve(kind)

    def on_post(self, req: falcon.Request, resp: falcon.Response,
                queue_name: str) -> None:
        ctx = req.context
        limits = self._limits
        if req.content_length:
            # A queue's metadata can only lower this limit.
            validation.post_size(req.content_length, {}, limits)
        raw = wire.read_body(req, limits, required=True) or b''
        parsed: list[Any] = []

        def prepare(metadata: dict[str, Any]) -> list[NewMessage]:
            validation.post_size(len(raw), metadata, limits)
            if not parsed:
                parsed.append(validation.parse_json(raw,
                                                    limits.max_json_depth))
            return validation.new_messages(parsed[0], metadata, limits)

        quota = self._quotas.of(ctx.project)
        ids = self._storage.post_prepared(
            ctx.owner, queue_name, prepare, ctx.client_id,
            max_messages=quota.messages, max_queues=quota.queues)
        resp.location = req.path + '?ids=' + ','.join(ids)
        wire.send(resp, {'resources': [req.path + '/' + i for i in ids]},
                  falcon.HTTP_201)

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               queue_name: str) -> None:
        ids = req.get_param_as_list('ids')
        if ids is None:
            wire.send(resp, self._page(req, queue_name))
            return
        ids = validation.id_list(ids, 'ids', self._limits.max_messages_per_page)
        found = self._storage.get_messages(req.context.owner, queue_name,
                                           ids)
        if not found:
            raise errors.NotFound('No messages with the given ids were found '
                                  'in the queue.')
        wire.send(resp, {'messages': wire.messages(self.kind.path(queue_name), found)})

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  queue_name: str) -> None:
        ids = req.get_param_as_list('ids')
        pop = req.get_param('pop')
        if (ids is None) == (pop is None):
            raise errors.BadRequest('Give either the "ids" or the "pop" '
                                    'parameter (not both).')
        project = req.context.owner
        if ids is not None:
            ids = validation.id_list(ids, 'ids',
                                     self._limits.max_messages_per_page)
            claim_ids = [validation.claim_id(c)
                         for v in req.get_param_as_list('claim_ids') or ()
                         for c in v.split(',') if c]
            self._storage.delete_messages(project, queue_name, ids, claim_ids)
            resp.status = falcon.HTTP_204
            return
        count = validation.int_param(
            pop, 'pop', 1, 1, self._limits.max_messages_per_claim_or_pop)
        popped = self._storage.pop_messages(project, queue_name, count)
        wire.send(resp, {'messages': wire.popped(popped)})

    def _page(self, req: falcon.Request, queue_name: str) -> dict[str, Any]:
        limits = self._limits
        params: dict[str, Any] = {'limit': validation.int_param(
            req.get_param('limit'), 'limit', limits.default_messages_per_page,
            1, limits.max_messages_per_page)}
        for flag in ('echo', 'include_claimed', 'include_delayed'):
            if validation.bool_param(req.get_param(flag), flag):
                params[flag] = True
        page = self._storage.list_messages(
            req.context.owner, queue_name, marker=req.get_param('marker'),
            client_id=req.context.client_id, **params)
        links = []
        if page.messages and page.next_marker:
            links = wire.next_link(req.path,
                                   dict(params, marker=page.next_marker))
        return {'messages': wire.messages(self.kind.path(queue_name), page.messages),
                'links': links}


class Item(kinds.Served):
    """``/v2/queues/{queue_name}/messages/{message_id}``, and the same
    under ``/v2/topics`` (show only)."""

    rules = {'GET': 'messages:get', 'DELETE': 'messages:delete'}

    def __init__(self, storage: Storage,
                 kind: kinds.Kind = kinds.QUEUE) -> None:
        self._storage = storage
        self.serve(kind)

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               queue_name: str, message_id: str) -> None:
        found = self._storage.get_messages(req.context.owner, queue_name,
                                           [message_id])
        if not found:
            raise errors.NotFound('The message does not exist or has '
                                  'expired.')
        wire.send(resp, wire.messages(self.kind.path(queue_name), found)[0])

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  queue_name: str, message_id: str) -> None:
        claim_id = req.get_param('claim_id') or None
        self._storage.delete_message(
            req.context.owner, queue_name, message_id,
            claim_id=claim_id and validation.claim_id(claim_id))
        resp.status = falcon.HTTP_204
