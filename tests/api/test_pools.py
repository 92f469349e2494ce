"""The pools and flavors admin API: Zaqar v2's documents and statuses,
over real SQLite pools, and queues placed by it."""

from __future__ import annotations

import pathlib

import pytest
from oslo_config import cfg

from bridge.storage.base import Storage

from .support import Api, assert_error

ADMIN = {'X-Roles': 'admin'}


@pytest.fixture
def admin(api: Api) -> Api:
    api.headers.update(ADMIN)
    return api


def pool_url(tmp_path: pathlib.Path, name: str) -> str:
    return 'sqlite:///%s' % (tmp_path / ('%s.sqlite' % name))


def test_a_registered_pool_is_shown_as_zaqar_shows_it(
        admin: Api, tmp_path: pathlib.Path) -> None:
    uri = pool_url(tmp_path, 'one')
    resp = admin.put('/v2/pools/one', json={'uri': uri, 'weight': 10,
                                            'options': {'a': 1}})
    assert resp.status_code == 201
    assert resp.headers['Location'] == '/v2/pools/one'
    shown = admin.get('/v2/pools/one').json
    assert shown == {'name': 'one', 'uri': uri, 'weight': 10,
                     'flavor': None, 'href': '/v2/pools/one'}
    detailed = admin.get('/v2/pools/one', params={'detailed': 'true'}).json
    assert detailed['options'] == {'a': 1}


def test_pools_are_listed_by_name_with_a_next_link(
        admin: Api, tmp_path: pathlib.Path) -> None:
    for name in ('b', 'a', 'c'):
        assert admin.put('/v2/pools/' + name, json={
            'uri': pool_url(tmp_path, name), 'weight': 1}).status_code == 201
    page = admin.get('/v2/pools', params={'limit': '2'}).json
    assert [p['name'] for p in page['pools']] == ['a', 'b']
    assert page['pools'][0]['href'] == '/v2/pools/a'
    next_href = page['links'][0]['href']
    assert page['links'][0]['rel'] == 'next' and 'marker=b' in next_href
    rest = admin.get('/v2/pools', params={'marker': 'b'}).json
    assert [p['name'] for p in rest['pools']] == ['c']
    assert admin.get('/v2/pools', params={'marker': 'c'}).json == {
        'pools': [], 'links': []}


def test_pool_registration_errors(admin: Api,
                                  tmp_path: pathlib.Path) -> None:
    good = {'uri': pool_url(tmp_path, 'p'), 'weight': 1}
    assert admin.put('/v2/pools/p', json=good).status_code == 201
    assert_error(admin.put('/v2/pools/p', json=good), 409)
    assert_error(admin.put('/v2/pools/q', json={'weight': 1}), 400)
    assert_error(admin.put('/v2/pools/q', json=dict(good, weight=-1)), 400)
    assert_error(admin.put('/v2/pools/q', json=dict(good, extra=1)), 400)
    assert_error(admin.put('/v2/pools/bad.name', json=good), 400)
    assert_error(admin.put('/v2/pools/q', json={
        'uri': 'postgresql://postgres@127.0.0.1:1/nowhere', 'weight': 1}),
        400)
    assert_error(admin.put('/v2/pools/q', json={
        'uri': 'redis://127.0.0.1/0', 'weight': 1}), 400)
    assert_error(admin.get('/v2/pools/q'), 404)
    assert_error(admin.get('/v2/pools', params={'limit': '1000'}), 400)


def test_patch_changes_a_pool_and_answers_with_it(
        admin: Api, tmp_path: pathlib.Path) -> None:
    admin.put('/v2/pools/p', json={'uri': pool_url(tmp_path, 'p'),
                                   'weight': 1})
    resp = admin.patch('/v2/pools/p', json={'weight': 20})
    assert resp.status_code == 200
    assert resp.json['weight'] == 20 and resp.json['href'] == '/v2/pools/p'
    assert admin.get('/v2/pools/p').json['weight'] == 20
    assert_error(admin.patch('/v2/pools/p', json={'nothing': 1}), 400)
    assert_error(admin.patch('/v2/pools/zz', json={'weight': 1}), 404)


def test_only_admins_manage_pools_and_flavors(api: Api) -> None:
    assert_error(api.get('/v2/pools'), 403)
    assert_error(api.put('/v2/pools/p', json={'uri': 'sqlite://',
                                              'weight': 1}), 403)
    assert_error(api.put('/v2/flavors/f', json={'pool_list': ['p']}), 403)
    assert api.get('/v2/flavors').status_code == 200


def test_flavors_group_pools_and_show_zaqar_documents(
        admin: Api, tmp_path: pathlib.Path) -> None:
    for name in ('p1', 'p2'):
        admin.put('/v2/pools/' + name, json={
            'uri': pool_url(tmp_path, name), 'weight': 1})
    resp = admin.put('/v2/flavors/gold', json={'pool_list': ['p1']})
    assert resp.status_code == 201
    shown = admin.get('/v2/flavors/gold').json
    assert shown['name'] == 'gold' and shown['pool_list'] == ['p1']
    assert shown['href'] == '/v2/flavors/gold'
    assert 'FIFO' in shown['capabilities']
    assert admin.get('/v2/pools/p1').json['flavor'] == 'gold'
    patched = admin.patch('/v2/flavors/gold', json={'pool_list': ['p2']})
    assert patched.status_code == 200 and patched.json['pool_list'] == ['p2']
    assert admin.get('/v2/pools/p1').json['flavor'] is None
    listed = admin.get('/v2/flavors').json
    assert [(f['name'], f['pool_list']) for f in listed['flavors']] == [
        ('gold', ['p2'])]
    assert_error(admin.delete('/v2/pools/p2'), 403)  # used by gold
    assert admin.delete('/v2/flavors/gold').status_code == 204
    assert admin.get('/v2/pools/p2').json['flavor'] is None
    assert_error(admin.get('/v2/flavors/gold'), 404)
    assert admin.delete('/v2/pools/p2').status_code == 204
    assert_error(admin.get('/v2/pools/p2'), 404)


def test_flavor_errors(admin: Api) -> None:
    assert_error(admin.put('/v2/flavors/f', json={'pool_list': []}), 400)
    assert_error(admin.put('/v2/flavors/f', json={}), 400)
    assert_error(admin.put('/v2/flavors/f', json={'pool_list': ['nope']}),
                 400)
    assert_error(admin.patch('/v2/flavors/f', json={'pool_list': ['x']}),
                 404)


def test_queues_go_to_the_pool_of_their_flavor(
        admin: Api, storage: Storage, conf: cfg.ConfigOpts,
        tmp_path: pathlib.Path) -> None:
    admin.put('/v2/pools/plain', json={'uri': pool_url(tmp_path, 'plain'),
                                       'weight': 1})
    admin.put('/v2/pools/fast', json={'uri': pool_url(tmp_path, 'fast'),
                                      'weight': 1})
    admin.put('/v2/flavors/fast', json={'pool_list': ['fast']})
    tenant = admin.as_project('tenant')
    assert tenant.put('/v2/queues/q1',
                      json={'_flavor': 'fast'}).status_code == 201
    tenant.post_messages('q1', 'hello')
    tenant.post_messages('q2', 'lazy')
    catalog = storage.catalog()
    assert catalog.placement('tenant', 'q1') == 'fast'
    assert catalog.placement('tenant', 'q2') == 'plain'
    assert [q['name'] for q in tenant.get('/v2/queues').json['queues']] == [
        'q1', 'q2']
    assert_error(tenant.put('/v2/queues/q3', json={'_flavor': 'nope'}), 400)
    assert_error(admin.delete('/v2/pools/plain'), 403)  # q2 lives there
    assert tenant.delete('/v2/queues/q2').status_code == 204
    assert admin.delete('/v2/pools/plain').status_code == 204


def test_a_dead_letter_queue_must_share_its_queues_pool(
        admin: Api, tmp_path: pathlib.Path) -> None:
    admin.put('/v2/pools/a', json={'uri': pool_url(tmp_path, 'a'),
                                   'weight': 1})
    admin.put('/v2/pools/b', json={'uri': pool_url(tmp_path, 'b'),
                                   'weight': 1})
    admin.put('/v2/flavors/fa', json={'pool_list': ['a']})
    admin.put('/v2/flavors/fb', json={'pool_list': ['b']})
    assert admin.put('/v2/queues/dead', json={'_flavor': 'fb'}) \
        .status_code == 201
    assert_error(admin.put('/v2/queues/src', json={
        '_flavor': 'fa', '_dead_letter_queue': 'dead'}), 409)
    assert admin.put('/v2/queues/src2', json={
        '_flavor': 'fb', '_dead_letter_queue': 'dead'}).status_code == 201


def test_a_queue_naming_an_unknown_flavor_is_refused_even_without_pools(
        api: Api) -> None:
    assert_error(api.put('/v2/queues/q', json={'_flavor': 'gold'}), 400)
    assert_error(api.put('/v2/queues/q', json={'_flavor': 7}), 400)
    assert api.put('/v2/queues/q', json={'_flavor': None}).status_code == 201
