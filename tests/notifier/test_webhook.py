"""WebhookSender against a real HTTP receiver: classification of answers,
timeouts, keep-alive, and the SSRF guard at delivery time."""

import ipaddress
import socket

import pytest

from bridge.notifier import result as res
from bridge.notifier import subscriber
from bridge.notifier import webhook
from tests.notifier.receiver import Answer

ALLOW_LOCAL = ['127.0.0.1', 'localhost']
PAYLOAD = b'{"body":{"event_type":"x"}}'
HEADERS = {'Content-Type': 'application/json', 'X-Bridge-Signature': 'sha256=ab'}


def sender(allowed=ALLOW_LOCAL, read_timeout=1.0):
    return webhook.WebhookSender(connect_timeout=1.0,
                                 read_timeout=read_timeout,
                                 allowed_hosts=allowed)


def test_2xx_is_delivered_with_the_exact_body_and_headers(receiver):
    result = sender().deliver(receiver.url('/a'), PAYLOAD, HEADERS)
    assert result.outcome is res.Outcome.DELIVERED
    [request] = receiver.received('/a')
    assert request.body == PAYLOAD
    assert request.headers['content-type'] == 'application/json'
    assert request.headers['x-bridge-signature'] == 'sha256=ab'


@pytest.mark.parametrize('status', [500, 502, 503, 408, 429])
def test_server_errors_timeouts_and_throttling_are_retried(receiver, status):
    receiver.fail('/a', 1, status)
    result = sender().deliver(receiver.url('/a'), PAYLOAD, HEADERS)
    assert result.outcome is res.Outcome.RETRY
    assert result.reason == 'HTTP %d' % status


def test_retry_after_is_passed_on(receiver):
    receiver.fail('/a', 1, 429, retry_after='7')
    result = sender().deliver(receiver.url('/a'), PAYLOAD, HEADERS)
    assert (result.outcome, result.retry_after) == (res.Outcome.RETRY, 7.0)


def test_retry_after_may_be_an_http_date():
    assert webhook.parse_retry_after('Wed, 21 Oct 2015 07:28:10 GMT',
                                     now=1445412480.0) == 10.0
    assert webhook.parse_retry_after('soon') is None
    assert webhook.parse_retry_after(None) is None


@pytest.mark.parametrize('status', [400, 401, 403, 404, 410, 422, 301, 302])
def test_other_client_errors_and_redirects_are_final(receiver, status):
    receiver.plan('/a', Answer(status, headers=(('Location', '/b'),)))
    result = sender().deliver(receiver.url('/a'), PAYLOAD, HEADERS)
    assert result.outcome is res.Outcome.FINAL
    assert receiver.received('/b') == []  # redirects are not followed


def test_a_receiver_slower_than_the_read_timeout_is_retried(receiver):
    receiver.slow('/a', 1, seconds=1.0)
    result = sender(read_timeout=0.2).deliver(receiver.url('/a'), PAYLOAD,
                                              HEADERS)
    assert result.outcome is res.Outcome.RETRY
    assert 'timeout' in result.reason


def test_a_closed_port_is_retried():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    result = sender().deliver('http://127.0.0.1:%d/a' % port, PAYLOAD,
                              HEADERS)
    assert result.outcome is res.Outcome.RETRY
    assert 'connection failed' in result.reason


def test_requests_of_one_thread_reuse_one_connection(receiver):
    s = sender()
    for _ in range(3):
        assert s.deliver(receiver.url('/a'), PAYLOAD, HEADERS).delivered
    assert len({r.peer for r in receiver.received('/a')}) == 1
    s.close()


def test_a_kept_alive_connection_closed_by_the_receiver_is_replaced(
        receiver):
    s = sender()
    assert s.deliver(receiver.url('/a'), PAYLOAD, HEADERS).delivered
    receiver.stop()  # closes the idle connection
    receiver.start()
    assert s.deliver(receiver.url('/a'), PAYLOAD, HEADERS).delivered
    first, second = receiver.received('/a')
    assert first.peer != second.peer
    s.close()


@pytest.mark.parametrize('url', ['http://127.0.0.1:{port}/a',
                                 'http://localhost:{port}/a'])
def test_loopback_destinations_are_refused_at_delivery_by_default(receiver,
                                                                    url):
    result = sender(allowed=[]).deliver(url.format(port=receiver.port),
                                        PAYLOAD, HEADERS)
    assert result.outcome is res.Outcome.FINAL
    assert 'destination refused' in result.reason
    assert receiver.received() == []


def test_a_host_that_does_not_resolve_is_retried_and_checked_afresh(
        monkeypatch):
    """A resolver failing for a while must not turn into lost messages:
    the delivery is retried, and the next attempt checks the host again
    (a refusal is remembered, a resolution failure is not)."""
    s = sender(allowed=[])
    url = 'http://bridge-test.invalid/a'  # never resolves (RFC 6761)
    result = s.deliver(url, PAYLOAD, HEADERS)
    assert result.outcome is res.Outcome.RETRY
    assert 'resolve' in result.reason
    monkeypatch.setattr(subscriber, 'resolve', lambda host, port: [
        ipaddress.ip_address('127.0.0.1')])
    result = s.deliver(url, PAYLOAD, HEADERS)
    assert result.outcome is res.Outcome.FINAL
    assert 'loopback' in result.reason


def test_an_allow_listed_network_lets_deliveries_through(receiver):
    result = sender(allowed=['127.0.0.0/8']).deliver(receiver.url('/a'),
                                                     PAYLOAD, HEADERS)
    assert result.delivered


@pytest.mark.parametrize('scheme', ['http', 'https'])
def test_the_address_reached_is_checked_when_connecting(receiver, scheme):
    """A name that passed the check but then resolves to an internal
    address (DNS rebinding) cannot be reached: the connection is checked
    against the address it actually reached, before anything (not even a
    TLS hello) is sent."""
    conn, _ = sender(allowed=[])._connection((scheme, '127.0.0.1',
                                              receiver.port))
    with pytest.raises(subscriber.DestinationRefused):
        conn.request('POST', '/a', body=PAYLOAD)
    assert receiver.received() == []


def test_https_to_a_plain_http_server_fails_and_is_retried(receiver):
    result = sender().deliver('https://127.0.0.1:%d/a' % receiver.port,
                              PAYLOAD, HEADERS)
    assert result.outcome is res.Outcome.RETRY


def test_garbage_urls_are_final():
    result = sender().deliver('ftp://example.org/x', PAYLOAD, HEADERS)
    assert result.outcome is res.Outcome.FINAL
