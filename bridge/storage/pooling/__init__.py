"""Storage pools: several backends, each queue placed on one.

:func:`wrap` turns the default storage (the [storage] url backend, which
keeps the catalog) into a :class:`~.facade.PooledStorage` that routes each
call to its queue's pool. Services get it from
:func:`bridge.storage.from_conf`; the admin API manages pools and flavors
through its :attr:`~.facade.PooledStorage.registry`.
"""

from __future__ import annotations

from oslo_config import cfg

from bridge.storage.base import Storage
from bridge.storage.pooling.facade import PooledStorage
from bridge.storage.pooling.registry import DEFAULT, Registry

__all__ = ['DEFAULT', 'PooledStorage', 'Registry', 'wrap']


def wrap(storage: Storage, conf: cfg.ConfigOpts) -> PooledStorage:
    """``storage`` with its pools (itself if it is pooled already)."""
    if isinstance(storage, PooledStorage):
        return storage
    from bridge.storage import from_url  # (import cycle)
    registry = Registry(storage, lambda url: from_url(url, conf),
                        conf.pooling.refresh_seconds)
    return PooledStorage(registry)
