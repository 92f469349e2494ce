"""Messages: post, list, get by id(s), delete by id(s) with claim rules,
pop."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest
from oslo_config import cfg

from .support import Api, assert_error

Q = '/v2/queues/q1/messages'
OTHER_CLAIM = '0c5a3c1e-5d5b-4c36-9a8e-6a4a9e0c1f22'  # well formed, not held


def next_href(resp: Any) -> str:
    (link,) = resp.json['links']
    assert link['rel'] == 'next'
    return link['href']


def follow(api: Api, href: str) -> Any:
    path, _, query = href.partition('?')
    return api.get(path, query_string=query)


# -- post ---------------------------------------------------------------------

def test_post_returns_201_with_resources_and_location_and_creates_queue(
        api: Api) -> None:
    resp = api.post(Q, json={'messages': [{'body': {'event': 'a'}},
                                          {'body': 'b', 'ttl': 120}]})
    assert resp.status_code == 201
    hrefs = resp.json['resources']
    assert len(hrefs) == 2 and all(h.startswith(Q + '/') for h in hrefs)
    ids = [h.rsplit('/', 1)[1] for h in hrefs]
    assert resp.headers['location'] == Q + '?ids=' + ','.join(ids)
    assert api.head('/v2/queues/q1').status_code == 204


def test_posted_message_reads_back_with_zaqar_fields(api: Api) -> None:
    (mid,) = api.post_messages('q1', {'x': [1, 2]}, ttl=300)
    resp = api.get(Q + '/' + mid)
    assert resp.status_code == 200
    assert resp.json == {'id': mid, 'href': Q + '/' + mid, 'ttl': 300,
                         'age': resp.json['age'], 'body': {'x': [1, 2]}}
    assert 0 <= resp.json['age'] <= 5


def test_ttl_and_delay_default_to_queue_metadata_then_options(
        api: Api) -> None:
    api.put('/v2/queues/q1', json={'_default_message_ttl': 777,
                                   '_default_message_delay': 30})
    (mid,) = api.post_messages('q1', 'delayed')
    assert api.get(Q + '/' + mid).json['ttl'] == 777
    visible = api.get(Q, params={'echo': 'true'}).json['messages']
    assert visible == []
    delayed = api.get(Q, params={'echo': 'true', 'include_delayed': 'true'})
    assert [m['id'] for m in delayed.json['messages']] == [mid]
    (other,) = api.post_messages('q2', 'plain')
    assert api.get('/v2/queues/q2/messages/' + other).json['ttl'] == 3600


@pytest.mark.parametrize('document', [
    {},
    {'messages': []},
    {'messages': {'body': 1}},
    {'messages': [{'ttl': 60}]},
    {'messages': ['body']},
    {'messages': [{'body': 1, 'ttl': 59}]},
    {'messages': [{'body': 1, 'ttl': 1209601}]},
    {'messages': [{'body': 1, 'ttl': '60'}]},
    {'messages': [{'body': 1, 'ttl': 60.5}]},
    {'messages': [{'body': 1, 'ttl': True}]},
    {'messages': [{'body': 1, 'delay': -1}]},
    {'messages': [{'body': 1, 'delay': 901}]},
    {'messages': [{'body': 1}, {'body': 2, 'ttl': 0}]},
    [{'body': 1}],
])
def test_post_refuses_invalid_documents_and_stores_nothing(
        api: Api, document: Any) -> None:
    assert_error(api.post(Q, json=document), 400)
    stats = api.get('/v2/queues/q1/stats').json['messages']
    assert stats['total'] == 0


def test_post_without_body_is_400(api: Api) -> None:
    assert_error(api.post(Q), 400)


def test_post_size_is_limited_by_option_and_by_queue_metadata(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    conf.set_override('max_messages_post_size', 1000, group='limits')
    api = make_api()
    big = {'messages': [{'body': 'x' * 1000}]}
    assert_error(api.post(Q, json=big), 400)
    small = {'messages': [{'body': 'x' * 200}]}
    assert api.post(Q, json=small).status_code == 201
    api.put('/v2/queues/q2', json={'_max_messages_post_size': 100})
    assert_error(api.post('/v2/queues/q2/messages', json=small), 400)


def test_body_over_max_request_body_is_413_before_reading(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    conf.set_override('max_request_body', 500, group='limits')
    api = make_api()
    resp = api.post(Q, json={'messages': [{'body': 'x' * 600}]})
    assert_error(resp, 413)


def test_chunked_body_over_max_request_body_is_413(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    conf.set_override('max_request_body', 500, group='limits')
    api = make_api()
    body = json.dumps({'messages': [{'body': 'x' * 600}]}).encode()
    resp = api.post(Q, body=body, headers={'Transfer-Encoding': 'chunked'},
                    extras={'CONTENT_LENGTH': ''})
    assert_error(resp, 413)


# -- list -------------------------------------------------------------------

def test_list_hides_own_messages_unless_echo(api: Api) -> None:
    api.post_messages('q1', 'mine')
    assert api.get(Q).json == {'messages': [], 'links': []}
    other = api.as_client()
    assert [m['body'] for m in other.get(Q).json['messages']] == ['mine']
    assert [m['body'] for m in api.get(Q, params={'echo': 'true'})
            .json['messages']] == ['mine']


def test_list_of_missing_queue_is_200_and_empty(api: Api) -> None:
    resp = api.get('/v2/queues/nope/messages')
    assert resp.status_code == 200
    assert resp.json == {'messages': [], 'links': []}


def test_paging_with_next_links_returns_every_message_once(
        api: Api) -> None:
    ids = api.post_messages('q1', *range(7))
    reader = api.as_client()
    seen: list[str] = []
    resp = reader.get(Q, params={'limit': '3'})
    while resp.json['messages']:
        seen += [m['id'] for m in resp.json['messages']]
        last_next = next_href(resp)
        resp = follow(reader, last_next)
    assert seen == ids
    assert resp.json['links'] == []
    later = api.post_messages('q1', 'late')
    resumed = follow(reader, last_next)
    assert [m['id'] for m in resumed.json['messages']] == later


def test_list_excludes_claimed_unless_include_claimed(api: Api) -> None:
    api.post_messages('q1', 1, 2)
    claim_id = api.claim('q1', limit=1).headers['location'].rsplit('/', 1)[1]
    reader = api.as_client()
    assert [m['body'] for m in reader.get(Q).json['messages']] == [2]
    listed = reader.get(Q, params={'include_claimed': 'true'}).json
    assert [m['body'] for m in listed['messages']] == [1, 2]
    assert listed['messages'][0]['href'].endswith('?claim_id=' + claim_id)
    assert 'include_claimed=true' in next_href(
        reader.get(Q, params={'include_claimed': 'true'}))


@pytest.mark.parametrize('query', ['limit=0', 'limit=21', 'limit=-5',
                                   'limit=abc', 'echo=maybe',
                                   'include_claimed=2'])
def test_list_refuses_bad_parameters(api: Api, query: str) -> None:
    assert_error(api.get(Q, query_string=query), 400)


def test_list_limit_follows_max_messages_per_page(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    conf.set_override('max_messages_per_page', 2, group='limits')
    conf.set_override('default_messages_per_page', 1, group='limits')
    api = make_api()
    api.post_messages('q1', 1, 2, 3)
    assert len(api.get(Q, params={'echo': 'true'}).json['messages']) == 1
    assert_error(api.get(Q, params={'limit': '3'}), 400)


# -- get by id(s) -----------------------------------------------------------

def test_get_by_ids_returns_found_messages_in_order(api: Api) -> None:
    a, b = api.post_messages('q1', 'a', 'b')
    resp = api.get(Q, params={'ids': ','.join([b, 'unknown', a])})
    assert resp.status_code == 200
    assert [m['id'] for m in resp.json['messages']] == [b, a]
    assert 'links' not in resp.json


def test_get_by_ids_with_none_found_is_404(api: Api) -> None:
    api.post_messages('q1', 'a')
    assert_error(api.get(Q, params={'ids': 'unknown'}), 404)


def test_get_single_unknown_message_is_404(api: Api) -> None:
    assert_error(api.get(Q + '/unknown'), 404)
    assert_error(api.get('/v2/queues/nope/messages/unknown'), 404)


@pytest.mark.parametrize('ids', [',', ', ,', ','.join('m%d' % i
                                                      for i in range(21))])
def test_get_by_ids_needs_one_to_max_messages_per_page_ids(
        api: Api, ids: str) -> None:
    assert_error(api.get(Q, query_string='ids=' + ids), 400)


def test_message_of_another_project_is_not_visible(api: Api) -> None:
    (mid,) = api.post_messages('q1', 'secret')
    other = api.as_project('project-b')
    assert_error(other.get(Q + '/' + mid), 404)
    assert_error(other.get(Q, params={'ids': mid}), 404)
    assert other.delete(Q + '/' + mid).status_code == 204
    assert api.get(Q + '/' + mid).status_code == 200


# -- delete -------------------------------------------------------------------

def test_delete_unclaimed_message_is_204_and_unknown_is_204_too(
        api: Api) -> None:
    (mid,) = api.post_messages('q1', 'a')
    assert api.delete(Q + '/' + mid).status_code == 204
    assert_error(api.get(Q + '/' + mid), 404)
    assert api.delete(Q + '/' + mid).status_code == 204


def test_claimed_message_needs_its_claim_id_to_be_deleted(api: Api) -> None:
    (mid,) = api.post_messages('q1', 'a')
    claim = api.claim('q1')
    claim_id = claim.headers['location'].rsplit('/', 1)[1]
    assert_error(api.delete(Q + '/' + mid), 403)
    assert_error(api.delete(Q + '/' + mid, params={'claim_id': OTHER_CLAIM}),
                 403)
    href = claim.json['messages'][0]['href']
    path, _, query = href.partition('?')
    assert query == 'claim_id=' + claim_id
    assert api.delete(path, query_string=query).status_code == 204
    assert_error(api.get(Q + '/' + mid), 404)


def test_delete_with_claim_id_of_unclaimed_message_is_403(api: Api) -> None:
    (mid,) = api.post_messages('q1', 'a')
    assert_error(api.delete(Q + '/' + mid, params={'claim_id': OTHER_CLAIM}),
                 403)
    assert api.get(Q + '/' + mid).status_code == 200


@pytest.mark.parametrize('claim_id', ['c', 'other', 'not-a-uuid',
                                      OTHER_CLAIM + '0', "'; drop --"])
def test_delete_with_a_malformed_claim_id_is_400_as_in_zaqar(
        api: Api, claim_id: str) -> None:
    (mid,) = api.post_messages('q1', 'a')
    api.claim('q1')
    resp = api.delete(Q + '/' + mid, params={'claim_id': claim_id})
    assert_error(resp, 400)
    assert 'claim id' in resp.json['description']
    assert_error(api.delete(Q, params={'ids': mid, 'claim_ids': claim_id}),
                 400)
    assert api.get(Q + '/' + mid).status_code == 200


def test_delete_by_ids_deletes_all_listed(api: Api) -> None:
    a, b, c = api.post_messages('q1', 'a', 'b', 'c')
    assert api.delete(Q, params={'ids': '%s,%s' % (a, c)}).status_code == 204
    left = api.get(Q, params={'echo': 'true'}).json['messages']
    assert [m['id'] for m in left] == [b]


def test_delete_by_ids_refuses_claimed_messages_without_claim_ids(
        api: Api) -> None:
    a, b = api.post_messages('q1', 'a', 'b')
    claim_id = api.claim('q1', limit=1).headers['location'].rsplit('/', 1)[1]
    assert_error(api.delete(Q, params={'ids': '%s,%s' % (a, b)}), 403)
    assert api.get(Q + '/' + b).status_code == 200
    resp = api.delete(Q, params={'ids': '%s,%s' % (a, b),
                                 'claim_ids': claim_id})
    assert resp.status_code == 204
    assert api.get(Q, params={'echo': 'true',
                              'include_claimed': 'true'}).json['messages'] == []


def test_pop_removes_and_returns_oldest_messages(api: Api) -> None:
    a, b, _ = api.post_messages('q1', 'a', 'b', 'c')
    resp = api.delete(Q, params={'pop': '2'})
    assert resp.status_code == 200
    popped = resp.json['messages']
    assert [m['id'] for m in popped] == [a, b]
    assert set(popped[0]) == {'id', 'body', 'ttl', 'age', 'claim_count',
                              'claim_id'}
    assert popped[0]['body'] == 'a'
    assert len(api.get(Q, params={'echo': 'true'}).json['messages']) == 1


def test_pop_of_empty_queue_returns_empty_list(api: Api) -> None:
    resp = api.delete(Q, params={'pop': '1'})
    assert resp.status_code == 200
    assert resp.json == {'messages': []}


@pytest.mark.parametrize('query', ['', 'pop=1&ids=a', 'pop=0', 'pop=21',
                                   'pop=x', 'ids=', 'ids=,', 'pop='])
def test_bulk_delete_needs_exactly_one_valid_mode(api: Api,
                                                  query: str) -> None:
    api.post_messages('q1', 'a')
    assert_error(api.delete(Q, query_string=query), 400)
    assert len(api.get(Q, params={'echo': 'true'}).json['messages']) == 1


def test_pop_limit_follows_max_messages_per_claim_or_pop(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    conf.set_override('max_messages_per_claim_or_pop', 2, group='limits')
    api = make_api()
    assert_error(api.delete(Q, params={'pop': '3'}), 400)
    assert api.delete(Q, params={'pop': '2'}).status_code == 200
