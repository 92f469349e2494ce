"""Topics (``/v2/topics``): the queue resources serving Zaqar v2's topic
routes, with the differences bridge.api.kinds states."""

from __future__ import annotations

import json
import pathlib
from typing import Callable

import falcon.inspect
import pytest
from oslo_config import cfg
from oslo_policy import opts as policy_opts

from bridge.api import app as api_app
from bridge.storage import namespaces
from bridge.storage.base import Storage

from .support import Api, assert_error

PATCH_TYPE = 'application/openstack-messaging-v2.0-json-patch'
TOPIC_DEFAULTS = {
    '_max_messages_post_size': 262144,
    '_default_message_ttl': 3600,
    '_default_message_delay': 0,
}


def test_put_creates_a_topic_201_then_204(api: Api) -> None:
    first = api.put('/v2/topics/news', json={'color': 'red'})
    assert first.status_code == 201
    assert first.headers['location'] == '/v2/topics/news'
    assert api.put('/v2/topics/news', json={'color': 'blue'}).status_code == 204
    assert api.get('/v2/topics/news').json == dict(TOPIC_DEFAULTS,
                                                   color='red')


def test_get_of_a_missing_topic_is_404_because_topics_are_not_lazy(
        api: Api) -> None:
    resp = api.get('/v2/topics/nothing')
    assert_error(resp, 404)
    assert resp.json['description'] == 'The topic does not exist.'


def test_a_topic_shows_only_its_three_reserved_keys(api: Api) -> None:
    api.put('/v2/topics/news')
    assert api.get('/v2/topics/news').json == TOPIC_DEFAULTS
    api.put('/v2/queues/news')
    assert '_max_claim_count' in api.get('/v2/queues/news').json


def test_topics_and_queues_are_listed_apart(api: Api) -> None:
    api.put('/v2/topics/news')
    api.put('/v2/queues/work')
    topics = api.get('/v2/topics', params={'detailed': 'true'}).json
    assert [t['name'] for t in topics['topics']] == ['news']
    assert topics['topics'][0]['href'] == '/v2/topics/news'
    assert topics['topics'][0]['metadata'] == TOPIC_DEFAULTS
    assert topics['links'][0]['href'].startswith('/v2/topics?')
    queues = api.get('/v2/queues').json['queues']
    assert [q['name'] for q in queues] == ['work']


def test_topic_list_pages_with_the_queue_limits(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api]) -> None:
    conf.set_override('max_queues_per_page', 2, group='limits')
    api = make_api()
    for name in ('a', 'b', 'c'):
        api.put('/v2/topics/' + name)
    page = api.get('/v2/topics', params={'limit': 2}).json
    assert [t['name'] for t in page['topics']] == ['a', 'b']
    assert_error(api.get('/v2/topics', params={'limit': 3}), 400)
    rest = api.get(page['links'][0]['href']).json
    assert [t['name'] for t in rest['topics']] == ['c']


def test_patch_updates_topic_metadata_and_404s_a_missing_topic(
        api: Api) -> None:
    api.put('/v2/topics/news', json={'a': 1})
    resp = api.patch('/v2/topics/news', headers={'Content-Type': PATCH_TYPE},
                     body=json.dumps([{'op': 'add', 'path': '/metadata/b',
                                       'value': 2}]))
    assert resp.status_code == 200, resp.text
    assert resp.json == dict(TOPIC_DEFAULTS, a=1, b=2)
    missing = api.patch('/v2/topics/none',
                        headers={'Content-Type': PATCH_TYPE},
                        body=json.dumps([{'op': 'add', 'path': '/metadata/b',
                                          'value': 2}]))
    assert_error(missing, 404)


def test_delete_removes_the_topic_and_not_the_queue_of_the_same_name(
        api: Api) -> None:
    api.post('/v2/topics/news/messages', json={'messages': [{'body': 't'}]})
    api.post_messages('news', 'q')
    assert api.delete('/v2/topics/news').status_code == 204
    assert_error(api.get('/v2/topics/news'), 404)
    assert api.delete('/v2/topics/news').status_code == 204
    listed = api.get('/v2/queues/news/messages', params={'echo': 'true'})
    assert [m['body'] for m in listed.json['messages']] == ['q']


def test_messages_are_posted_and_listed_with_topic_hrefs(api: Api) -> None:
    resp = api.post('/v2/topics/news/messages',
                    json={'messages': [{'body': {'n': 1}, 'ttl': 300},
                                       {'body': {'n': 2}}]})
    assert resp.status_code == 201, resp.text
    assert all(r.startswith('/v2/topics/news/messages/')
               for r in resp.json['resources'])
    listed = api.get('/v2/topics/news/messages', params={'echo': 'true'})
    assert [m['body'] for m in listed.json['messages']] == [{'n': 1},
                                                           {'n': 2}]
    first = listed.json['messages'][0]
    assert first['href'] == resp.json['resources'][0]
    assert first['ttl'] == 300
    assert api.get(first['href']).json['body'] == {'n': 1}
    assert api.get('/v2/queues/news/messages',
                   params={'echo': 'true'}).json['messages'] == []


def test_topic_message_posts_are_validated_like_queue_posts(
        api: Api) -> None:
    assert_error(api.post('/v2/topics/news/messages',
                          json={'messages': [{'body': 1, 'ttl': 1}]}), 400)
    assert_error(api.post('/v2/topics/news/messages', json={'x': 1}), 400)
    assert_error(api.get('/v2/topics/news'), 404)  # nothing half-written


def test_stats_count_a_topics_messages(api: Api) -> None:
    empty = api.get('/v2/topics/news/stats').json['messages']
    assert empty['total'] == 0 and empty['free'] == 0
    api.post('/v2/topics/news/messages',
             json={'messages': [{'body': 1}, {'body': 2}]})
    stats = api.get('/v2/topics/news/stats').json['messages']
    assert (stats['free'], stats['claimed'], stats['total']) == (2, 0, 2)
    assert stats['oldest']['href'].startswith('/v2/topics/news/messages/')


def test_purge_empties_a_topic_of_messages_and_subscriptions(
        api: Api) -> None:
    api.post('/v2/topics/news/messages', json={'messages': [{'body': 1}]})
    subscribed = api.post('/v2/topics/news/subscriptions',
                          json={'subscriber': 'https://subscriber.invalid/'})
    assert subscribed.status_code == 201, subscribed.text
    assert api.post('/v2/topics/news/purge').status_code == 204
    assert api.get('/v2/topics/news/stats').json['messages']['total'] == 0
    subs = api.get('/v2/topics/news/subscriptions').json
    assert subs['subscriptions'] == []


def test_subscriptions_on_a_topic_are_its_own(api: Api) -> None:
    hook = 'https://subscriber.invalid/hook'
    created = api.post('/v2/topics/news/subscriptions',
                       json={'subscriber': hook, 'ttl': 3600})
    assert created.status_code == 201, created.text
    sub_id = created.json['subscription_id']
    assert created.headers['location'] == \
        '/v2/topics/news/subscriptions/' + sub_id
    shown = api.get('/v2/topics/news/subscriptions/' + sub_id).json
    assert shown['source'] == 'news' and shown['subscriber'] == hook
    assert_error(api.get('/v2/queues/news/subscriptions/' + sub_id), 404)
    # The same subscriber may follow the queue of the same name as well.
    assert api.post('/v2/queues/news/subscriptions',
                    json={'subscriber': hook}).status_code == 201
    assert_error(api.post('/v2/topics/news/subscriptions',
                          json={'subscriber': hook}), 409)
    resp = api.patch('/v2/topics/news/subscriptions/' + sub_id,
                     json={'ttl': 7200})
    assert resp.status_code == 204
    assert api.put('/v2/topics/news/subscriptions/%s/confirm' % sub_id,
                   json={'confirmed': False}).status_code == 204
    assert api.delete('/v2/topics/news/subscriptions/' +
                      sub_id).status_code == 204
    assert_error(api.get('/v2/topics/news/subscriptions/' + sub_id), 404)


@pytest.mark.parametrize('method, path, allowed', [
    ('HEAD', '/v2/topics/news', 'DELETE, GET, PATCH, PUT, OPTIONS'),
    ('DELETE', '/v2/topics/news/messages?pop=1', 'GET, POST, OPTIONS'),
    ('DELETE', '/v2/topics/news/messages?ids=a', 'GET, POST, OPTIONS'),
    ('DELETE', '/v2/topics/news/messages/abc', 'GET, OPTIONS'),
])
def test_operations_topics_do_not_have_are_405(
        api: Api, method: str, path: str, allowed: str) -> None:
    path, _, query = path.partition('?')
    resp = api.request(method, path, query_string=query)
    assert resp.status_code == 405
    assert resp.headers['allow'] == allowed
    if method != 'HEAD':
        assert_error(resp, 405)


def test_the_route_table_has_exactly_the_topic_operations_of_zaqar(
        conf: cfg.ConfigOpts, storage: Storage) -> None:
    app = api_app.create_app(conf, storage)
    served = {(route.path, method.method)
              for route in falcon.inspect.inspect_routes(app)
              if route.path.startswith('/v2/topics')
              for method in route.methods if not method.internal}
    item = '/v2/topics/{topic_name}'
    sub = item + '/subscriptions/{subscription_id}'
    assert served == {
        ('/v2/topics', 'GET'), (item, 'GET'), (item, 'PUT'),
        (item, 'PATCH'), (item, 'DELETE'), (item + '/stats', 'GET'),
        (item + '/purge', 'POST'), (item + '/messages', 'GET'),
        (item + '/messages', 'POST'),
        (item + '/messages/{message_id}', 'GET'),
        (item + '/subscriptions', 'GET'), (item + '/subscriptions', 'POST'),
        (sub, 'GET'), (sub, 'PATCH'), (sub, 'DELETE'),
        (sub + '/confirm', 'PUT')}


@pytest.mark.parametrize('path', ['/v2/topics/news/claims',
                                  '/v2/topics/news/claims/abc',
                                  '/v2/topics/news/share'])
def test_topics_have_no_claims_and_no_pre_signed_urls(api: Api,
                                                      path: str) -> None:
    assert api.post(path, json={}).status_code == 404


def test_topic_names_are_validated_like_queue_names(api: Api) -> None:
    resp = api.put('/v2/topics/' + 'x' * 65)
    assert_error(resp, 400)
    assert resp.json['description'].startswith('Topic names are 1 to 64')


def test_topics_are_isolated_per_project(api: Api) -> None:
    api.post('/v2/topics/news/messages', json={'messages': [{'body': 1}]})
    other = api.as_project('project-b')
    assert_error(other.get('/v2/topics/news'), 404)
    assert other.get('/v2/topics').json['topics'] == []


def test_a_project_id_that_could_name_another_projects_topics_is_400(
        api: Api, storage: Storage) -> None:
    api.put('/v2/topics/news')
    intruder = api.as_project('project-a' + namespaces.SEPARATOR + 'topics')
    assert_error(intruder.get('/v2/queues/news/messages'), 400)
    assert_error(intruder.get('/v2/topics'), 400)
    assert storage.list_queues('project-a/topics') == [('news', {})]


def test_topic_rules_are_the_operators_to_change(
        conf: cfg.ConfigOpts, make_api: Callable[..., Api],
        tmp_path: pathlib.Path) -> None:
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"topics:create": "!"\n"topics:get_all": "!"\n')
    for group, opts in policy_opts.list_opts():
        conf.register_opts(opts, group=group)
    conf.set_override('policy_file', str(policy_file), group='oslo_policy')
    api = make_api()
    resp = api.put('/v2/topics/news')
    assert_error(resp, 403)
    assert 'topics:create' in resp.json['description']
    assert_error(api.get('/v2/topics'), 403)
    assert api.put('/v2/queues/news').status_code == 201
    assert api.get('/v2/queues').status_code == 200
