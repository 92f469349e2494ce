"""The pooling facade routes every Storage method: a method added to the
interface without a route in bridge/storage/pooling/facade.py would reach
the base class's default (or nothing) instead of the queue's pool."""

from __future__ import annotations

from bridge.storage import base
from bridge.storage.pooling import PooledStorage, registry


def test_the_facade_routes_every_storage_method() -> None:
    public = {name for name, value in vars(base.Storage).items()
              if callable(value) and not name.startswith('_')}
    # Routed: defined by the facade or its mixin, not inherited from base.
    missing = sorted(name for name in public
                     if getattr(PooledStorage, name)
                     is getattr(base.Storage, name))
    assert not missing, ('route these in bridge/storage/pooling/facade.py: '
                         + ', '.join(missing))


def test_weights_share_out_new_queues_and_zero_takes_none() -> None:
    from bridge.storage.catalog import Pool
    pools = [Pool('a', 'sqlite://', 1), Pool('zero', 'sqlite://', 0),
             Pool('b', 'sqlite://', 3)]
    picks = [registry.weighted(pools, lambda low, high, p=p: p).name
             for p in range(4)]
    assert picks == ['a', 'b', 'b', 'b']
    assert registry.weighted([Pool('zero', 'sqlite://', 0)]) is None
    assert registry.weighted([]) is None
