"""With ``[signed_url] secret_key`` set, a confirmation request carries, as
in Zaqar, a pre-signed URL for PUT on that subscription's confirmation
path: the subscriber confirms through the real API with those headers and
no identity of its own, and they allow nothing else."""

import uuid

from falcon import testing

from bridge.api import app as api_app
from bridge.notifier import confirmation
from bridge.storage import models
from tests.notifier.conftest import make_conf, post, wait_until

KEY = 'notifier-signing-key-' + 'z' * 32


def test_a_webhook_confirms_with_the_signed_url_it_was_sent(
        receiver, store, project, sqlite_url, run_notifier):
    conf = make_conf(sqlite_url, require_confirmation=True)
    conf.set_override('secret_key', KEY, group='signed_url')
    sub = store.create_subscription(project, 'q', receiver.url('/a'),
                                    ttl=3600, options={}, secret='k',
                                    confirmed=False)
    other = store.create_subscription(project, 'q', receiver.url('/b'),
                                      ttl=3600, options={}, secret='k',
                                      confirmed=False)
    run_notifier(conf, store)
    [request] = receiver.wait_for(1, '/a')
    doc = request.json
    assert doc['Message_Type'] == 'SubscriptionConfirmation'
    assert doc['URL-Methods'] == 'PUT'
    assert doc['URL-Paths'] == '/v2/queues/q/subscriptions/%s/confirm' % sub.id
    assert doc['X-Project-ID'] == project
    assert doc['SubscribeBody'] == {'confirmed': True}
    assert doc['UnsubscribeBody'] == {'confirmed': False}

    api = testing.TestClient(api_app.create_app(conf, store))
    headers = {k: doc[k] for k in ('URL-Signature', 'URL-Expires',
                                   'URL-Methods', 'URL-Paths',
                                   'X-Project-ID')}
    headers['Client-ID'] = str(uuid.uuid4())
    for method, path in [
            ('PUT', '/v2/queues/q/subscriptions/%s/confirm' % other.id),
            ('GET', '/v2/queues/q/subscriptions/%s' % sub.id),
            ('GET', '/v2/queues/q/messages')]:
        resp = api.simulate_request(method, path, headers=headers,
                                    json=doc['SubscribeBody'])
        assert resp.status_code == 404, (method, path)
    assert not store.get_subscription(project, 'q', other.id).confirmed
    resp = api.simulate_put(doc['URL-Paths'], headers=headers,
                            json=doc['SubscribeBody'])
    assert resp.status_code == 204
    assert store.get_subscription(project, 'q', sub.id).confirmed

    post(store, project, 'q', 1, start=7)
    got = receiver.wait_for(2, '/a')
    assert got[1].json['body']['seq'] == 7
    assert wait_until(lambda: len(receiver.received('/b')) == 1)


def test_without_a_key_the_request_carries_no_signed_url():
    sub = models.Subscription(id='s1', project='p', queue='q', subscriber='x',
                              ttl=60, options={}, created=0, secret='k',
                              confirmed=False, cursor=0)
    assert confirmation.signed_headers(None, 60, sub, 0.0) == {}
    assert 'URL-Signature' not in confirmation.webhook_document(None, sub)
    signed = confirmation.signed_headers(KEY, 60, sub, 1_000_000_000.0)
    assert signed['URL-Expires'] == '2001-09-09T01:47:40'
    text = confirmation.email_text(None, sub, 'ops@example.com', signed)
    assert 'URL-Signature: ' + signed['URL-Signature'] in text
    assert 'PUT /v2/queues/q/subscriptions/s1/confirm' in text
