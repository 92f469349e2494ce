"""Admin access to the real Keystone the keystone-mode tests run against.

tools/start-keystone.sh (run by tools/services.sh) installs PyPI
``keystone`` in its own virtualenv and serves it on 127.0.0.1 (SQLite,
fernet tokens, ``keystone-manage bootstrap``). :class:`Keystone` talks to it
over HTTP with the bootstrap admin's token, through the Identity v3 API:
tests create the projects, users, role assignments, services and endpoints
they need, and :meth:`Keystone.cleanup` deletes them again, so runs do not
pile up state in Keystone's database.

Environment (tools/test.sh sets the defaults):
  BRIDGE_TEST_KEYSTONE_URL             http://127.0.0.1:35357
  BRIDGE_TEST_KEYSTONE_ADMIN_PASSWORD  bridge-test-admin
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from typing import Any

import requests

TIMEOUT = 15
DEFAULT_URL = 'http://127.0.0.1:35357'
DEFAULT_ADMIN_PASSWORD = 'bridge-test-admin'


@dataclasses.dataclass(frozen=True)
class User:
    """A Keystone user with a role on one project."""

    name: str
    user_id: str
    password: str
    project_id: str
    project_name: str


class Keystone:
    """The test Keystone, driven as its bootstrap admin."""

    def __init__(self, url: str, admin_password: str) -> None:
        self.url = url.rstrip('/')
        self.auth_url = self.url + '/v3'
        self._admin_password = admin_password
        self._created: list[str] = []  # API paths to DELETE on cleanup
        self._admin_token = self._password_token('admin', admin_password,
                                                 project_name='admin')

    @classmethod
    def from_environment(cls) -> Keystone:
        url = os.environ.get('BRIDGE_TEST_KEYSTONE_URL', DEFAULT_URL)
        password = os.environ.get('BRIDGE_TEST_KEYSTONE_ADMIN_PASSWORD',
                                  DEFAULT_ADMIN_PASSWORD)
        try:
            requests.get(url + '/v3', timeout=TIMEOUT).raise_for_status()
        except requests.RequestException as exc:
            raise RuntimeError(
                f'no Keystone answers GET {url}/v3 ({exc}); tools/services.sh '
                'starts one (tools/start-keystone.sh), or set '
                'BRIDGE_TEST_KEYSTONE_URL') from None
        return cls(url, password)

    # -- tokens ------------------------------------------------------------

    def _password_token(self, name: str, password: str, *,
                        project_id: str | None = None,
                        project_name: str | None = None) -> str:
        project: dict[str, Any] = ({'id': project_id} if project_id else
                                   {'name': project_name,
                                    'domain': {'id': 'default'}})
        resp = requests.post(self.auth_url + '/auth/tokens', timeout=TIMEOUT, json={
            'auth': {'identity': {'methods': ['password'], 'password': {'user': {
                'name': name, 'domain': {'id': 'default'}, 'password': password}}},
                'scope': {'project': project}}})
        if resp.status_code != 201:
            raise RuntimeError(f'Keystone refused a token to {name}: '
                               f'{resp.status_code} {resp.text}')
        return resp.headers['X-Subject-Token']

    def token(self, user: User) -> str:
        """A token of ``user``, scoped to its project."""
        return self._password_token(user.name, user.password,
                                    project_id=user.project_id)

    def revoke(self, token: str) -> None:
        resp = requests.delete(self.auth_url + '/auth/tokens', timeout=TIMEOUT,
                               headers={'X-Auth-Token': self._admin_token,
                                        'X-Subject-Token': token})
        assert resp.status_code == 204, resp.text

    # -- admin calls -------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              expect: tuple[int, ...] = (200, 201, 204)) -> dict[str, Any]:
        resp = requests.request(method, self.auth_url + path, json=body,
                                timeout=TIMEOUT,
                                headers={'X-Auth-Token': self._admin_token})
        if resp.status_code not in expect:
            raise RuntimeError(f'Keystone: {method} {path} answered '
                               f'{resp.status_code}: {resp.text}')
        return resp.json() if resp.content else {}

    def _create(self, collection: str, kind: str, fields: dict[str, Any]) -> str:
        entity = self._call('POST', '/' + collection, {kind: fields})[kind]
        self._created.append(f'/{collection}/{entity["id"]}')
        return entity['id']

    def role_id(self, name: str) -> str:
        roles = self._call('GET', '/roles?name=' + name)['roles']
        if roles:
            return roles[0]['id']
        return self._create('roles', 'role', {'name': name})

    def create_user(self, prefix: str, roles: tuple[str, ...] = ('member', 'reader'),
                    project_name: str | None = None) -> User:
        """A new project (unless ``project_name`` exists) and a new user
        with ``roles`` on it; names end in a random suffix."""
        suffix = uuid.uuid4().hex[:10]
        name, password = f'{prefix}-{suffix}', uuid.uuid4().hex
        project_name = project_name or f'{prefix}-project-{suffix}'
        found = self._call('GET', '/projects?name=' + project_name)['projects']
        project_id = found[0]['id'] if found else self._create(
            'projects', 'project', {'name': project_name, 'domain_id': 'default'})
        user_id = self._create('users', 'user', {
            'name': name, 'password': password, 'domain_id': 'default',
            'default_project_id': project_id})
        for role in roles:
            self._call('PUT', f'/projects/{project_id}/users/{user_id}/roles/'
                       + self.role_id(role))
        return User(name, user_id, password, project_id, project_name)

    def register_endpoint(self, service_type: str, url: str) -> str:
        """A new region holding one public endpoint of a new service of
        ``service_type`` at ``url``; returns the region id. (A region of its
        own keeps the tests' endpoints apart from anything else in the
        catalog.)"""
        region = 'bridge-test-' + uuid.uuid4().hex[:10]
        self._call('POST', '/regions', {'region': {'id': region}})
        self._created.append('/regions/' + region)
        service_id = self._create('services', 'service', {
            'type': service_type, 'name': f'bridge-{region}'})
        self._create('endpoints', 'endpoint', {
            'service_id': service_id, 'interface': 'public', 'url': url,
            'region_id': region})
        return region

    def cleanup(self) -> None:
        """Delete what this object created, newest first."""
        while self._created:
            self._call('DELETE', self._created.pop(), expect=(204, 404))
