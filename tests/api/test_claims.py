"""Claims: create (201 / 204), show, renew, release."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from oslo_config import cfg

from .support import Api, assert_error

C = '/v2/queues/q1/claims'


def claim_id_of(resp: Any) -> str:
    return resp.headers['location'].rsplit('/', 1)[1]


def test_claim_returns_201_messages_with_claim_href_and_location(
        api: Api) -> None:
    ids = api.post_messages('q1', 'a', 'b')
    resp = api.claim('q1')
    assert resp.status_code == 201
    claim_id = claim_id_of(resp)
    assert resp.headers['location'] == C + '/' + claim_id
    messages = resp.json['messages']
    assert [m['id'] for m in messages] == ids
    assert messages[0] == {
        'id': ids[0], 'body': 'a', 'ttl': 3600, 'age': messages[0]['age'],
        'href': '/v2/queues/q1/messages/%s?claim_id=%s' % (ids[0], claim_id)}


def test_claim_with_nothing_to_claim_is_204_without_body(api: Api) -> None:
    resp = api.claim('q1')
    assert resp.status_code == 204
    assert resp.text == ''
    api.post_messages('q1', 'a')
    assert api.claim('q1').status_code == 201
    assert api.claim('q1').status_code == 204


def test_claim_takes_at_most_limit_messages_oldest_first(api: Api) -> None:
    ids = api.post_messages('q1', *range(5))
    first = api.claim('q1', limit=2).json['messages']
    second = api.claim('q1', limit=2).json['messages']
    assert [m['id'] for m in first + second] == ids[:4]


def test_claim_without_body_or_with_null_fields_uses_defaults(
        api: Api) -> None:
    api.post_messages('q1', 'a', 'b')
    resp = api.post(C, params={'limit': '1'})
    assert resp.status_code == 201
    claim = api.get(resp.headers['location']).json
    assert (claim['ttl'], claim['grace']) == (300, 60)
    resp = api.post(C, json={'ttl': None, 'grace': None})
    assert api.get(resp.headers['location']).json['ttl'] == 300


def test_claim_without_limit_takes_default_messages_per_claim(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    conf.set_override('default_messages_per_claim', 2, group='limits')
    api = make_api()
    api.post_messages('q1', *range(4))
    resp = api.post(C, json={'ttl': 60})
    assert len(resp.json['messages']) == 2


@pytest.mark.parametrize('query, body', [
    ('limit=0', {}), ('limit=21', {}), ('limit=x', {}), ('limit=-1', {}),
    ('', {'ttl': 59}), ('', {'ttl': 43201}), ('', {'ttl': '60'}),
    ('', {'grace': 59}), ('', {'grace': 43201}), ('', {'grace': [60]}),
    ('', [60]), ('', 'ttl'),
])
def test_claim_refuses_invalid_parameters_and_claims_nothing(
        api: Api, query: str, body: Any) -> None:
    api.post_messages('q1', 'a')
    assert_error(api.post(C, query_string=query, json=body), 400)
    assert api.claim('q1').status_code == 201


def test_claim_limits_follow_the_options(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    conf.set_override('max_claim_ttl', 100, group='limits')
    conf.set_override('min_claim_grace', 10, group='limits')
    api = make_api()
    api.post_messages('q1', 'a')
    assert_error(api.claim('q1', ttl=101), 400)
    assert api.claim('q1', ttl=100, grace=10).status_code == 201


def test_get_claim_shows_ttl_grace_age_href_and_messages(api: Api) -> None:
    (mid,) = api.post_messages('q1', 'a')
    created = api.claim('q1', ttl=120, grace=90)
    assert created.status_code == 201, created.text
    location = created.headers['location']
    resp = api.get(location)
    assert resp.status_code == 200
    claim = resp.json
    assert (claim['ttl'], claim['grace'], claim['href']) == (120, 90,
                                                             location)
    assert 0 <= claim['age'] <= 5
    assert [m['id'] for m in claim['messages']] == [mid]
    assert claim['messages'][0]['href'].endswith(
        '?claim_id=' + location.rsplit('/', 1)[1])


def test_get_unknown_claim_is_404(api: Api) -> None:
    assert_error(api.get(C + '/unknown'), 404)


def test_patch_renews_claim(api: Api) -> None:
    api.post_messages('q1', 'a')
    location = api.claim('q1', ttl=60).headers['location']
    resp = api.patch(location, json={'ttl': 600, 'grace': 120})
    assert resp.status_code == 204
    claim = api.get(location).json
    assert (claim['ttl'], claim['grace']) == (600, 120)


def test_patch_of_unknown_claim_is_404(api: Api) -> None:
    assert_error(api.patch(C + '/unknown', json={'ttl': 60}), 404)


@pytest.mark.parametrize('body', [None, {'ttl': 10}, {'ttl': 'long'}, [1]])
def test_patch_refuses_invalid_or_missing_body(api: Api, body: Any) -> None:
    api.post_messages('q1', 'a')
    location = api.claim('q1', ttl=60).headers['location']
    assert_error(api.patch(location, json=body), 400)
    assert api.get(location).json['ttl'] == 60


def test_delete_releases_messages_for_other_claims(api: Api) -> None:
    api.post_messages('q1', 'a')
    location = api.claim('q1').headers['location']
    assert api.claim('q1').status_code == 204
    assert api.delete(location).status_code == 204
    assert_error(api.get(location), 404)
    assert api.claim('q1').status_code == 201
    assert api.delete(location).status_code == 204


def test_claims_of_another_project_are_invisible(api: Api) -> None:
    api.post_messages('q1', 'a')
    location = api.claim('q1').headers['location']
    other = api.as_project('project-b')
    assert other.claim('q1').status_code == 204
    assert_error(other.get(location), 404)
    assert_error(other.patch(location, json={'ttl': 60}), 404)
