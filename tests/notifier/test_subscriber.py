"""Subscriber strings: parsing, and the SSRF guard on webhook destinations.

Only literal addresses and ``localhost`` are resolved, so no DNS server is
needed; ``.invalid`` names never resolve (RFC 6761).
"""

from __future__ import annotations

import pytest

from bridge.notifier import subscriber
from bridge.notifier.subscriber import DestinationRefused, Email, Webhook


# -- parse -----------------------------------------------------------------------

@pytest.mark.parametrize('url, host, port', [
    ('http://hooks.example.com/x?a=1', 'hooks.example.com', 80),
    ('https://hooks.example.com/x', 'hooks.example.com', 443),
    ('HTTPS://Hooks.Example.COM:8443/', 'hooks.example.com', 8443),
    ('http://93.184.216.34:8080/hook', '93.184.216.34', 8080),
    ('http://[2001:4860::8888]/hook', '2001:4860::8888', 80),
])
def test_webhook_urls_parse_to_host_and_effective_port(
        url: str, host: str, port: int) -> None:
    assert subscriber.parse(url) == Webhook(url=url, host=host, port=port)


def test_mailto_parses_to_address_and_subject() -> None:
    assert subscriber.parse('mailto:ops@example.com') == Email(
        'ops@example.com', None)
    assert subscriber.parse('mailto:ops%2Bq@example.com?subject=Hi%20there') \
        == Email('ops+q@example.com', 'Hi there')


@pytest.mark.parametrize('value, words', [
    ('', 'non-empty'),
    ('ftp://example.com/x', 'http://, https:// or mailto:'),
    ('file:///etc/passwd', 'http://, https:// or mailto:'),
    ('gopher://127.0.0.1:25/', 'http://, https:// or mailto:'),
    ('example.com/hook', 'http://, https:// or mailto:'),
    ('http://user:pw@example.com/', 'user name or password'),
    ('http://user@example.com/', 'user name or password'),
    ('http:///path-only', 'must name a host'),
    ('http://example.com:99999/', 'invalid port'),
    ('http://example.com:0/', 'invalid port'),
    ('http://example.com/a b', 'spaces or control'),
    ('http://example.com/\r\nX: y', 'spaces or control'),
    ('mailto:', 'one email address'),
    ('mailto:no-at-sign', 'one email address'),
    ('mailto:a@example.com,b@example.com', 'one email address'),
    ('mailto:a@example.com?cc=b@example.com', 'only carry a "subject"'),
    ('mailto:a@example.com?subject=x%0D%0ABcc:%20b@example.com',
     'line breaks'),
])
def test_anything_else_is_refused_with_a_reason(value: str,
                                                words: str) -> None:
    with pytest.raises(ValueError, match=words.replace('?', r'\?')
                       .replace('(', r'\(')):
        subscriber.parse(value)


def test_non_string_subscriber_is_refused() -> None:
    with pytest.raises(ValueError, match='non-empty string'):
        subscriber.parse(42)  # type: ignore[arg-type]


# -- check_destination -----------------------------------------------------------

@pytest.mark.parametrize('host, reason', [
    ('127.0.0.1', 'loopback'),
    ('127.1.2.3', 'loopback'),
    ('::1', 'loopback'),
    ('[::1]', 'loopback'),
    ('localhost', 'loopback'),
    ('169.254.169.254', 'link-local'),
    ('fe80::1', 'link-local'),
    ('10.0.0.1', 'private'),
    ('172.16.5.4', 'private'),
    ('192.168.1.1', 'private'),
    ('fd00::1', 'private'),
    ('0.0.0.0', 'unspecified'),
    ('224.0.0.1', 'multicast'),
    ('240.0.0.1', 'reserved'),
    ('100.64.0.1', 'not globally routable'),
    ('::ffff:127.0.0.1', 'loopback'),
    ('::ffff:169.254.169.254', 'link-local'),
    ('2002:a00:1::1', 'private'),  # 6to4 wrapping of 10.0.0.1
    ('2130706433', 'loopback'),    # 127.0.0.1 written as one integer
])
def test_internal_destinations_are_refused_by_default(host: str,
                                                      reason: str) -> None:
    with pytest.raises(DestinationRefused, match='a %s address' % reason):
        subscriber.check_destination(host, 80, [])


@pytest.mark.parametrize('host', ['93.184.216.34', '8.8.8.8',
                                  '2001:4860:4860::8888'])
def test_public_addresses_are_allowed(host: str) -> None:
    subscriber.check_destination(host, 443, [])


def test_name_that_does_not_resolve_is_refused_with_reason() -> None:
    with pytest.raises(DestinationRefused, match='does not resolve'):
        subscriber.check_destination('no-such-host.invalid', 80, [])


@pytest.mark.parametrize('host, allowed', [
    ('127.0.0.1', ['127.0.0.1']),
    ('127.0.0.1', ['127.0.0.0/8']),
    ('10.0.0.1', ['10.0.0.0/8']),
    ('169.254.169.254', ['169.254.169.254/32']),
    ('::1', ['::1/128']),
    ('::ffff:10.1.2.3', ['10.0.0.0/8']),
    ('localhost', ['localhost']),
    ('localhost', ['LOCALHOST.']),
    ('localhost', ['127.0.0.0/8', '::1']),
])
def test_allow_list_admits_listed_hosts_and_networks(
        host: str, allowed: list[str]) -> None:
    subscriber.check_destination(host, 80, allowed)


@pytest.mark.parametrize('host, allowed', [
    ('127.0.0.1', ['10.0.0.0/8']),
    ('169.254.169.254', ['127.0.0.1', 'metadata']),
    ('10.0.0.1', ['10.0.0.2']),
    ('10.0.0.1', ['']),
])
def test_allow_list_admits_nothing_else(host: str,
                                        allowed: list[str]) -> None:
    with pytest.raises(DestinationRefused):
        subscriber.check_destination(host, 80, allowed)


def test_every_address_of_a_name_must_be_acceptable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A name with one allow-listed and one internal address is refused:
    one entry must not open the others."""
    import ipaddress
    monkeypatch.setattr(subscriber, 'resolve', lambda host, port: [
        ipaddress.ip_address('10.0.0.5'), ipaddress.ip_address('127.0.0.1')])
    with pytest.raises(DestinationRefused, match='127.0.0.1, a loopback'):
        subscriber.check_destination('mixed.example', 80, ['10.0.0.0/8'])
    subscriber.check_destination('mixed.example', 80, ['mixed.example'])


def test_resolve_returns_each_address_once() -> None:
    assert [str(a) for a in subscriber.resolve('127.0.0.1', 80)] == \
        ['127.0.0.1']
