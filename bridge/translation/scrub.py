"""Scrubbing: what a free-text field must not tell a tenant.

Fault messages, status reasons and descriptions are allowed, but services
write infrastructure into them (``attached via iSCSI target
10.20.30.40:3260 on cinder-vol-01.internal``). :class:`Scrubber` replaces,
inside such text, each of these with a marker (``<redacted>``):

* tracebacks (from ``Traceback (most recent call last)`` to the end) and
  ``File "...", line N`` frames;
* URLs that carry credentials (``rabbit://nova:pw@10.0.0.5:5672/``);
* IPv4 and IPv6 addresses (with a port, if any), except the event's own
  tenant addresses (fixed and floating IPs of the tenant's ports, given in
  allowed address fields of the same event);
* fully qualified host names (labels ending in a known top-level or
  internal domain: ``.com``, ``.internal``, ``.local``, two-letter country
  codes, ...);
* the host names the event itself reveals: the host part of its
  ``publisher_id`` (``nova-compute:cmp-7`` -> ``cmp-7``) and the values of
  host fields of the payload (``host``, ``node``, ``binding:host_id``...),
  with their short forms (``cmp-7.example.net`` -> ``cmp-7``).

Pure functions; the regular expressions are compiled once.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any, Iterable

_TRACEBACK = re.compile(r'Traceback \(most recent call last\).*', re.S)
_FRAME = re.compile(r'File "[^"]*", line \d+(?:, in \S+)?')
_CREDENTIAL_URL = re.compile(
    r'\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@]*@[^\s,;\'"<>]*')
_IPV4 = re.compile(r'(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(:\d{1,5})?'
                   r'(?![\w]|\.\d)')
_IPV6 = re.compile(r'\[?((?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4})'
                   r'(?:%\w+)?\]?(:\d{1,5})?(?![\w:])')
# Top-level and internal domains that end a host name. Two-letter labels
# are country codes; the others are the usual generic and internal ones.
_TLDS = (r'[a-z]{2}|com|net|org|info|biz|edu|gov|mil|int|io|cloud|local|'
         r'localdomain|internal|intranet|lan|corp|home|priv|private|test|'
         r'example|invalid|localhost|openstack|svc|cluster')
_FQDN = re.compile(
    r'(?<![\w.@/-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+'
    r'(?:%s)\.?(?![\w-]|\.\w)' % _TLDS, re.I)
_HOST_SPLIT = re.compile(r'[@#:/]')


@functools.lru_cache(maxsize=4096)
def _address(text: str) -> str | None:
    """``text`` as a normalised IP address, or None."""
    try:
        return str(ipaddress.ip_address(text.strip('[]').split('%', 1)[0]))
    except ValueError:
        return None


def own_addresses(values: Iterable[Any]) -> frozenset[str]:
    """The IP addresses among ``values`` (others ignored), normalised."""
    found = set()
    for value in values:
        if isinstance(value, str):
            address = _address(value)
            if address is not None:
                found.add(address)
    return frozenset(found)


def host_names(publisher_id: str, values: Iterable[Any]) -> tuple[str, ...]:
    """Host names an event reveals: ``publisher_id``'s host part and the
    string ``values`` of its host fields, with their short forms; longest
    first, so the longest match is replaced."""
    return _host_names(publisher_id, tuple(v for v in values
                                           if isinstance(v, str)))


@functools.lru_cache(maxsize=1024)
def _host_names(publisher_id: str, values: tuple[str, ...]
                ) -> tuple[str, ...]:
    found: set[str] = set()
    if ':' in publisher_id:
        candidates = [publisher_id.split(':', 1)[1]]
    elif '.' in publisher_id:
        candidates = [publisher_id.split('.', 1)[1]]
    else:
        candidates = []
    candidates += values
    for candidate in candidates:
        for part in _HOST_SPLIT.split(candidate):
            part = part.strip()
            if len(part) >= 3 and _address(part) is None:
                found.add(part)
                short = part.split('.', 1)[0]
                if len(short) >= 3:
                    found.add(short)
    return tuple(sorted(found, key=lambda h: (-len(h), h)))


@functools.lru_cache(maxsize=1024)
def _host_matcher(hosts: tuple[str, ...]
                  ) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """The pattern replacing ``hosts``, and their lower-case forms for a
    quick "is any of them there at all" test."""
    pattern = re.compile(r'(?<![\w-])(?:%s)(?![\w-])'
                         % '|'.join(map(re.escape, hosts)), re.I)
    return pattern, tuple(sorted({h.lower() for h in hosts}, key=len))


class Scrubber:
    """Scrubs the free text of one event (see the module docstring)."""

    __slots__ = ('marker', '_own_values', '_own', '_hosts', '_lower_hosts')

    def __init__(self, marker: str, own: Iterable[Any] = (),
                 hosts: tuple[str, ...] = ()) -> None:
        """``own``: values that are the tenant's own addresses (others are
        ignored); ``hosts``: see :func:`host_names`."""
        self.marker = marker
        self._own_values = own
        self._own: frozenset[str] | None = None
        self._hosts: re.Pattern[str] | None = None
        self._lower_hosts: tuple[str, ...] = ()
        if hosts:
            self._hosts, self._lower_hosts = _host_matcher(hosts)

    @property
    def own(self) -> frozenset[str]:
        """The tenant's own addresses, normalised (worked out on first
        need: most texts hold no address)."""
        if self._own is None:
            self._own = own_addresses(self._own_values)
        return self._own

    def text(self, text: str) -> str:
        """``text`` with every internal detail replaced by the marker."""
        if not text:
            return text
        marker = self.marker
        if 'Traceback' in text:
            text = _TRACEBACK.sub(marker, text)
        if 'File "' in text:
            text = _FRAME.sub(marker, text)
        if '://' in text:
            text = _CREDENTIAL_URL.sub(marker, text)
        if '.' in text:
            text = _IPV4.sub(self._ip, text)
        if ':' in text:
            text = _IPV6.sub(self._ip, text)
        if '.' in text:
            text = _FQDN.sub(marker, text)
        if self._hosts is not None:
            lower = text.lower()
            if any(host in lower for host in self._lower_hosts):
                text = self._hosts.sub(marker, text)
        return text

    def _ip(self, match: re.Match[str]) -> str:
        address = _address(match.group(1))
        if address is None or address in self.own:
            return match.group(0)
        return self.marker

    def __call__(self, value: Any) -> Any:
        """A scrubbed copy of ``value``: every string inside it scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        return value
