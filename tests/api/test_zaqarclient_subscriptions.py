"""python-zaqarclient's subscription calls, unchanged, against the API
in-process: its ``requests`` session is given an adapter that hands each
request to falcon's TestClient, so the exact requests the client builds
(paths, bodies, headers) meet the real application and SQLite storage."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
import requests
from falcon import testing
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from zaqarclient.common import http as zaqar_http
from zaqarclient.queues.v2 import client as zaqar_client
from zaqarclient.transport import errors as zaqar_errors

from .support import Api

URL = 'http://bridge.test'
HOOK = 'http://93.184.216.34/hook'


class FalconAdapter(BaseAdapter):
    """A requests transport that answers from a falcon TestClient."""

    def __init__(self, client: testing.TestClient) -> None:
        super().__init__()
        self._client = client

    def send(self, request: requests.PreparedRequest,  # type: ignore[override]
             **kwargs: Any) -> requests.Response:
        url = urllib.parse.urlsplit(request.url or '')
        body = request.body
        if isinstance(body, str):
            body = body.encode('utf-8')
        result = self._client.simulate_request(
            request.method or 'GET', url.path, query_string=url.query,
            headers=dict(request.headers), body=body or None)
        resp = requests.Response()
        resp.status_code = result.status_code
        resp.headers = CaseInsensitiveDict(result.headers)
        resp._content = result.content
        resp.encoding = 'utf-8'
        resp.url = request.url or ''
        resp.request = request
        return resp

    def close(self) -> None:
        pass


@pytest.fixture
def zaqar(api: Api, monkeypatch: pytest.MonkeyPatch
          ) -> zaqar_client.Client:
    adapter = FalconAdapter(api.client)
    original = zaqar_http.Client.__init__

    def init(self: zaqar_http.Client, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.session.mount(URL, adapter)

    monkeypatch.setattr(zaqar_http.Client, '__init__', init)
    return zaqar_client.Client(URL, version=2, conf={
        'auth_opts': {'backend': 'noauth',
                      'options': {'os_project_id': 'project-a'}}})


def test_zaqarclient_subscription_lifecycle(zaqar: zaqar_client.Client,
                                            api: Api) -> None:
    sub = zaqar.subscription('jobs', subscriber=HOOK, ttl=3600,
                             options={'event_types': ['compute.*']})
    assert sub.id
    assert (sub.subscriber, sub.ttl, sub.confirmed) == (HOOK, 3600, True)
    assert sub.options == {'event_types': ['compute.*']}

    listed = list(zaqar.queue('jobs', auto_create=False).subscriptions())
    assert [(s.id, s.queue_name, s.subscriber) for s in listed] == \
        [(sub.id, 'jobs', HOOK)]
    assert list(zaqar.subscriptions('jobs', limit=1)) != []

    sub.update({'ttl': 7200, 'options': {'subject': 'x'}})
    again = zaqar.subscription('jobs', id=sub.id, auto_create=False)
    again.ensure_exists()
    assert (again.ttl, again.options) == (7200, {'subject': 'x'})

    with pytest.raises(zaqar_errors.ConflictError):
        zaqar.subscription('jobs', subscriber=HOOK)
    with pytest.raises(zaqar_errors.MalformedRequest):
        zaqar.subscription('jobs', subscriber='http://169.254.169.254/')

    sub.delete()
    assert list(zaqar.subscriptions('jobs')) == []
    assert api.get('/v2/queues/jobs/subscriptions').json['subscriptions'] \
        == []
