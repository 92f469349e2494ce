"""Pre-signed URLs through the API: ``POST .../share`` answers Zaqar's
document, and a request carrying it is allowed, without any identity of
its own, for exactly the signed paths and methods of the signed project
until expiry; anything else is 404 (as in Zaqar)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Callable

import pytest
from falcon import testing
from oslo_config import cfg

from bridge import signed_urls

from .support import Api, assert_error

KEY = 'test-signing-key-' + 'x' * 32
SHARE = '/v2/queues/q1/share'


@pytest.fixture
def make_api(conf: cfg.ConfigOpts,
             make_api: Callable[..., Api]) -> Callable[..., Api]:
    conf.set_override('secret_key', KEY, group='signed_url')
    return make_api


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


def signed_headers(doc: dict[str, Any]) -> dict[str, str]:
    """As python-zaqarclient's ``signed-url`` auth sends them."""
    return {'URL-Signature': doc['signature'], 'URL-Expires': doc['expires'],
            'URL-Methods': ','.join(doc['methods']),
            'URL-Paths': ','.join(doc['paths']),
            'X-Project-Id': doc['project'],
            'Client-ID': str(uuid.uuid4())}


def anonymous(api: Api, method: str, path: str, headers: dict[str, str],
              **kwargs: Any) -> testing.Result:
    """A request with nothing but the given headers (no project of its
    own)."""
    return api.client.simulate_request(method, path, headers=headers,
                                       **kwargs)


def share(api: Api, **body: Any) -> dict[str, Any]:
    resp = api.post(SHARE, json=body)
    assert resp.status_code == 200, resp.text
    return resp.json


# -- share -----------------------------------------------------------------------

def test_share_answers_zaqars_document_with_defaults(api: Api) -> None:
    before = signed_urls.utcnow()
    doc = share(api)
    assert sorted(doc) == ['expires', 'methods', 'paths', 'project',
                           'signature']
    assert doc['paths'] == ['/v2/queues/q1/messages']
    assert doc['methods'] == ['GET']
    assert doc['project'] == 'project-a'
    expires = datetime.datetime.strptime(doc['expires'],
                                         signed_urls.DATE_FORMAT)
    assert before + datetime.timedelta(seconds=86399) <= expires
    assert expires <= signed_urls.utcnow() + datetime.timedelta(days=1)
    assert len(doc['signature']) == 64


def test_share_signs_the_requested_paths_methods_and_expiry(api: Api) -> None:
    doc = share(api, paths=['subscriptions', 'messages', 'claims'],
                methods=['POST', 'GET', 'DELETE'],
                expires='2099-01-31T10:20:30.123456+01:00')
    assert doc['paths'] == ['/v2/queues/q1/claims', '/v2/queues/q1/messages',
                            '/v2/queues/q1/subscriptions']
    assert doc['methods'] == ['DELETE', 'GET', 'POST']
    assert doc['expires'] == '2099-01-31T09:20:30'
    grant = signed_urls.grant(doc['paths'], doc['methods'], 'project-a',
                              doc['expires'])
    assert doc['signature'] == signed_urls.signature(KEY, grant)


@pytest.mark.parametrize('body', [
    {'dummy': 'meh'}, {'project_id': 'other'},
    {'expires': 'wrong date format'}, {'expires': '1700000000'},
    {'expires': 1700000000}, {'expires': '2015-01-01T00:00:00'},
    {'methods': 'GET'}, {'methods': ['get']}, {'methods': ['TRACE']},
    {'paths': ['notallowed']}, {'paths': '/v2/queues/q1/messages'},
    {'paths': ['../q2/messages']}, [], 'x',
])
def test_invalid_share_requests_are_400(api: Api, body: Any) -> None:
    assert_error(api.post(SHARE, json=body), 400)


def test_share_is_400_while_no_secret_key_is_set(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    api = make_api()
    conf.clear_override('secret_key', group='signed_url')
    resp = make_api().post(SHARE, json={})
    assert_error(resp, 400)
    assert 'secret_key' in resp.json['description']
    assert api.post(SHARE, json={}).status_code == 200  # built with the key


def test_share_follows_its_policy_rule(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api],
        tmp_path: Any) -> None:
    from oslo_policy import opts as policy_opts
    for group, opts in policy_opts.list_opts():
        conf.register_opts(opts, group=group)
    (tmp_path / 'policy.yaml').write_text('"queues:share": "role:admin"\n')
    conf.set_override('policy_file', str(tmp_path / 'policy.yaml'),
                      group='oslo_policy')
    api = make_api()
    assert_error(api.post(SHARE, json={}), 403)
    assert api.post(SHARE, json={}, headers={'X-Roles': 'admin'}) \
        .status_code == 200


# -- using a signed URL ------------------------------------------------------------

def test_a_signed_url_allows_its_methods_on_its_paths_without_identity(
        api: Api) -> None:
    (mid,) = api.post_messages('q1', {'n': 1})
    headers = signed_headers(share(api, methods=['GET', 'POST', 'DELETE']))
    listed = anonymous(api, 'GET', '/v2/queues/q1/messages', headers,
                       params={'echo': 'true'})
    assert listed.status_code == 200
    assert [m['id'] for m in listed.json['messages']] == [mid]
    assert anonymous(api, 'GET', '/v2/queues/q1/messages/' + mid,
                     headers).json['body'] == {'n': 1}
    posted = anonymous(api, 'POST', '/v2/queues/q1/messages', headers,
                       json={'messages': [{'body': 'from a signed URL'}]})
    assert posted.status_code == 201
    assert anonymous(api, 'DELETE', '/v2/queues/q1/messages/' + mid,
                     headers).status_code == 204
    bodies = [m['body'] for m in api.get('/v2/queues/q1/messages',
                                         params={'echo': 'true'}).json[
                                             'messages']]
    assert bodies == ['from a signed URL']  # stored in the signed project


@pytest.mark.parametrize('method, path', [
    ('PUT', '/v2/queues/q1'),                  # the queue itself
    ('GET', '/v2/queues/q1'),
    ('GET', '/v2/queues'),
    ('GET', '/v2/queues/q1/stats'),
    ('POST', '/v2/queues/q1/share'),           # no signing more URLs
    ('POST', '/v2/queues/q1/purge'),
    ('GET', '/v2/queues/q2/messages'),         # another queue
    ('GET', '/v2/queues/q1x/messages'),
    ('GET', '/v2/queues/q1/subscriptions'),    # a path not signed
    ('GET', '/v2/queues/q1/claims/0c5a3c1e-5d5b-4c36-9a8e-6a4a9e0c1f22'),
    ('DELETE', '/v2/queues/q1/messages'),      # a method not signed
    ('PATCH', '/v2/queues/q1/messages'),
])
def test_a_signed_url_allows_nothing_else(api: Api, method: str,
                                          path: str) -> None:
    headers = signed_headers(share(api, methods=['GET', 'POST']))
    assert_error(anonymous(api, method, path, headers, json={}), 404)


@pytest.mark.parametrize('header, value', [
    ('X-Project-Id', 'project-b'),             # another project
    ('URL-Paths', '/v2/queues/q2/messages'),   # another queue
    ('URL-Methods', 'DELETE,GET'),
    ('URL-Expires', '2099-01-01T00:00:00'),
    ('URL-Signature', '0' * 64),
    ('URL-Signature', 'not hex'),
    ('URL-Expires', 'not a date'),
    ('URL-Methods', ''),
])
def test_a_tampered_signed_url_is_404(api: Api, header: str,
                                      value: str) -> None:
    api.as_project('project-b').post_messages('q2', 'b-secret')
    headers = signed_headers(share(api, methods=['GET']))
    headers[header] = value
    path = '/v2/queues/%s/messages' % (
        'q2' if value.startswith('/v2/queues/q2') else 'q1')
    resp = anonymous(api, 'GET', path, headers)
    assert_error(resp, 404)
    assert 'b-secret' not in resp.text


def test_an_expired_signed_url_is_404(api: Api) -> None:
    past = signed_urls.format_expiry(signed_urls.utcnow()
                                     - datetime.timedelta(seconds=1))
    grant = signed_urls.grant(['/v2/queues/q1/messages'], ['GET'],
                              'project-a', past)
    headers = dict(signed_urls.headers(KEY, grant),
                   **{'Client-ID': str(uuid.uuid4())})
    resp = anonymous(api, 'GET', '/v2/queues/q1/messages', headers)
    assert_error(resp, 404)
    assert 'expired' in resp.json['description']


def test_a_signature_made_with_another_key_is_404(api: Api) -> None:
    grant = signed_urls.grant(['/v2/queues/q1/messages'], ['GET'],
                              'project-a', '2099-01-01T00:00:00')
    headers = dict(signed_urls.headers('another key', grant),
                   **{'Client-ID': str(uuid.uuid4())})
    assert_error(anonymous(api, 'GET', '/v2/queues/q1/messages', headers),
                 404)


def test_signed_requests_are_404_while_no_secret_key_is_set(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    headers = signed_headers(share(make_api()))
    conf.clear_override('secret_key', group='signed_url')
    api = make_api()
    assert_error(anonymous(api, 'GET', '/v2/queues/q1/messages', headers),
                 404)


def test_a_signed_request_still_needs_a_client_id(api: Api) -> None:
    headers = signed_headers(share(api))
    del headers['Client-ID']
    assert_error(anonymous(api, 'GET', '/v2/queues/q1/messages', headers),
                 400)
