"""A tiny Keystone-compatible token server for functional tests.

It speaks just enough of the Identity v3 API for keystonemiddleware's
``auth_token`` (password auth plugin) and for test clients:

* ``GET /`` and ``GET /v3``: version discovery documents.
* ``POST /v3/auth/tokens``: password authentication scoped to a project;
  answers 201 with the token id in ``X-Subject-Token`` and the token body,
  401 for an unknown user or a wrong password.
* ``GET /v3/auth/tokens``: validates ``X-Subject-Token`` for a caller whose
  own ``X-Auth-Token`` is valid; 200 with the token body (project, roles,
  catalog), 401 when the caller's token is not valid, 404 when the subject
  token is unknown.

It is a real HTTP server on a loopback port, served by a thread; tokens live
in memory and never expire during a test. Every validation request is
recorded in :attr:`FakeKeystone.validated`, so a test can prove that the
middleware really asked.
"""

from __future__ import annotations

import dataclasses
import datetime
import http.server
import json
import threading
import uuid
from typing import Any

DOMAIN = {'id': 'default', 'name': 'Default'}


@dataclasses.dataclass(frozen=True)
class User:
    name: str
    password: str
    project_id: str
    project_name: str
    roles: tuple[str, ...]
    user_id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)


class FakeKeystone:
    """Identity v3 token endpoints on ``http://127.0.0.1:<port>``."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._tokens: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.validated: list[str] = []
        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self._server.daemon_threads = True
        self._server.keystone = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name='fake-keystone', daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f'http://{host}:{port}'

    def add_user(self, name: str, password: str, project_id: str,
                 project_name: str | None = None,
                 roles: tuple[str, ...] = ('member', 'reader')) -> User:
        user = User(name, password, project_id, project_name or project_id, roles)
        with self._lock:
            self._users[name] = user
        return user

    def start(self) -> FakeKeystone:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- token operations, called by the request handler --------------------

    def authenticate(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """Token id and body for a valid password request, else None."""
        try:
            creds = body['auth']['identity']['password']['user']
            name, password = creds['name'], creds['password']
        except (KeyError, TypeError):
            return None
        with self._lock:
            user = self._users.get(name)
            if user is None or user.password != password:
                return None
            token_id = uuid.uuid4().hex
            token = self._token_body(user)
            self._tokens[token_id] = token
        return token_id, token

    def token(self, token_id: str | None) -> dict[str, Any] | None:
        with self._lock:
            return self._tokens.get(token_id or '')

    def record_validation(self, token_id: str) -> None:
        with self._lock:
            self.validated.append(token_id)

    def _token_body(self, user: User) -> dict[str, Any]:
        now = datetime.datetime.now(datetime.timezone.utc)
        stamp = '%Y-%m-%dT%H:%M:%S.000000Z'
        return {'token': {
            'methods': ['password'],
            'audit_ids': [uuid.uuid4().hex[:22]],
            'issued_at': now.strftime(stamp),
            'expires_at': (now + datetime.timedelta(hours=1)).strftime(stamp),
            'user': {'id': user.user_id, 'name': user.name, 'domain': DOMAIN,
                     'password_expires_at': None},
            'project': {'id': user.project_id, 'name': user.project_name,
                        'domain': DOMAIN},
            'roles': [{'id': f'role-{role}', 'name': role} for role in user.roles],
            'is_domain': False,
            'catalog': [{
                'id': 'identity-service', 'type': 'identity', 'name': 'keystone',
                'endpoints': [
                    {'id': f'identity-{interface}', 'interface': interface,
                     'region': 'RegionOne', 'region_id': 'RegionOne',
                     'url': self.url + '/v3'}
                    for interface in ('public', 'internal', 'admin')],
            }],
        }}

    def version_document(self) -> dict[str, Any]:
        return {'id': 'v3.14', 'status': 'stable', 'updated': '2020-04-07T00:00:00Z',
                'links': [{'rel': 'self', 'href': self.url + '/v3/'}],
                'media-types': [{'base': 'application/json',
                                 'type': 'application/vnd.openstack.identity-v3+json'}]}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    @property
    def keystone(self) -> FakeKeystone:
        return self.server.keystone  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep test output quiet

    def do_GET(self) -> None:
        path = self.path.split('?', 1)[0].rstrip('/')
        if path == '':
            self._reply(300, {'versions': {'values': [self.keystone.version_document()]}})
        elif path == '/v3':
            self._reply(200, {'version': self.keystone.version_document()})
        elif path == '/v3/auth/tokens':
            self._validate()
        else:
            self._reply(404, _error(404, 'Not Found', f'no route for {path}'))

    def do_POST(self) -> None:
        if self.path.split('?', 1)[0].rstrip('/') != '/v3/auth/tokens':
            self._reply(404, _error(404, 'Not Found', 'no route'))
            return
        length = int(self.headers.get('Content-Length') or 0)
        try:
            body = json.loads(self.rfile.read(length) or b'{}')
        except ValueError:
            self._reply(400, _error(400, 'Bad Request', 'body is not JSON'))
            return
        issued = self.keystone.authenticate(body)
        if issued is None:
            self._reply(401, _error(401, 'Unauthorized', 'wrong user or password'))
            return
        token_id, token = issued
        self._reply(201, token, {'X-Subject-Token': token_id})

    def _validate(self) -> None:
        if self.keystone.token(self.headers.get('X-Auth-Token')) is None:
            self._reply(401, _error(401, 'Unauthorized', 'caller token is not valid'))
            return
        subject = self.headers.get('X-Subject-Token') or ''
        self.keystone.record_validation(subject)
        token = self.keystone.token(subject)
        if token is None:
            self._reply(404, _error(404, 'Not Found', 'token not found'))
            return
        self._reply(200, token, {'X-Subject-Token': subject})

    def _reply(self, status: int, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _error(code: int, title: str, message: str) -> dict[str, Any]:
    return {'error': {'code': code, 'title': title, 'message': message}}
