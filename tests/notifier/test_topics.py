"""Topics end to end: subscriptions made and messages posted through the
real API are fanned out by the notifier to every subscriber of the topic
(real HTTP receiver), and confirmed through the topic's own signed URL."""

from __future__ import annotations

import uuid

from falcon import testing

from bridge.api import app as api_app
from tests.notifier.conftest import make_conf, wait_until

KEY = 'notifier-signing-key-' + 't' * 32


def client(conf, store, project):
    api = testing.TestClient(api_app.create_app(conf, store))
    headers = {'Client-ID': str(uuid.uuid4()), 'X-Project-Id': project}
    return api, headers


def test_a_topic_message_reaches_every_subscriber_and_no_queue_subscriber(
        receiver, store, project, sqlite_url, run_notifier):
    conf = make_conf(sqlite_url)
    api, headers = client(conf, store, project)
    for path, options in [('/a', {}), ('/b', {}),
                          ('/c', {'webhook_format': 'cloudevents'})]:
        resp = api.simulate_post('/v2/topics/news/subscriptions',
                                 headers=headers,
                                 json={'subscriber': receiver.url(path),
                                       'options': options})
        assert resp.status_code == 201, resp.text
    resp = api.simulate_post('/v2/queues/news/subscriptions', headers=headers,
                             json={'subscriber': receiver.url('/queue')})
    assert resp.status_code == 201
    run_notifier(conf, store)
    posted = api.simulate_post(
        '/v2/topics/news/messages', headers=headers,
        json={'messages': [{'body': {'event_type': 'e', 'n': n}}
                           for n in range(3)]})
    assert posted.status_code == 201, posted.text
    ids = [r.rsplit('/', 1)[1] for r in posted.json['resources']]

    for path in ('/a', '/b'):
        got = receiver.wait_for(3, path)
        assert [r.json['body']['n'] for r in got] == [0, 1, 2]
        assert [r.json['message_id'] for r in got] == ids
        assert {r.json['queue_name'] for r in got} == {'news'}
    events = receiver.wait_for(3, '/c')
    assert {e.json['source'] for e in events} == {'/v2/topics/news'}
    assert receiver.received('/queue') == []


def test_a_topic_subscriber_confirms_with_the_signed_url_it_was_sent(
        receiver, store, project, sqlite_url, run_notifier):
    conf = make_conf(sqlite_url, require_confirmation=True)
    conf.set_override('secret_key', KEY, group='signed_url')
    api, headers = client(conf, store, project)
    resp = api.simulate_post('/v2/topics/news/subscriptions', headers=headers,
                             json={'subscriber': receiver.url('/a')})
    sub_id = resp.json['subscription_id']
    run_notifier(conf, store)
    [request] = receiver.wait_for(1, '/a')
    doc = request.json
    assert doc['confirmation_url'] == \
        '/v2/topics/news/subscriptions/%s/confirm' % sub_id
    assert doc['URL-Paths'] == doc['confirmation_url']
    assert doc['X-Project-ID'] == project
    assert 'topic news' in doc['Message']

    signed = {k: doc[k] for k in ('URL-Signature', 'URL-Expires',
                                  'URL-Methods', 'URL-Paths', 'X-Project-ID')}
    signed['Client-ID'] = str(uuid.uuid4())
    queue_path = '/v2/queues/news/subscriptions/%s/confirm' % sub_id
    assert api.simulate_put(queue_path, headers=signed,
                            json={'confirmed': True}).status_code == 404
    resp = api.simulate_put(doc['URL-Paths'], headers=signed,
                            json=doc['SubscribeBody'])
    assert resp.status_code == 204, resp.text
    shown = api.simulate_get('/v2/topics/news/subscriptions/' + sub_id,
                             headers=headers)
    assert shown.json['confirmed'] is True

    api.simulate_post('/v2/topics/news/messages', headers=headers,
                      json={'messages': [{'body': {'n': 7}}]})
    got = receiver.wait_for(2, '/a')
    assert got[1].json['body'] == {'n': 7}
    assert wait_until(lambda: len(receiver.received('/a')) == 2)
