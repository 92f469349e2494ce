"""The pools admin API (``/v2/pools``), with Zaqar v2's documents and
statuses: list and show (``detailed`` adds ``options``), PUT registers
(201; 409 if the name is taken; 400 if the URL cannot be reached), PATCH
changes fields (200 with the pool), DELETE (204; 403 while a flavor uses
the pool or queues live on it). The work is done by the
:class:`~bridge.storage.pooling.Registry`."""

from __future__ import annotations

from typing import Any

import falcon

from bridge.api import errors
from bridge.api import pool_validation
from bridge.api import validation
from bridge.api import wire
from bridge.storage import errors as storage_errors
from bridge.storage.catalog import Pool
from bridge.storage.pooling import Registry


def document(pool: Pool, href: str, detailed: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {'name': pool.name, 'uri': pool.uri,
                           'weight': pool.weight, 'flavor': pool.flavor,
                           'href': href}
    if detailed:
        doc['options'] = pool.options
    return doc


class Collection:
    """``/v2/pools``"""

    rules = {'GET': 'pools:get_all'}

    def __init__(self, registry: Registry, limits: validation.Limits,
                 max_per_page: int) -> None:
        self._registry = registry
        self._limits = limits
        self._max = max_per_page

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit, detailed = pool_validation.listing(
            req.get_param('limit'), req.get_param('detailed'), self._max)
        pools = self._registry.list_pools(req.get_param('marker'),
                                          limit)
        body: dict[str, Any] = {
            'pools': [document(p, req.path + '/' + p.name,
                               detailed) for p in pools],
            'links': []}
        if pools:
            body['links'] = wire.next_link(
                req.path, dict(limit=limit, detailed=detailed,
                                marker=pools[-1].name))
        wire.send(resp, body)


class Item:
    """``/v2/pools/{pool_name}``"""

    rules = {'GET': 'pools:get', 'PUT': 'pools:create',
             'PATCH': 'pools:update', 'DELETE': 'pools:delete'}

    def __init__(self, registry: Registry, limits: validation.Limits) -> None:
        self._registry = registry
        self._limits = limits

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               pool_name: str) -> None:
        detailed = validation.bool_param(req.get_param('detailed'),
                                         'detailed')
        wire.send(resp, document(self._get(pool_name), req.path, detailed))

    def on_put(self, req: falcon.Request, resp: falcon.Response,
               pool_name: str) -> None:
        pool_validation.name(pool_name, 'Pool')
        fields = pool_validation.new_pool(
            wire.read_json(req, self._limits, required=True))
        try:
            created = self._registry.create_pool(Pool(name=pool_name,
                                                      **fields))
        except storage_errors.Invalid as exc:
            raise errors.BadRequest(str(exc))
        if not created:
            raise errors.Conflict('Pool %s already exists.' % pool_name)
        resp.status = falcon.HTTP_201
        resp.location = req.path

    def on_patch(self, req: falcon.Request, resp: falcon.Response,
                 pool_name: str) -> None:
        changes = pool_validation.pool_changes(
            wire.read_json(req, self._limits, required=True))
        self._get(pool_name)
        try:
            pool = self._registry.update_pool(pool_name, changes)
        except storage_errors.Invalid as exc:
            raise errors.BadRequest(str(exc))
        wire.send(resp, document(pool, req.path, False))

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  pool_name: str) -> None:
        try:
            self._registry.delete_pool(pool_name)
        except storage_errors.Forbidden as exc:
            raise errors.Forbidden(str(exc).capitalize() + '.')
        resp.status = falcon.HTTP_204

    def _get(self, pool_name: str) -> Pool:
        try:
            return self._registry.get_pool(pool_name)
        except storage_errors.PoolNotFound:
            raise errors.NotFound('Pool %s does not exist.' % pool_name)
