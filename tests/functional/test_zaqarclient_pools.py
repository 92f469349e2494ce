"""python-zaqarclient's pools and flavors calls, unchanged, against a
running keystone-mode bridge-api and the real Keystone: an admin registers
a pool and a flavor, a tenant's queue naming the flavor lands in the pool's
own database, tenants may read flavors but not manage pools."""

from __future__ import annotations

import pathlib
import uuid

import pytest
from oslo_config import cfg
from zaqarclient.queues.v2 import core
from zaqarclient.transport import errors as zaqar_errors

from bridge import conf as bridge_conf
from bridge import storage as bridge_storage

from .keystone import Keystone
from .server import BridgeAPI
from .test_signed_url_zaqarclient import project_token, token_client


@pytest.fixture
def admin(keystone_api: BridgeAPI, keystone: Keystone):
    user = keystone.create_user('pool-admin', roles=('admin',))
    return token_client(keystone_api, user.project_id, keystone.token(user))


@pytest.fixture
def tenant(keystone_api: BridgeAPI, keystone: Keystone):
    project, token = project_token(keystone, 'pool-tenant')
    return project, token_client(keystone_api, project, token)


def names(listing) -> list[str]:
    return [item.name for item in listing]


def test_zaqarclient_manages_pools_and_flavors_and_queues_follow_them(
        admin, tenant, tmp_path: pathlib.Path) -> None:
    tag = uuid.uuid4().hex[:8]
    pool_name, flavor_name = 'fast-' + tag, 'gold-' + tag
    pool_file = tmp_path / 'fast.sqlite'
    uri = 'sqlite:///%s' % pool_file

    pool = admin.pool(pool_name, uri=uri, weight=10)  # PUT
    shown = pool.get()
    assert (shown['name'], shown['uri'], shown['weight']) == (pool_name, uri,
                                                              10)
    pool.update({'weight': 20})  # PATCH
    assert pool.get()['weight'] == 20
    assert pool_name in names(admin.pools())

    flavor = admin.flavor(flavor_name, pool_list=[pool_name])  # PUT
    assert flavor.get()['pool_list'] == [pool_name]
    assert flavor_name in names(admin.flavors())
    assert pool.get()['flavor'] == flavor_name

    project, client = tenant
    req, trans = client._request_and_transport()
    core.queue_create(trans, req, 'jobs', metadata={'_flavor': flavor_name})
    queue = client.queue('jobs')
    queue.post([{'body': {'n': 1}, 'ttl': 600}])
    assert [m.body for m in queue.messages(echo=True)] == [{'n': 1}]
    # The message is in the pool's own database.
    direct = _open(uri)
    try:
        assert [m.body for m in direct.list_messages(project, 'jobs').messages
                ] == [{'n': 1}]
    finally:
        direct.close()

    # Tenants read flavors, but pools are for admins.
    assert flavor_name in names(client.flavors())
    with pytest.raises(zaqar_errors.ForbiddenError):
        list(client.pools())
    with pytest.raises(zaqar_errors.ForbiddenError):
        client.pool('mine-' + tag, uri=uri, weight=1)

    # A pool in use stays; once unused it goes.
    with pytest.raises(zaqar_errors.ForbiddenError):
        pool.delete()
    flavor.delete()
    with pytest.raises(zaqar_errors.ForbiddenError):
        pool.delete()  # the tenant's queue lives there
    queue.delete()
    pool.delete()
    assert pool_name not in names(admin.pools())


def _open(uri: str) -> bridge_storage.Storage:
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    conf([], default_config_files=[])
    return bridge_storage.from_url(uri, conf)
