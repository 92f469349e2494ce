"""Webhook formats beyond Zaqar, chosen per subscription: a CloudEvents 1.0
structured body, and Standard Webhooks signature headers that the
off-the-shelf ``standardwebhooks`` package verifies. The end-to-end test
subscribes through the real API and has bridge-notifier deliver to a real
HTTP receiver that verifies each request with those packages before
answering 2xx, as a tenant's receiver would."""

from __future__ import annotations

import http.server
import json
import threading
import time
import uuid
from typing import Any

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_structured
from cloudevents.core.formats.json import JSONFormat
from falcon import testing
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bridge.api import app as api_app
from bridge.notifier import formats, signing
from bridge.storage import models
from tests.notifier.conftest import make_conf, wait_until

SUB = models.Subscription(id='s-1', project='p', queue='volumes',
                          subscriber='http://x/', ttl=60, options={},
                          created=0, secret='SC7hH_L9M10C4wctV9AxeUz2s8x',
                          confirmed=True, cursor=0)
EVENT_BODY = {'version': 1, 'event_type': 'volume.create.end',
              'resource_id': 'vol-1', 'payload': {'size': 1}}
MSG = models.Message(id='m-1', body=EVENT_BODY, ttl=600,
                     created=1_700_000_000.5, marker=1)


def cloudevent(headers: dict[str, str], body: bytes) -> Any:
    """Parsed (and validated) by the CloudEvents SDK."""
    return from_structured(HTTPMessage(headers=headers, body=body),
                           JSONFormat())


def with_options(**options: Any) -> models.Subscription:
    return models.Subscription(**dict(vars(SUB), options=options))


# -- units -----------------------------------------------------------------------

def test_cloudevents_body_is_a_valid_structured_event():
    sub = with_options(webhook_format='cloudevents')
    body = formats.message_body(sub, MSG)
    headers = formats.headers(sub, body, MSG.id, time.time())
    assert headers['Content-Type'] == 'application/cloudevents+json; ' \
                                      'charset=utf-8'
    event = cloudevent(headers, body)
    assert event.get_specversion() == '1.0'
    assert (event.get_id(), event.get_source(), event.get_type()) == (
        'm-1', '/v2/queues/volumes', 'volume.create.end')
    assert event.get_subject() == 'vol-1'
    assert event.get_time().isoformat() == '2023-11-14T22:13:20+00:00'
    assert event.get_data() == EVENT_BODY
    assert event.get_datacontenttype() == 'application/json'
    assert (event.get_extension('bridgequeue'),
            event.get_extension('bridgesubscription'),
            event.get_extension('bridgettl')) == ('volumes', 's-1', 600)
    assert signing.verify(SUB.secret, body, headers['X-Bridge-Signature'])


def test_a_body_without_event_type_gets_the_generic_type_and_no_subject():
    sub = with_options(webhook_format='cloudevents')
    msg = models.Message(id='m-2', body=['plain'], ttl=60, created=0,
                         marker=2)
    event = cloudevent({'content-type': formats.CLOUDEVENTS_JSON},
                       formats.message_body(sub, msg))
    assert event.get_type() == formats.MESSAGE_TYPE
    assert event.get_subject() is None
    assert event.get_data() == ['plain']


def test_the_default_stays_zaqars_body_without_standard_headers():
    body = formats.message_body(SUB, MSG)
    assert json.loads(body) == {
        'body': EVENT_BODY, 'ttl': 600, 'queue_name': 'volumes',
        'Message_Type': 'Notification', 'message_id': 'm-1',
        'subscription_id': 's-1'}
    headers = formats.headers(SUB, body, MSG.id, time.time())
    assert set(headers) == {'Content-Type', 'X-Bridge-Signature'}
    assert headers['Content-Type'] == 'application/json'


def test_standard_webhooks_headers_verify_with_the_standardwebhooks_package():
    sub = with_options(standard_webhooks=True)
    body = formats.message_body(sub, MSG)
    headers = formats.headers(sub, body, MSG.id, time.time())
    assert headers['webhook-id'] == 'm-1'
    verifier = Webhook(signing.standard_webhooks_secret(SUB.secret))
    assert verifier.verify(body, headers)['message_id'] == 'm-1'
    assert signing.verify(SUB.secret, body, headers['X-Bridge-Signature'])
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body + b' ', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.standard_webhooks_secret('other')).verify(body,
                                                                  headers)
    stale = formats.headers(sub, body, MSG.id, time.time() - 3600)
    with pytest.raises(WebhookVerificationError, match='too old'):
        verifier.verify(body, stale)


# -- end to end --------------------------------------------------------------------

class VerifyingReceiver:
    """A tenant's webhook endpoint: answers 204 only to requests the
    ``standardwebhooks`` package verifies and the CloudEvents SDK parses,
    401 otherwise; the first request to ``/flaky`` gets a 503."""

    def __init__(self) -> None:
        self.whsec = ''
        self.accepted: list[tuple[dict[str, str], bytes, Any]] = []
        self.refused: list[str] = []
        self.flaky_ids: list[tuple[str, str]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers['Content-Length']))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver.judge(self.path, headers, body)
                self.send_response(status)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def judge(self, path: str, headers: dict[str, str], body: bytes) -> int:
        if path == '/flaky':
            self.flaky_ids.append((headers.get('webhook-id', ''),
                                   headers.get('webhook-timestamp', '')))
            if len(self.flaky_ids) == 1:
                return 503
        try:
            Webhook(self.whsec).verify(body, headers)
            event = cloudevent(headers, body)
        except Exception as exc:  # noqa: BLE001 - a refusal, recorded
            self.refused.append(repr(exc))
            return 401
        self.accepted.append((headers, body, event))
        return 204

    def url(self, path: str) -> str:
        return 'http://127.0.0.1:%d%s' % (self.server.server_address[1], path)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def verifying_receiver():
    receiver = VerifyingReceiver()
    yield receiver
    receiver.stop()


def test_bridge_deliveries_pass_off_the_shelf_verifiers(
        verifying_receiver, store, project, sqlite_url, run_notifier):
    conf = make_conf(sqlite_url, min_retry_delay=1.1, max_retry_delay=1.5)
    api = testing.TestClient(api_app.create_app(conf, store))
    headers = {'Client-ID': str(uuid.uuid4()), 'X-Project-Id': project}
    created = api.simulate_post(
        '/v2/queues/volumes/subscriptions', headers=headers, json={
            'subscriber': verifying_receiver.url('/flaky'),
            'options': {'webhook_format': 'cloudevents',
                        'standard_webhooks': True}})
    assert created.status_code == 201, created.text
    verifying_receiver.whsec = created.json['standard_webhooks_secret']
    api.simulate_post('/v2/queues/volumes/messages', headers=headers, json={
        'messages': [{'body': dict(EVENT_BODY, seq=i)} for i in range(3)]})
    run_notifier(conf, store)

    wait_until(lambda: len(verifying_receiver.accepted) == 3,
               what='three verified deliveries')
    assert verifying_receiver.refused == []
    events = [event for _, _, event in verifying_receiver.accepted]
    assert [e.get_data()['seq'] for e in events] == [0, 1, 2]
    assert {e.get_source() for e in events} == {'/v2/queues/volumes'}
    for request_headers, body, event in verifying_receiver.accepted:
        assert request_headers['webhook-id'] == event.get_id()
        assert signing.verify(created.json['secret'], body,
                              request_headers['x-bridge-signature'])
    # The retried message kept its webhook-id, with a fresh timestamp.
    (first_id, first_ts), (again_id, again_ts) = \
        verifying_receiver.flaky_ids[:2]
    assert first_id == again_id == events[0].get_id()
    assert int(again_ts) > int(first_ts)
