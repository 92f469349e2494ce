"""Queues: create, show, list, metadata PATCH, delete, stats, purge."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest
from oslo_config import cfg

from .support import Api, assert_error

PATCH_TYPE = 'application/openstack-messaging-v2.0-json-patch'
DEFAULTS = {
    '_max_messages_post_size': 262144,
    '_default_message_ttl': 3600,
    '_default_message_delay': 0,
    '_dead_letter_queue': None,
    '_dead_letter_queue_messages_ttl': None,
    '_max_claim_count': None,
    '_enable_encrypt_messages': False,
}


def patch(api: Api, queue: str, operations: Any,
          content_type: str = PATCH_TYPE) -> Any:
    return api.patch('/v2/queues/' + queue,
                     headers={'Content-Type': content_type},
                     body=json.dumps(operations))


def test_put_creates_queue_201_then_204_and_keeps_first_metadata(
        api: Api) -> None:
    first = api.put('/v2/queues/q1', json={'description': 'one'})
    assert first.status_code == 201
    assert first.headers['location'] == '/v2/queues/q1'
    again = api.put('/v2/queues/q1', json={'description': 'two'})
    assert again.status_code == 204
    assert api.get('/v2/queues/q1').json['description'] == 'one'


def test_put_without_body_creates_queue_with_empty_metadata(api: Api) -> None:
    assert api.put('/v2/queues/q1').status_code == 201
    assert api.get('/v2/queues/q1').json == DEFAULTS


def test_get_shows_metadata_with_reserved_defaults_filled_in(
        api: Api) -> None:
    api.put('/v2/queues/q1', json={'a': 1, '_default_message_ttl': 120})
    assert api.get('/v2/queues/q1').json == dict(
        DEFAULTS, a=1, _default_message_ttl=120)


def test_get_of_missing_queue_is_200_with_defaults_because_queues_are_lazy(
        api: Api) -> None:
    resp = api.get('/v2/queues/never-created')
    assert resp.status_code == 200
    assert resp.json == DEFAULTS


def test_head_tells_whether_queue_exists(api: Api) -> None:
    assert api.head('/v2/queues/q1').status_code == 404
    api.put('/v2/queues/q1')
    assert api.head('/v2/queues/q1').status_code == 204


@pytest.mark.parametrize('metadata', [
    {'_default_message_ttl': 59},
    {'_default_message_ttl': 1209601},
    {'_default_message_ttl': '3600'},
    {'_default_message_ttl': True},
    {'_max_messages_post_size': 0},
    {'_max_messages_post_size': 262145},
    {'_default_message_delay': -1},
    {'_default_message_delay': 901},
    {'_max_claim_count': 0},
    {'_dead_letter_queue': 'bad name'},
    {'_dead_letter_queue': 5},
    {'_dead_letter_queue_messages_ttl': 1},
    {'_enable_encrypt_messages': 'true'},
    {'_enable_encrypt_messages': 1},
    [1, 2],
    'text',
])
def test_put_refuses_invalid_metadata(api: Api, metadata: Any) -> None:
    assert_error(api.put('/v2/queues/q1', json=metadata), 400)
    assert api.head('/v2/queues/q1').status_code == 404


def test_put_refuses_metadata_larger_than_max_queue_metadata(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    conf.set_override('max_queue_metadata', 100, group='limits')
    api = make_api()
    assert_error(api.put('/v2/queues/q1', json={'d': 'x' * 100}), 400)
    assert api.put('/v2/queues/q1', json={'d': 'x'}).status_code == 201


def test_dead_letter_metadata_is_accepted(api: Api) -> None:
    metadata = {'_max_claim_count': 2, '_dead_letter_queue': 'dlq',
                '_dead_letter_queue_messages_ttl': 600}
    assert api.put('/v2/queues/q1', json=metadata).status_code == 201
    assert api.get('/v2/queues/q1').json == dict(DEFAULTS, **metadata)


def test_every_reserved_key_zaqar_shows_is_shown_with_its_default(
        api: Api) -> None:
    assert sorted(api.get('/v2/queues/q1').json) == sorted([
        '_default_message_ttl', '_max_messages_post_size',
        '_default_message_delay', '_dead_letter_queue',
        '_dead_letter_queue_messages_ttl', '_max_claim_count',
        '_enable_encrypt_messages'])
    api.put('/v2/queues/q1')
    listed = api.get('/v2/queues', params={'detailed': 'true'}).json
    assert listed['queues'][0]['metadata'] == DEFAULTS


def test_encryption_flag_is_accepted_shown_and_patched(api: Api) -> None:
    assert api.put('/v2/queues/q1', json={'_enable_encrypt_messages': True}) \
        .status_code == 201
    assert api.get('/v2/queues/q1').json['_enable_encrypt_messages'] is True
    resp = patch(api, 'q1', [{'op': 'replace',
                              'path': '/metadata/_enable_encrypt_messages',
                              'value': False}])
    assert resp.status_code == 200
    assert resp.json['_enable_encrypt_messages'] is False
    assert_error(patch(api, 'q1', [{
        'op': 'add', 'path': '/metadata/_enable_encrypt_messages',
        'value': 'yes'}]), 400)
    assert api.get('/v2/queues/q1').json['_enable_encrypt_messages'] is False


def test_delete_removes_queue_and_messages_and_is_idempotent(
        api: Api) -> None:
    api.post_messages('q1', 'm')
    assert api.delete('/v2/queues/q1').status_code == 204
    assert api.head('/v2/queues/q1').status_code == 404
    assert api.get('/v2/queues/q1/messages',
                   params={'echo': 'true'}).json['messages'] == []
    assert api.delete('/v2/queues/q1').status_code == 204


# -- listing ------------------------------------------------------------------

def test_list_pages_by_name_with_next_links_until_empty(api: Api) -> None:
    names = ['q%d' % i for i in range(5)]
    for name in names:
        api.put('/v2/queues/' + name)
    seen: list[str] = []
    path = '/v2/queues?limit=2'
    for _ in range(5):
        page = api.get(path.split('?')[0], query_string=path.split('?')[1])
        assert page.status_code == 200
        if not page.json['queues']:
            assert page.json['links'] == []
            break
        seen += [q['name'] for q in page.json['queues']]
        assert all(q['href'] == '/v2/queues/' + q['name']
                   for q in page.json['queues'])
        (link,) = page.json['links']
        assert link['rel'] == 'next'
        path = link['href']
    assert seen == names


def test_list_detailed_shows_metadata_and_count_when_asked(api: Api) -> None:
    api.put('/v2/queues/alpha', json={'k': 'v'})
    api.put('/v2/queues/beta')
    resp = api.get('/v2/queues', params={'detailed': 'true',
                                         'with_count': 'true'})
    assert resp.json['count'] == 2
    assert resp.json['queues'][0] == {
        'name': 'alpha', 'href': '/v2/queues/alpha',
        'metadata': dict(DEFAULTS, k='v')}
    plain = api.get('/v2/queues').json
    assert 'metadata' not in plain['queues'][0]
    assert 'count' not in plain


def test_list_filters_by_name(api: Api) -> None:
    for name in ('orders-eu', 'orders-us', 'billing'):
        api.put('/v2/queues/' + name)
    resp = api.get('/v2/queues', params={'name': 'orders',
                                         'with_count': 'true'})
    assert [q['name'] for q in resp.json['queues']] == ['orders-eu',
                                                          'orders-us']
    assert resp.json['count'] == 2


def test_list_with_no_queues_is_200_with_empty_lists(api: Api) -> None:
    resp = api.get('/v2/queues')
    assert resp.status_code == 200
    assert resp.json == {'queues': [], 'links': []}


def test_list_shows_only_the_callers_project(api: Api) -> None:
    api.put('/v2/queues/mine')
    api.as_project('project-b').put('/v2/queues/theirs')
    assert [q['name'] for q in api.get('/v2/queues').json['queues']] == \
        ['mine']


@pytest.mark.parametrize('limit', ['0', '-1', '21', 'x', '1.5', '%20'])
def test_list_refuses_limits_outside_one_to_max_queues_per_page(
        api: Api, limit: str) -> None:
    assert_error(api.get('/v2/queues', query_string='limit=' + limit), 400)


def test_blank_query_parameters_are_ignored_as_in_zaqar(api: Api) -> None:
    api.put('/v2/queues/q1')
    resp = api.get('/v2/queues', query_string='limit=&detailed=&marker=')
    assert resp.status_code == 200
    assert [q['name'] for q in resp.json['queues']] == ['q1']


def test_list_limit_follows_the_options(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    conf.set_override('max_queues_per_page', 3, group='limits')
    conf.set_override('default_queues_per_page', 2, group='limits')
    api = make_api()
    for i in range(4):
        api.put('/v2/queues/q%d' % i)
    assert len(api.get('/v2/queues').json['queues']) == 2
    assert len(api.get('/v2/queues', params={'limit': '3'})
               .json['queues']) == 3
    assert_error(api.get('/v2/queues', params={'limit': '4'}), 400)


# -- PATCH ------------------------------------------------------------------

def test_patch_adds_replaces_and_removes_metadata_keys(api: Api) -> None:
    api.put('/v2/queues/q1', json={'a': 1, 'b': 2})
    resp = patch(api, 'q1', [
        {'op': 'add', 'path': '/metadata/c', 'value': 3},
        {'op': 'replace', 'path': '/metadata/a', 'value': 10},
        {'op': 'remove', 'path': '/metadata/b'},
    ])
    assert resp.status_code == 200
    assert resp.json == dict(DEFAULTS, a=10, c=3)
    assert api.get('/v2/queues/q1').json == dict(DEFAULTS, a=10, c=3)


def test_patch_may_replace_or_remove_reserved_keys_that_are_not_set(
        api: Api) -> None:
    api.put('/v2/queues/q1')
    resp = patch(api, 'q1', [
        {'op': 'replace', 'path': '/metadata/_default_message_ttl',
         'value': 300},
        {'op': 'remove', 'path': '/metadata/_max_claim_count'},
    ])
    assert resp.status_code == 200
    assert resp.json['_default_message_ttl'] == 300


@pytest.mark.parametrize('operation', [
    {'op': 'replace', 'path': '/metadata/missing', 'value': 1},
    {'op': 'remove', 'path': '/metadata/missing'},
])
def test_patch_of_absent_key_is_409(api: Api, operation: Any) -> None:
    api.put('/v2/queues/q1')
    assert_error(patch(api, 'q1', [operation]), 409)


def test_patch_needs_the_json_patch_media_type(api: Api) -> None:
    api.put('/v2/queues/q1')
    resp = patch(api, 'q1', [{'op': 'add', 'path': '/metadata/a',
                              'value': 1}], content_type='application/json')
    assert_error(resp, 415)
    assert resp.headers['accept-patch'] == PATCH_TYPE


def test_patch_of_missing_queue_is_404(api: Api) -> None:
    resp = patch(api, 'nope', [{'op': 'add', 'path': '/metadata/a',
                                'value': 1}])
    assert_error(resp, 404)


@pytest.mark.parametrize('operations', [
    [],
    {'op': 'add'},
    ['add'],
    [{'op': 'move', 'path': '/metadata/a', 'value': 1}],
    [{'path': '/metadata/a', 'value': 1}],
    [{'op': 'add', 'path': '/a', 'value': 1}],
    [{'op': 'add', 'path': '/other/a', 'value': 1}],
    [{'op': 'add', 'path': '/metadata/a/b', 'value': 1}],
    [{'op': 'add', 'path': '/metadata/', 'value': 1}],
    [{'op': 'add', 'path': 'metadata/a', 'value': 1}],
    [{'op': 'add', 'path': '/metadata/a~2', 'value': 1}],
    [{'op': 'add', 'path': '/metadata/a'}],
    [{'op': 'add', 'path': 7, 'value': 1}],
    [{'op': {}, 'path': '/metadata/a', 'value': 1}],  # unhashable op
    [{'op': ['add'], 'path': '/metadata/a', 'value': 1}],
    [{'op': 'add', 'path': '/metadata/_default_message_ttl', 'value': 1}],
])
def test_patch_refuses_malformed_operations(api: Api, operations: Any) -> None:
    api.put('/v2/queues/q1', json={'a': 1})
    assert_error(patch(api, 'q1', operations), 400)
    assert api.get('/v2/queues/q1').json == dict(DEFAULTS, a=1)


def test_patch_with_empty_body_is_400(api: Api) -> None:
    api.put('/v2/queues/q1')
    resp = api.patch('/v2/queues/q1', headers={'Content-Type': PATCH_TYPE})
    assert_error(resp, 400)


# -- stats and purge --------------------------------------------------------

def test_stats_count_free_claimed_and_show_oldest_and_newest(
        api: Api) -> None:
    first, _, last = api.post_messages('q1', 1, 2, 3)
    api.claim('q1', limit=1)
    stats = api.get('/v2/queues/q1/stats').json['messages']
    assert (stats['free'], stats['claimed'], stats['total']) == (2, 1, 3)
    assert stats['oldest']['href'] == '/v2/queues/q1/messages/' + first
    assert stats['newest']['href'] == '/v2/queues/q1/messages/' + last
    assert stats['oldest']['age'] >= 0
    assert stats['oldest']['created'].endswith('Z')


def test_stats_of_missing_or_empty_queue_are_zeros(api: Api) -> None:
    stats = api.get('/v2/queues/nope/stats').json['messages']
    assert (stats['free'], stats['claimed'], stats['total']) == (0, 0, 0)
    assert 'oldest' not in stats and 'newest' not in stats


@pytest.mark.parametrize('body', [None, {'resource_types': ['messages']},
                                  {'resource_types': ['messages',
                                                      'subscriptions']}])
def test_purge_deletes_messages_and_keeps_queue(api: Api, body: Any) -> None:
    api.put('/v2/queues/q1', json={'k': 1})
    api.post_messages('q1', 1, 2)
    resp = api.post('/v2/queues/q1/purge', json=body)
    assert resp.status_code == 204
    assert api.get('/v2/queues/q1/stats').json['messages']['total'] == 0
    assert api.get('/v2/queues/q1').json['k'] == 1


def test_purge_of_both_resource_types_purges_messages_and_subscriptions(
        api: Api) -> None:
    api.post_messages('q1', 1, 2)
    for hook in ('http://93.184.216.34/a', 'http://93.184.216.34/b'):
        assert api.post('/v2/queues/q1/subscriptions',
                        json={'subscriber': hook}).status_code == 201
    api.post_messages('q2', 3)
    api.post('/v2/queues/q2/subscriptions',
             json={'subscriber': 'http://93.184.216.34/a'})
    resp = api.post('/v2/queues/q1/purge', json={
        'resource_types': ['messages', 'subscriptions']})
    assert resp.status_code == 204
    assert api.get('/v2/queues/q1/stats').json['messages']['total'] == 0
    assert api.get('/v2/queues/q1/subscriptions').json['subscriptions'] == []
    # Another queue of the project is untouched.
    assert api.get('/v2/queues/q2/stats').json['messages']['total'] == 1
    assert len(api.get('/v2/queues/q2/subscriptions')
               .json['subscriptions']) == 1


def test_purge_of_subscriptions_only_keeps_messages(api: Api) -> None:
    api.post_messages('q1', 1)
    resp = api.post('/v2/queues/q1/purge',
                    json={'resource_types': ['subscriptions']})
    assert resp.status_code == 204
    assert api.get('/v2/queues/q1/stats').json['messages']['total'] == 1


@pytest.mark.parametrize('body', [
    {}, {'resource_types': 'messages'}, {'resource_types': ['claims']},
    {'resource_types': [1]}, [], 'messages'])
def test_purge_refuses_unknown_resource_types(api: Api, body: Any) -> None:
    api.post_messages('q1', 1)
    assert_error(api.post('/v2/queues/q1/purge', json=body), 400)
    assert api.get('/v2/queues/q1/stats').json['messages']['total'] == 1


@pytest.mark.parametrize('name', ['.', '..', '%2E', '%2E%2E'])
def test_dot_segments_are_not_queue_names(api: Api, name: str) -> None:
    """Clients normalise "." and ".." away as path segments: such a queue
    could never be reached again."""
    assert_error(api.put('/v2/queues/' + name), 400)
    assert api.get('/v2/queues').json['queues'] == []


def test_names_with_dots_beside_other_characters_are_queue_names(
        api: Api) -> None:
    assert api.put('/v2/queues/.a').status_code == 201
    assert api.put('/v2/queues/a..b').status_code == 201


@pytest.mark.parametrize('name', ['q1%0A', 'q1%0D%0A', '%0Aq1'])
def test_queue_names_with_a_trailing_or_leading_newline_are_400(
        api: Api, name: str) -> None:
    assert_error(api.put('/v2/queues/' + name), 400)
