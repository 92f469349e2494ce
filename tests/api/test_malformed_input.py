"""Malformed or hostile input always gets a 4xx with a Zaqar error body,
never a 500, and leaves the service working."""

from __future__ import annotations

from typing import Any

import pytest

from .support import Api, assert_error

M = '/v2/queues/q1/messages'
PATCH = {'Content-Type': 'application/openstack-messaging-v2.0-json-patch'}

BAD_JSON_BODIES = [
    b'{', b'}', b'[', b'nul', b'{"messages": [}', b"{'messages': []}",
    b'\xff\xfe\x00{', b'\xef\xbb\xbf{"messages": [{"body": 1}]}',
    b'{"messages": [{"body": NaN}]}', b'{"messages": [{"body": Infinity}]}',
    b'{"messages": [{"body": -Infinity}]}', b'{"messages": [{"body": 1e999}]}',
    b'{"messages": [{"body": 18446744073709551616}]}',
    b'{"messages": [{"body": -9223372036854775809}]}',
    b'{"messages": [{"body": ' + b'9' * 5000 + b'}]}',
    b'{"messages": [{"body": "\\ud800"}]}',
    b'{"messages": [{"body": "\\udfff x"}]}',
    b'[' * 100000 + b']' * 100000,
    b'{"a":' * 50000 + b'1' + b'}' * 50000,
    b'{"messages": [{"body": ' + b'[' * 70 + b']' * 70 + b'}]}',
    b'\x00\x01\x02', b' ' * 10,
]

WRONG_DOCUMENTS: list[Any] = [
    None, 0, -1, 'x', [], {}, [None], {'messages': None},
    {'messages': 'x'}, {'messages': [None]}, {'messages': [[]]},
    {'messages': [{'body': 1, 'ttl': None}]},
    {'messages': [{'body': 1, 'ttl': 2 ** 40}]},
    {'messages': [{'body': 1, 'ttl': -3600}]},
    {'messages': [{'body': 1, 'delay': 'soon'}]},
]


@pytest.mark.parametrize('raw', BAD_JSON_BODIES)
@pytest.mark.parametrize('method, path, headers', [
    ('POST', M, {}),
    ('PUT', '/v2/queues/q1', {}),
    ('PATCH', '/v2/queues/q1', PATCH),
    ('POST', '/v2/queues/q1/claims', {}),
    ('POST', '/v2/queues/q1/purge', {}),
])
def test_unparseable_or_unstorable_json_is_400(
        api: Api, raw: bytes, method: str, path: str,
        headers: dict[str, str]) -> None:
    api.put('/v2/queues/q1')
    assert_error(api.request(method, path, body=raw, headers=headers), 400)
    assert api.get(M, params={'echo': 'true'}).json['messages'] == []


@pytest.mark.parametrize('document', WRONG_DOCUMENTS)
def test_wrongly_shaped_message_posts_are_400(api: Api,
                                              document: Any) -> None:
    body = b'null' if document is None else None
    resp = api.post(M, body=body, json=document if body is None else None)
    assert_error(resp, 400)


@pytest.mark.parametrize('method, path, query', [
    ('GET', '/v2/queues', 'limit=' + '9' * 40),
    ('GET', '/v2/queues', 'limit=%00'),
    ('GET', '/v2/queues', 'limit=%EF%BC%91'),  # fullwidth digit one
    ('GET', '/v2/queues', 'limit=1e3'),
    ('GET', '/v2/queues', 'detailed=%FF'),
    ('GET', M, 'limit=+5'),
    ('GET', M, 'limit= 5'),
    ('GET', M, 'echo=2'),
    ('GET', M, 'include_delayed=nope'),
    ('GET', M, 'ids=' + ','.join(['x'] * 500)),
    ('DELETE', M, 'pop=' + '1' * 30),
    ('DELETE', M, 'pop=-0'),
    ('DELETE', M, 'ids=' + ','.join(['y'] * 21)),
    ('POST', '/v2/queues/q1/claims', 'limit=0x10'),
])
def test_bad_query_parameters_are_400(api: Api, method: str, path: str,
                                      query: str) -> None:
    assert_error(api.request(method, path, query_string=query), 400)


@pytest.mark.parametrize('method, path, query', [
    ('GET', '/v2/queues', 'marker=%F0%9F%92%A9&name=%00%FF'),
    ('GET', M, 'marker=%F0%9F%92%A9'),
    ('GET', M, 'marker=-1'),
    ('GET', M, 'marker=' + '9' * 400),
    ('GET', M, 'ids=%F0%9F%92%A9,%00'),
    ('GET', M + '/%F0%9F%92%A9', ''),
    ('DELETE', M + '/%F0%9F%92%A9', 'claim_id=%F0%9F%92%A9'),
    ('DELETE', M + '/' + 'z' * 2000, 'claim_id=' + 'c' * 2000),
    ('DELETE', M, 'ids=%00,%FF&claim_ids=%F0%9F%92%A9'),
    ('GET', '/v2/queues/q1/claims/%F0%9F%92%A9', ''),
    ('PATCH', '/v2/queues/q1/claims/%00', ''),
    ('DELETE', '/v2/queues/q1/claims/' + 'c' * 3000, ''),
    ('GET', '/v2/queues/%FF%FE', ''),
    ('PUT', '/v2/queues/a%2Fb', ''),
    ('GET', '/v2/queues/' + 'q' * 5000 + '/stats', ''),
])
def test_odd_identifiers_never_cause_5xx(api: Api, method: str, path: str,
                                         query: str) -> None:
    api.post_messages('q1', 'keep')
    resp = api.request(method, path, query_string=query,
                       json={'ttl': 60} if method == 'PATCH' else None)
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert_error(resp, resp.status_code)
    assert len(api.get(M, params={'echo': 'true'}).json['messages']) == 1


@pytest.mark.parametrize('headers', [
    {'Client-ID': '\u00ff' * 40},
    {'Client-ID': 'x' * 10000},
    {'X-Project-Id': 'p' * 10000},
    {'X-Project-Id': ''},
    {'Content-Type': 'application/x-www-form-urlencoded'},
])
def test_hostile_headers_are_4xx(api: Api, headers: dict[str, str]) -> None:
    resp = api.post(M, body=b'{"messages": [{"body": 1}]}', headers=headers)
    assert 400 <= resp.status_code < 500
    assert_error(resp, resp.status_code)


def test_service_still_works_after_garbage(api: Api) -> None:
    for raw in BAD_JSON_BODIES[:5]:
        api.post(M, body=raw)
    assert api.post_messages('q1', 'fine')
    assert api.claim('q1').status_code == 201
