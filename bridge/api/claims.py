"""Claim resources: claim messages, show, renew and release a claim."""

from __future__ import annotations

import time

import falcon

from bridge.api import validation
from bridge.api import wire
from bridge.storage.base import Storage


class Collection:
    """``/v2/queues/{queue_name}/claims``: 201 with the claimed messages
    and the claim's Location, or 204 when nothing is claimable."""

    rules = {'POST': 'claims:create'}

    def __init__(self, storage: Storage, limits: validation.Limits) -> None:
        self._storage = storage
        self._limits = limits

    def on_post(self, req: falcon.Request, resp: falcon.Response,
                queue_name: str) -> None:
        limits = self._limits
        limit = validation.int_param(
            req.get_param('limit'), 'limit', limits.default_messages_per_claim,
            1, limits.max_messages_per_claim_or_pop)
        ttl, grace = validation.claim_params(wire.read_json(req, limits),
                                             limits)
        claim = self._storage.create_claim(req.context.owner, queue_name,
                                           ttl=ttl, grace=grace, limit=limit)
        if claim is None or not claim.messages:
            resp.status = falcon.HTTP_204
            return
        resp.location = req.path + '/' + claim.id
        path = wire.queue_path(queue_name)
        wire.send(resp, {'messages': wire.messages(path, claim.messages,
                                                   claim.id)},
                  falcon.HTTP_201)


class Item:
    """``/v2/queues/{queue_name}/claims/{claim_id}``"""

    rules = {'GET': 'claims:get', 'PATCH': 'claims:update',
             'DELETE': 'claims:delete'}

    def __init__(self, storage: Storage, limits: validation.Limits) -> None:
        self._storage = storage
        self._limits = limits

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               queue_name: str, claim_id: str) -> None:
        claim = self._storage.get_claim(req.context.owner, queue_name,
                                        claim_id)
        wire.send(resp, {
            'age': claim.age(time.time()),
            'ttl': claim.ttl,
            'grace': claim.grace,
            'href': req.path,
            'messages': wire.messages(wire.queue_path(queue_name),
                                      claim.messages, claim.id)})

    def on_patch(self, req: falcon.Request, resp: falcon.Response,
                 queue_name: str, claim_id: str) -> None:
        ttl, grace = validation.claim_params(
            wire.read_json(req, self._limits, required=True), self._limits)
        self._storage.update_claim(req.context.owner, queue_name, claim_id,
                                   ttl=ttl, grace=grace)
        resp.status = falcon.HTTP_204

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  queue_name: str, claim_id: str) -> None:
        self._storage.delete_claim(req.context.owner, queue_name, claim_id)
        resp.status = falcon.HTTP_204
