"""Helpers shared by the API tests."""

from __future__ import annotations

import uuid
from typing import Any

from falcon import testing


class Api:
    """A TestClient that sends a project's and a client's headers."""

    def __init__(self, client: testing.TestClient, project: str = 'project-a',
                 client_id: str | None = None) -> None:
        self.client = client
        self.headers = {'Client-ID': client_id or str(uuid.uuid4()),
                        'X-Project-Id': project}

    def as_project(self, project: str) -> Api:
        return Api(self.client, project)

    def as_client(self, client_id: str | None = None) -> Api:
        return Api(self.client, self.headers['X-Project-Id'], client_id)

    def request(self, method: str, path: str, *,
                headers: dict[str, str] | None = None,
                **kwargs: Any) -> testing.Result:
        merged = dict(self.headers, **(headers or {}))
        return self.client.simulate_request(method, path, headers=merged,
                                            **kwargs)

    def get(self, path: str, **kw: Any) -> testing.Result:
        return self.request('GET', path, **kw)

    def head(self, path: str, **kw: Any) -> testing.Result:
        return self.request('HEAD', path, **kw)

    def put(self, path: str, **kw: Any) -> testing.Result:
        return self.request('PUT', path, **kw)

    def post(self, path: str, **kw: Any) -> testing.Result:
        return self.request('POST', path, **kw)

    def patch(self, path: str, **kw: Any) -> testing.Result:
        return self.request('PATCH', path, **kw)

    def delete(self, path: str, **kw: Any) -> testing.Result:
        return self.request('DELETE', path, **kw)

    # -- shortcuts ---------------------------------------------------------

    def post_messages(self, queue: str, *bodies: Any,
                      **fields: Any) -> list[str]:
        """Post one message per body; return their ids."""
        resp = self.post('/v2/queues/%s/messages' % queue,
                         json={'messages': [dict(fields, body=b)
                                            for b in bodies]})
        assert resp.status_code == 201, resp.text
        return [href.rsplit('/', 1)[1] for href in resp.json['resources']]

    def claim(self, queue: str, limit: int = 10,
              **body: Any) -> testing.Result:
        return self.post('/v2/queues/%s/claims' % queue,
                         params={'limit': str(limit)},
                         json=dict({'ttl': 60, 'grace': 60}, **body))


def assert_error(resp: testing.Result, status: int) -> None:
    """A Zaqar error: the status, and a JSON title and description."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert isinstance(resp.json.get('title'), str) and resp.json['title']
    assert isinstance(resp.json.get('description'), str)
