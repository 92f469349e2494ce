"""The ``wait`` parameter of GET messages and POST claims: 0 to
``[limits] max_wait`` seconds, refused with 400 otherwise. (Waiting
itself happens in the ASGI server: tests/functional/test_long_poll.py and
tests/api/test_asgi_long_poll.py.)"""

from __future__ import annotations

import pytest

from .support import assert_error


@pytest.mark.parametrize('value', ['21', '-1', 'soon', '1.5'])
def test_a_wait_out_of_range_is_refused(api, value):
    resp = api.get('/v2/queues/q/messages?wait=' + value)
    assert_error(resp, 400)
    assert '"wait"' in resp.json['description']
    resp = api.post('/v2/queues/q/claims?wait=' + value, json={})
    assert_error(resp, 400)


def test_max_wait_is_an_option(conf, make_api):
    conf.set_override('max_wait', 5, group='limits')
    api = make_api()
    assert_error(api.get('/v2/queues/q/messages?wait=6'), 400)
    assert api.get('/v2/queues/q/messages?wait=5').status_code == 200


def test_without_an_asgi_server_a_wait_answers_at_once(api):
    """Under a plain WSGI server nothing can hold the request."""
    resp = api.get('/v2/queues/q/messages?wait=20')
    assert resp.status_code == 200
    assert resp.json == {'messages': [], 'links': []}
    assert api.post('/v2/queues/q/claims?wait=20', json={}).status_code == 204
