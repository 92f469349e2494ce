"""The flavors admin API (``/v2/flavors``), with Zaqar v2's documents and
statuses. A flavor is a named set of pools (``pool_list``); a tenant puts
a queue on it with the queue metadata ``_flavor``. PUT creates or
replaces (201; 400 if a pool is not registered), PATCH replaces the pool
list (200), DELETE (204) leaves the pools without a flavor."""

from __future__ import annotations

from typing import Any

import falcon

from bridge.api import errors
from bridge.api import pool_validation
from bridge.api import validation
from bridge.api import wire
from bridge.storage import errors as storage_errors
from bridge.storage.catalog import Flavor
from bridge.storage.pooling import Registry

#: What every bridge driver offers (Zaqar's capability names): shown as a
#: flavor's ``capabilities``.
CAPABILITIES = ['FIFO', 'CLAIMS', 'DURABILITY', 'AOD']


class Collection:
    """``/v2/flavors``"""

    rules = {'GET': 'flavors:get_all'}

    def __init__(self, registry: Registry, limits: validation.Limits,
                 max_per_page: int) -> None:
        self._registry = registry
        self._limits = limits
        self._max = max_per_page

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit, detailed = pool_validation.listing(
            req.get_param('limit'), req.get_param('detailed'), self._max)
        flavors = self._registry.list_flavors(req.get_param('marker'),
                                              limit)
        entries = []
        for flavor in flavors:
            entry: dict[str, Any] = {
                'name': flavor.name, 'href': req.path + '/' + flavor.name,
                'pool_list': self._registry.pools_of(flavor.name)}
            if detailed:
                entry['capabilities'] = CAPABILITIES
            entries.append(entry)
        body: dict[str, Any] = {'flavors': entries, 'links': []}
        if flavors:
            body['links'] = wire.next_link(
                req.path, dict(limit=limit, detailed=detailed,
                                marker=flavors[-1].name))
        wire.send(resp, body)


class Item:
    """``/v2/flavors/{flavor_name}``"""

    rules = {'GET': 'flavors:get', 'PUT': 'flavors:create',
             'PATCH': 'flavors:update', 'DELETE': 'flavors:delete'}

    def __init__(self, registry: Registry, limits: validation.Limits) -> None:
        self._registry = registry
        self._limits = limits

    def on_get(self, req: falcon.Request, resp: falcon.Response,
               flavor_name: str) -> None:
        wire.send(resp, self._document(flavor_name, req.path))

    def on_put(self, req: falcon.Request, resp: falcon.Response,
               flavor_name: str) -> None:
        pool_validation.name(flavor_name, 'Flavor')
        pools, capabilities = pool_validation.flavor(
            wire.read_json(req, self._limits, required=True))
        try:
            self._registry.put_flavor(Flavor(flavor_name, capabilities),
                                      pools)
        except storage_errors.PoolNotFound as exc:
            raise errors.BadRequest('Flavor %s could not be created: pool '
                                    '%s does not exist.' % (flavor_name,
                                                            exc))
        resp.status = falcon.HTTP_201
        resp.location = req.path

    def on_patch(self, req: falcon.Request, resp: falcon.Response,
                 flavor_name: str) -> None:
        pools, _ = pool_validation.flavor(
            wire.read_json(req, self._limits, required=True))
        self._document(flavor_name, req.path)  # 404 first
        try:
            self._registry.update_flavor(flavor_name, pools)
        except storage_errors.PoolNotFound as exc:
            raise errors.BadRequest('Flavor %s could not be updated: pool '
                                    '%s does not exist.' % (flavor_name,
                                                            exc))
        wire.send(resp, self._document(flavor_name, req.path))

    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  flavor_name: str) -> None:
        self._registry.delete_flavor(flavor_name)
        resp.status = falcon.HTTP_204

    def _document(self, flavor_name: str, href: str) -> dict[str, Any]:
        try:
            flavor, pools = self._registry.get_flavor(flavor_name)
        except storage_errors.FlavorNotFound:
            raise errors.NotFound('Flavor %s does not exist.' % flavor_name)
        return {'name': flavor.name, 'capabilities': CAPABILITIES,
                'pool_list': pools, 'href': href}
