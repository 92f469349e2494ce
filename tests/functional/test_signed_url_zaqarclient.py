"""python-zaqarclient's ``queue.signed_url()`` against a real bridge-api in
keystone mode: a project member with a token signs a URL, and a client
with no token at all (zaqarclient's ``signed-url`` auth backend) uses it
for exactly the signed paths and methods of that queue and project."""

from __future__ import annotations

import uuid

import pytest
import requests
from zaqarclient.queues.v2 import client as zaqar_client
from zaqarclient.transport import errors as zaqar_errors

from .keystone import Keystone
from .server import BridgeAPI

TIMEOUT = 10


def project_token(keystone: Keystone, name: str) -> tuple[str, str]:
    """A user of a new project, and a token scoped to it, both from the
    real Keystone (tools/start-keystone.sh)."""
    user = keystone.create_user(name)
    return user.project_id, keystone.token(user)


def token_client(api: BridgeAPI, project: str, token: str) -> zaqar_client.Client:
    return zaqar_client.Client(api.url, version=2, conf={'auth_opts': {
        'backend': 'keystone',
        'options': {'os_auth_token': token, 'os_project_id': project}}})


def signed_client(api: BridgeAPI, signed: dict, project: str | None = None
                  ) -> zaqar_client.Client:
    """A client holding nothing but the signed URL."""
    return zaqar_client.Client(api.url, version=2, conf={'auth_opts': {
        'backend': 'signed-url',
        'options': {'signature': signed['signature'], 'expires': signed['expires'],
                    'methods': signed['methods'], 'paths': signed['paths'],
                    'os_project_id': project or signed['project']}}})


def bodies(queue) -> list:
    return [m.body for m in queue.messages(echo=True)]


@pytest.fixture(scope='module')
def owner(keystone_api: BridgeAPI, keystone: Keystone):
    project, token = project_token(keystone, 'owner-' + uuid.uuid4().hex[:6])
    return project, token_client(keystone_api, project, token)


def test_a_signed_url_made_with_a_token_works_without_one(
        keystone_api: BridgeAPI, owner) -> None:
    project, client = owner
    queue = client.queue('shared', force_create=True)
    queue.post([{'body': {'n': 1}, 'ttl': 600}])
    signed = queue.signed_url(paths=['messages'], ttl_seconds=600,
                              methods=['GET', 'POST', 'DELETE'])
    assert signed['project'] == project
    assert signed['paths'] == ['/v2/queues/shared/messages']
    assert signed['methods'] == ['DELETE', 'GET', 'POST']

    anonymous = signed_client(keystone_api, signed).queue('shared')
    assert bodies(anonymous) == [{'n': 1}]
    anonymous.post([{'body': {'n': 2}, 'ttl': 600}])
    first = next(iter(anonymous.messages(echo=True)))
    first.delete()
    # The owner, with its token, sees what the token-less client did.
    assert bodies(queue) == [{'n': 2}]


def test_a_signed_url_grants_nothing_beyond_its_paths_methods_and_project(
        keystone_api: BridgeAPI, keystone: Keystone, owner) -> None:
    project, client = owner
    client.queue('private', force_create=True).post([{'body': 'secret'}])
    signed = client.queue('readonly', force_create=True).signed_url(
        ttl_seconds=600)  # Zaqar's defaults: GET on messages
    assert signed['methods'] == ['GET']
    anonymous = signed_client(keystone_api, signed)
    assert bodies(anonymous.queue('readonly')) == []
    with pytest.raises(zaqar_errors.ResourceNotFound):
        anonymous.queue('readonly').post([{'body': 'not allowed'}])
    with pytest.raises(zaqar_errors.ResourceNotFound):
        bodies(anonymous.queue('private'))          # another queue
    with pytest.raises(zaqar_errors.ResourceNotFound):
        anonymous.queues()                           # not a signed path
    other_project, other_token = project_token(keystone, 'other-' + uuid.uuid4().hex[:6])
    token_client(keystone_api, other_project, other_token).queue(
        'readonly', force_create=True).post([{'body': 'other project'}])
    with pytest.raises(zaqar_errors.ResourceNotFound):
        bodies(signed_client(keystone_api, signed, project=other_project)
               .queue('readonly'))                   # another project
    # Without a signature, no token still means 401 from auth_token.
    resp = requests.get(keystone_api.url + '/v2/queues/readonly/messages',
                        headers={'Client-ID': str(uuid.uuid4()),
                                 'X-Project-Id': project}, timeout=TIMEOUT)
    assert resp.status_code == 401
