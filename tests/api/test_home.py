"""Version list, home document, ping and health."""

from __future__ import annotations

from .support import Api, assert_error


def test_root_lists_versions_with_300_and_needs_no_headers(api: Api) -> None:
    resp = api.client.simulate_get('/')
    assert resp.status_code == 300
    (version,) = resp.json['versions']
    assert version['id'] == '2'
    assert version['status'] == 'CURRENT'
    assert version['links'] == [{'href': '/v2/', 'rel': 'self'}]


def test_home_document_is_json_home(api: Api) -> None:
    for path in ('/v2', '/v2/'):
        resp = api.get(path)
        assert resp.status_code == 200
        assert resp.headers['content-type'] == 'application/json-home'
        resources = resp.json['resources']
        assert resources['rel/queue']['href-template'] == \
            '/v2/queues/{queue_name}'
        assert 'rel/post_claim' in resources


def test_home_document_offers_long_polling_on_messages_and_claims(
        api: Api) -> None:
    resources = api.get('/v2').json['resources']
    for rel in ('rel/messages', 'rel/post_claim'):
        assert 'wait' in resources[rel]['href-template']
        assert 'Long polling' in resources[rel]['hints']['long-polling']
        assert '0 to 20 seconds' in resources[rel]['hints']['long-polling']


def test_only_the_version_list_needs_no_client_id(api: Api) -> None:
    assert api.client.simulate_get('/').status_code == 300
    for path in ('/v2', '/v2/ping', '/v2/health'):
        resp = api.client.simulate_get(path, headers={'X-Project-Id': 'p',
                                                      'X-Roles': 'admin'})
        assert_error(resp, 400)


def test_ping_answers_204_when_storage_answers(api: Api) -> None:
    assert api.get('/v2/ping').status_code == 204
    assert api.head('/v2/ping').status_code == 204


def test_health_is_admin_only(api: Api) -> None:
    assert_error(api.get('/v2/health'), 403)
    assert_error(api.get('/v2/health', headers={'X-Roles': 'member'}), 403)
    resp = api.get('/v2/health', headers={'X-Roles': 'member,admin'})
    assert resp.status_code == 200
    assert resp.json == {'storage_reachable': True}


def test_health_writes_nothing(api: Api) -> None:
    api.get('/v2/health', headers={'X-Roles': 'admin'})
    listing = api.get('/v2/queues', params={'with_count': 'true'})
    assert listing.json['count'] == 0


def test_unknown_path_is_404_with_zaqar_error_body(api: Api) -> None:
    assert_error(api.get('/v2/nothing-here'), 404)
    assert_error(api.get('/v1/queues'), 404)


def test_unsupported_method_is_405_with_allow_header(api: Api) -> None:
    resp = api.post('/v2/queues/q1')
    assert_error(resp, 405)
    assert 'PUT' in resp.headers['allow']
