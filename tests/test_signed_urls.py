"""bridge.signed_urls: the signed text is Zaqar's, grants are strict, and
verification compares in constant time and covers exactly the grant."""

from __future__ import annotations

import datetime
import hashlib
import hmac

import pytest

from bridge import signed_urls

KEY = 'k' * 40
NOW = datetime.datetime(2030, 1, 1, 12, 0, 0)


def grant(**kw):
    values = dict(paths=['/v2/queues/a.b/messages'], methods=['GET', 'POST'],
                  project='p1', expires='2030-01-02T00:00:00')
    values.update(kw)
    return signed_urls.grant(**values)


def headers_of(g, key=KEY):
    return signed_urls.headers(key, g)


def verify(headers, method='GET', path='/v2/queues/a.b/messages', key=KEY):
    return signed_urls.verify(key, headers.get, method, path, now=NOW)


def test_the_signed_text_is_zaqars_so_zaqar_grants_verify():
    g = grant(paths=['/v2/queues/q/messages', '/v2/queues/q/claims'],
              methods=['POST', 'GET'])
    # Zaqar: sorted paths and methods, comma-joined, then project and
    # expiry, separated by a literal backslash-n (a raw string there).
    text = ('/v2/queues/q/claims,/v2/queues/q/messages' + '\\n' + 'GET,POST'
            + '\\n' + 'p1' + '\\n' + '2030-01-02T00:00:00')
    expected = hmac.new(KEY.encode(), text.encode(), hashlib.sha256)
    assert signed_urls.signature(KEY, g) == expected.hexdigest()


def test_a_valid_grant_yields_its_project_for_covered_requests():
    h = headers_of(grant())
    assert verify(h) == 'p1'
    assert verify(h, 'POST', '/v2/queues/a.b/messages/0123') == 'p1'


@pytest.mark.parametrize('method, path', [
    ('DELETE', '/v2/queues/a.b/messages'),
    ('GET', '/v2/queues/axb/messages'),        # '.' is not a wildcard
    ('GET', '/v2/queues/a.b/messagesx'),
    ('GET', '/v2/queues/a.b'),
    ('GET', '/v2/queues/a.b/claims'),
    ('GET', '/x/v2/queues/a.b/messages'),
])
def test_nothing_outside_the_grant_is_allowed(method, path):
    with pytest.raises(signed_urls.Refused):
        verify(headers_of(grant()), method, path)


def test_expiry_is_exclusive():
    h = headers_of(grant(expires='2030-01-01T12:00:00'))
    with pytest.raises(signed_urls.Refused, match='expired'):
        verify(h)
    assert verify(headers_of(grant(expires='2030-01-01T12:00:01'))) == 'p1'


def test_signatures_are_compared_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)
    monkeypatch.setattr(signed_urls.hmac, 'compare_digest', spy)
    h = headers_of(grant())
    verify(h)
    assert calls == [(h['URL-Signature'].encode(),) * 2]


@pytest.mark.parametrize('kw', [
    {'paths': []},
    {'paths': ['/v2/queues/q/messages', '/v2/queues/r/messages']},
    {'paths': ['/v2/queues/q/share']},
    {'paths': ['/v2/queues/q/messages\\n']},
    {'methods': ['get']},
    {'methods': []},
    {'project': ''},
    {'expires': '2030-01-02 00:00:00'},
    {'expires': '2030-01-02T00:00:00Z'},
])
def test_malformed_grants_are_refused(kw):
    with pytest.raises(ValueError):
        grant(**kw)


def test_no_key_refuses_everything():
    with pytest.raises(signed_urls.Refused, match='not enabled'):
        verify(headers_of(grant()), key=None)


def test_a_confirmation_grant_covers_only_its_subscription():
    g = grant(paths=['/v2/queues/q/subscriptions/s1/confirm'],
              methods=['PUT'])
    h = headers_of(g)
    assert verify(h, 'PUT', '/v2/queues/q/subscriptions/s1/confirm') == 'p1'
    for path in ('/v2/queues/q/subscriptions/s2/confirm',
                 '/v2/queues/q/subscriptions/s1',
                 '/v2/queues/q/subscriptions'):
        with pytest.raises(signed_urls.Refused):
            verify(h, 'PUT', path)


def test_a_topic_can_be_signed_for_a_subscription_confirmation_only():
    g = grant(paths=['/v2/topics/t/subscriptions/s1/confirm'],
              methods=['PUT'])
    h = headers_of(g)
    assert verify(h, 'PUT', '/v2/topics/t/subscriptions/s1/confirm') == 'p1'
    with pytest.raises(signed_urls.Refused):
        verify(h, 'PUT', '/v2/queues/t/subscriptions/s1/confirm')
    for paths in (['/v2/topics/t/messages'], ['/v2/topics/t/subscriptions'],
                  ['/v2/topics/t/subscriptions/s1/confirm',
                   '/v2/queues/t/subscriptions/s1/confirm']):
        with pytest.raises(ValueError):
            grant(paths=paths, methods=['PUT'])
