"""What a subscriber string names, and whether bridge may send to it.

A subscriber is ``http://...`` / ``https://...`` (a webhook) or
``mailto:address[?subject=...]`` (an email recipient). :func:`parse` turns
the string into a :class:`Webhook` or an :class:`Email`, or raises
``ValueError`` saying what is wrong; it does no I/O.

:func:`check_destination` is the SSRF guard for webhooks: it resolves the
host with the system resolver (``socket.getaddrinfo``: local resolution
only, bounded by the resolver's own timeouts) and raises
:class:`DestinationRefused` unless every address is publicly routable or
allow-listed by the operator (``[notifier] allowed_subscriber_hosts``). The
API calls it when a subscriber is created or changed (accepting a host that
does not resolve, :class:`Unresolved`, since it may resolve only from the
notifier's network or later); the notifier calls it again before each
delivery and on each connection, because DNS answers may change. Email
addresses are not checked: mail goes to the operator's SMTP server, which
decides where to relay it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import urllib.parse
from typing import Iterable, Union

WEBHOOK_SCHEMES = frozenset(('http', 'https'))
_DEFAULT_PORTS = {'http': 80, 'https': 443}
# Characters that would let a mailto: address or subject smuggle in extra
# recipients or mail headers.
_MAIL_FORBIDDEN = frozenset('\r\n\0')
_ADDRESS_FORBIDDEN = _MAIL_FORBIDDEN | frozenset(' \t,;<>()[]\\"')

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@dataclasses.dataclass(frozen=True)
class Webhook:
    """An HTTP(S) endpoint that receives a POST per message."""

    url: str
    host: str
    """Host name or address literal, lower case, without IPv6 brackets."""
    port: int
    """Explicit port, or the scheme's default (80, 443)."""


@dataclasses.dataclass(frozen=True)
class Email:
    """One email recipient."""

    address: str
    subject: str | None
    """From ``?subject=`` in the mailto URL (None: not given)."""


Subscriber = Union[Webhook, Email]


class DestinationRefused(ValueError):
    """The subscriber's host resolves to an address bridge must not reach
    (loopback, link-local, private, ...) and the operator has not
    allow-listed it; or it does not resolve at all."""


class Unresolved(DestinationRefused):
    """The subscriber's host does not resolve (now). Accepted when a
    subscription is made (it may resolve later, or only from the
    notifier's network); at delivery, the notifier tries again later, as
    the resolver may be failing for a while (a DNS outage)."""


def parse(subscriber: str) -> Subscriber:
    """The webhook or email recipient ``subscriber`` names. ValueError
    (with a message fit for the tenant) for anything else."""
    if not isinstance(subscriber, str) or not subscriber:
        raise ValueError('The subscriber must be a non-empty string.')
    scheme = subscriber.split(':', 1)[0].lower() if ':' in subscriber else ''
    if scheme in WEBHOOK_SCHEMES:
        return _webhook(subscriber)
    if scheme == 'mailto':
        return _email(subscriber)
    raise ValueError('The subscriber must be an http://, https:// or '
                     'mailto: URI.')


def _webhook(url: str) -> Webhook:
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7f for c in url):
        raise ValueError('The subscriber URL may not contain spaces or '
                         'control characters.')
    parts = urllib.parse.urlsplit(url)
    if '@' in parts.netloc:
        raise ValueError('The subscriber URL may not contain a user name or '
                         'password.')
    host = parts.hostname
    if not host:
        raise ValueError('The subscriber URL must name a host.')
    try:
        port = parts.port
    except ValueError:
        raise ValueError('The subscriber URL has an invalid port.') from None
    if port == 0:
        raise ValueError('The subscriber URL has an invalid port.')
    return Webhook(url=url, host=host,
                   port=port or _DEFAULT_PORTS[parts.scheme.lower()])


def _email(uri: str) -> Email:
    parts = urllib.parse.urlsplit(uri)
    address = urllib.parse.unquote(parts.path)
    local, at, domain = address.rpartition('@')
    if not at or not local or not domain or '@' in local \
            or any(c in _ADDRESS_FORBIDDEN for c in address):
        raise ValueError('A mailto: subscriber must name one email address, '
                         'as in mailto:ops@example.com.')
    subject = None
    for key, value in urllib.parse.parse_qsl(parts.query,
                                             keep_blank_values=True):
        if key.lower() != 'subject':
            raise ValueError('A mailto: subscriber may only carry a '
                             '"subject" parameter.')
        subject = value
    if subject is not None and any(c in _MAIL_FORBIDDEN for c in subject):
        raise ValueError('The mailto: subject may not contain line breaks.')
    return Email(address=address, subject=subject)


# -- SSRF guard ------------------------------------------------------------------

def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries (mapped ::ffff:a.b.c.d or
    6to4 2002:AABB:CCDD::), which is where packets end up."""
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour or address
    return address


def refusal_reason(address: IPAddress) -> str | None:
    """Why a webhook may not be sent to ``address`` (None: it may)."""
    address = _embedded_ipv4(address)
    checks = (('loopback', address.is_loopback),
              ('link-local', address.is_link_local),
              ('unspecified', address.is_unspecified),
              ('multicast', address.is_multicast),
              ('reserved', address.is_reserved),
              ('private', address.is_private),
              ('not globally routable', not address.is_global))
    for reason, hit in checks:
        if hit:
            return reason
    return None


def _allow_list(entries: Iterable[str]) -> tuple[set[str], list[IPNetwork]]:
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip('[]'),
                                                 strict=False))
        except ValueError:
            names.add(entry.lower().rstrip('.'))
    return names, networks


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (a literal resolves to itself).
    DestinationRefused if it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Unresolved('The subscriber host %s does not resolve (%s).'
                         % (host, exc)) from None
    addresses: list[IPAddress] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(str(sockaddr[0]).split('%', 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Unresolved('The subscriber host %s does not resolve to an IP '
                         'address.' % host)
    return addresses


def check_destination(host: str, port: int, allowed: list[str]) -> None:
    """Raise :class:`DestinationRefused` unless bridge may send to
    ``host:port``: the host name is allow-listed, or each address it
    resolves to is publicly routable or inside an allow-listed CIDR (so
    one allow-listed address does not let a name's other, internal
    addresses through)."""
    names, networks = _allow_list(allowed)
    if host.lower().rstrip('.').strip('[]') in names:
        return
    for address in resolve(host.strip('[]'), port):
        reason = refusal_reason(address)
        if reason is None or any(address in net for net in networks) or \
                any(_embedded_ipv4(address) in net for net in networks):
            continue
        raise DestinationRefused(
            'The subscriber host %s resolves to %s, a %s address, which '
            'subscribers may not use unless the operator allows it '
            '([notifier] allowed_subscriber_hosts).'
            % (host, address, reason))
