"""translate() never raises: whatever the listener hands over, the answer
is Routed, Dropped or Unroutable, and what it returns can be stored."""

from __future__ import annotations

import json
import re

import pytest

from bridge import translation
from bridge.translation import pipeline

from .support import notification, sample

VALID_QUEUE = re.compile(r'^[a-zA-Z0-9_-]{1,64}$')
RESULTS = (translation.Routed, translation.Dropped, translation.Unroutable)


class Weird:
    def __repr__(self):
        raise RuntimeError('no repr')


def loop() -> dict:
    d: dict = {'tenant_id': 'p1'}
    d['self'] = d
    return d


def deep(levels: int) -> dict:
    d: dict = {'tenant_id': 'p1'}
    for _ in range(levels):
        d = {'x': d, 'tenant_id': 'p1'}
    return d


BASE = sample('cinder__volume.create.end')
GARBAGE = {
    'payload None': dict(payload=None),
    'payload string': dict(payload='Traceback (most recent call last)'),
    'payload list': dict(payload=[{'tenant_id': 'p1'}]),
    'payload int': dict(payload=7),
    'payload with odd values': dict(payload={
        'tenant_id': 'p1', 'b': b'bytes', 's': {1, 2}, 'o': object(),
        'w': Weird(), 1: 'int key', None: 'none key', 'f': float('nan')}),
    'payload self-referencing': dict(payload=loop()),
    'payload nested 5000 deep': dict(payload=deep(5000)),
    'payload missing keys': dict(payload={}, ctxt={}),
    'ctxt None': dict(ctxt=None, payload={}),
    'ctxt list': dict(ctxt=['project_id'], payload={}),
    'ctxt with odd values': dict(ctxt={'project_id': ['p'], 'tenant': 5},
                                 payload={}),
    'event_type None': dict(event_type=None),
    'event_type empty': dict(event_type=''),
    'event_type int': dict(event_type=42),
    'event_type odd text': dict(event_type='\x00[*'),
    'publisher_id None': dict(publisher_id=None),
    'publisher_id int': dict(publisher_id=3),
    'priority None': dict(priority=None),
    'priority odd': dict(priority='LOUD'),
    'message_id None': dict(message_id=None),
    'message_id empty': dict(message_id=''),
    'message_id int': dict(message_id=12),
    'timestamp None': dict(timestamp=None),
    'timestamp garbage': dict(timestamp='yesterday'),
    'timestamp int': dict(timestamp=1700000000),
    'exchange int': dict(exchange=5),
    'exchange odd text': dict(exchange='a b.c'),
    'everything None': dict(event_type=None, publisher_id=None,
                            priority=None, payload=None, ctxt=None,
                            message_id=None, timestamp=None),
}


@pytest.mark.parametrize('case', sorted(GARBAGE))
def test_translate_never_raises_on_garbage(rules, case):
    n = notification(BASE, **GARBAGE[case])
    result = translation.translate(n, rules)
    assert isinstance(result, RESULTS)
    if isinstance(result, translation.Routed):
        assert VALID_QUEUE.match(result.queue)
        assert result.dedup_key == n.message_id
        json.dumps(result.body)
    if isinstance(result, translation.Unroutable):
        assert result.reason
        json.dumps(result.body)
        assert set(result.body) == {
            'event_type', 'publisher_id', 'priority', 'payload', 'ctxt',
            'message_id', 'timestamp', 'exchange'}


def test_anything_that_is_not_a_notification_is_unroutable(rules):
    for thing in (None, {}, {'event_type': 'x'}, 'text', 5):
        result = translation.translate(thing, rules)  # type: ignore[arg-type]
        assert isinstance(result, translation.Unroutable)
        json.dumps(result.body)


@pytest.mark.parametrize('case,reason', [
    ('event_type None', 'event_type is not a non-empty string'),
    ('event_type int', 'event_type is not a non-empty string'),
    ('message_id None', 'message_id is not a non-empty string'),
    ('message_id empty', 'message_id is not a non-empty string'),
    ('payload missing keys', 'owner unknown: the payload names none'),
])
def test_malformed_notifications_say_why(rules, case, reason):
    result = translation.translate(notification(BASE, **GARBAGE[case]),
                                   rules)
    assert isinstance(result, translation.Unroutable)
    assert reason in result.reason


def test_payload_values_json_cannot_store_make_it_unroutable(rules):
    for odd in (b'bytes', {1, 2}, object(), Weird()):
        n = notification(BASE, payload={'tenant_id': 'p1',
                                        'metadata': [odd]})
        result = translation.translate(n, rules)
        assert isinstance(result, translation.Unroutable)
        assert 'cannot be stored as JSON' in result.reason


def test_owner_in_a_non_dict_payload_is_not_guessed(rules):
    # payload is a list: the owner paths find nothing, the context decides
    n = notification(BASE, payload=[{'tenant_id': 'p1'}],
                     ctxt={'project_id': 'p-ctx'})
    result = translation.translate(n, rules)
    assert result.project_id == 'p-ctx'
    assert result.body['payload'] == [{'tenant_id': 'p1'}]


def test_string_payload_is_still_redacted(rules):
    n = notification(BASE, payload='Traceback (most recent call last): x',
                     ctxt={'project_id': 'p-ctx'})
    result = translation.translate(n, rules)
    assert result.body['payload'] is None  # no field of it is allowed


def test_unexpected_internal_error_becomes_unroutable(rules, monkeypatch):
    def broken(**kwargs):
        raise KeyError('boom')
    monkeypatch.setattr(pipeline.body, 'build_body', broken)
    result = translation.translate(notification(BASE), rules)
    assert isinstance(result, translation.Unroutable)
    assert result.reason == "translation failed: KeyError: 'boom'"
    assert result.body['payload'] == BASE['payload']


def test_unroutable_body_replaces_unencodable_values_by_their_repr(rules):
    n = notification(BASE, event_type=None,
                     payload={'b': b'x', 'w': Weird(), 2: [object()]})
    body = translation.translate(n, rules).body
    assert body['payload']['b'] == "b'x'"
    assert body['payload']['w'] == '<Weird>'
    assert body['payload']['2'][0].startswith('<object object')
    json.dumps(body)


def test_translation_is_deterministic(rules):
    n = notification('nova__instance.create.end')
    assert translation.translate(n, rules) == translation.translate(n, rules)


def test_redelivered_notification_keeps_its_dedup_key(rules):
    first = translation.translate(notification(BASE), rules)
    again = translation.translate(notification(sample(
        'cinder__volume.create.end')), rules)
    assert first.dedup_key == again.dedup_key == BASE['message_id']
    assert first.body['id'] == BASE['message_id']
