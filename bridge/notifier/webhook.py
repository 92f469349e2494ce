"""Webhook delivery: one signed HTTP POST per message.

:class:`WebhookSender` keeps, per thread, one keep-alive connection per
receiver (``http.client``; no connection is shared across threads). Every
request has a connect timeout and a read timeout (each answer read) and
never follows redirects. Results are classified, never raised:

* 2xx: delivered;
* connection error, timeout, 5xx, 408, 429: retry (``Retry-After`` kept);
* any other status (3xx, 4xx): final;
* destination refused by the SSRF guard: final; a host that does not
  resolve (the resolver may be failing for a while): retry.

SSRF guard: the host is checked with
:func:`bridge.notifier.subscriber.check_destination` before a request (the
answer is cached for ``CHECK_TTL`` seconds), and every new connection
checks the address it actually reached before sending anything, so a name
that resolves differently between the check and the connect (DNS
rebinding) still cannot reach an internal address. Proxies are not used.

Why not ``requests``: a ``requests.Session`` spent about 4 times the CPU of
this module per delivery (header merging, URL re-parsing, urllib3 pool),
which capped a notifier process well below the delivery rate bridge aims
at; nothing it adds (redirects, proxies, cookies, auth) is wanted here.
"""

from __future__ import annotations

import email.utils
import functools
import http.client
import socket
import ssl
import threading
import time
import urllib.parse
from typing import Mapping

from bridge.notifier import result as res
from bridge.notifier import subscriber as subscriber_mod

_RETRY_STATUSES = frozenset((408, 429))
_DRAIN_LIMIT = 64 * 1024
"""Response bytes read (and thrown away) so the connection can be reused;
a longer answer closes the connection instead."""
CHECK_TTL = 10.0
"""Seconds a destination check of one host and port is reused."""
_USER_AGENT = 'bridge-notifier'
_MAX_CONNECTIONS = 64
"""Kept-alive connections per thread; the oldest is closed beyond."""


@functools.lru_cache(maxsize=4096)
def _target(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of a webhook URL; ValueError
    if it is not one."""
    hook = subscriber_mod.parse(url)
    if not isinstance(hook, subscriber_mod.Webhook):
        raise ValueError('not a webhook subscriber')
    parts = urllib.parse.urlsplit(url)
    path = parts.path or '/'
    if parts.query:
        path += '?' + parts.query
    return parts.scheme.lower(), hook.host, hook.port, path


class WebhookSender:
    """Sends webhook requests; thread safe (connections are per thread)."""

    def __init__(self, *, connect_timeout: float, read_timeout: float,
                 allowed_hosts: list[str]) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.allowed_hosts = list(allowed_hosts)
        self._local = threading.local()
        self._all: list[dict] = []
        self._lock = threading.Lock()
        self._checks: dict[tuple[str, int], tuple[float, str | None]] = {}
        self._ssl = ssl.create_default_context()

    def deliver(self, url: str, payload: bytes,
                headers: Mapping[str, str]) -> res.Result:
        """POST ``payload`` to ``url`` with ``headers``; the classified
        result (see the module docstring)."""
        try:
            scheme, host, port, path = _target(url)
        except ValueError as exc:
            return res.final('bad webhook URL: %s' % exc)
        try:
            refused = self._refusal(host, port)
        except subscriber_mod.Unresolved as exc:
            return res.retry('cannot resolve the host: %s' % exc)
        if refused:
            return res.final('destination refused: %s' % refused)
        send_headers = {'User-Agent': _USER_AGENT, **headers}
        key = (scheme, host, port)
        for attempt in (1, 2):
            conn, reused = self._connection(key)
            try:
                conn.request('POST', path, body=payload,
                             headers=send_headers)
                response = conn.getresponse()
                _drain(conn, response)
                return classify(response.status,
                                response.getheader('Retry-After'))
            except subscriber_mod.DestinationRefused as exc:
                self._drop(key)
                return res.final('destination refused: %s' % exc)
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as exc:
                self._drop(key)
                # A kept-alive connection the receiver had closed: once
                # more on a new one.
                if reused and attempt == 1:
                    continue
                return res.retry('connection failed: %s' % _short(exc))
            except (socket.timeout, TimeoutError) as exc:
                self._drop(key)
                return res.retry('timeout: %s' % _short(exc))
            except (OSError, http.client.HTTPException) as exc:
                self._drop(key)
                return res.retry('connection failed: %s' % _short(exc))
        raise AssertionError('unreachable')

    def close(self) -> None:
        """Close every thread's connections."""
        with self._lock:
            pools, self._all = self._all, []
        for pool in pools:
            for conn in list(pool.values()):
                conn.close()
            pool.clear()

    # -- internals ---------------------------------------------------------

    def _refusal(self, host: str, port: int) -> str | None:
        """Why the SSRF guard refuses ``host:port`` (cached for
        ``CHECK_TTL`` seconds), or None. Raises Unresolved, which is not
        cached, when the host does not resolve."""
        now = time.monotonic()
        cached = self._checks.get((host, port))
        if cached and cached[0] > now:
            return cached[1]
        try:
            subscriber_mod.check_destination(host, port, self.allowed_hosts)
            reason = None
        except subscriber_mod.Unresolved:
            raise
        except subscriber_mod.DestinationRefused as exc:
            reason = str(exc)
        if len(self._checks) > 10000:
            self._checks.clear()
        self._checks[(host, port)] = (now + CHECK_TTL, reason)
        return reason

    def _pool(self) -> dict:
        pool = getattr(self._local, 'pool', None)
        if pool is None:
            pool = self._local.pool = {}
            with self._lock:
                self._all.append(pool)
        return pool

    def _connection(self, key: tuple[str, str, int]
                    ) -> tuple[http.client.HTTPConnection, bool]:
        pool = self._pool()
        conn = pool.get(key)
        if conn is not None:
            return conn, True
        if len(pool) >= _MAX_CONNECTIONS:
            pool.pop(next(iter(pool))).close()
        scheme, host, port = key
        guard = (self.allowed_hosts, self.read_timeout)
        if scheme == 'https':
            conn = _GuardedHTTPS(host, port, timeout=self.connect_timeout,
                                 context=self._ssl)
        else:
            conn = _GuardedHTTP(host, port, timeout=self.connect_timeout)
        conn.guard = guard
        pool[key] = conn
        return conn, False

    def _drop(self, key: tuple[str, str, int]) -> None:
        conn = self._pool().pop(key, None)
        if conn is not None:
            conn.close()


def classify(status: int, retry_after: str | None = None) -> res.Result:
    """The result of an HTTP answer with ``status``."""
    if 200 <= status < 300:
        return res.DELIVERED
    if status >= 500 or status in _RETRY_STATUSES:
        return res.retry('HTTP %d' % status, parse_retry_after(retry_after))
    return res.final('HTTP %d' % status)


def parse_retry_after(value: str | None,
                      now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP
    date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _drain(conn: http.client.HTTPConnection,
           response: http.client.HTTPResponse) -> None:
    """Read the answer's body so the connection can carry the next request;
    close the connection instead if it is long or the receiver asked to."""
    response.read(_DRAIN_LIMIT)
    if not response.isclosed() or response.will_close:
        conn.close()


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + '...'


# -- connect-time address check ----------------------------------------------

class _Guard(http.client.HTTPConnection):
    """Checks the address a new connection reached (before TLS and before
    any request byte), then switches the socket to the read timeout."""

    guard: tuple[list[str], float] = ([], 10.0)

    def connect(self) -> None:
        super().connect()
        allowed, read_timeout = self.guard
        if not _name_allowed(self.host, allowed):
            peer = self.sock.getpeername()[0]
            try:
                subscriber_mod.check_destination(peer, self.port, allowed)
            except subscriber_mod.DestinationRefused:
                self.close()
                raise
        self.sock.settimeout(read_timeout)


class _GuardedHTTP(_Guard):
    pass


class _GuardedHTTPS(http.client.HTTPSConnection, _Guard):
    # MRO: HTTPSConnection.connect -> _Guard.connect (TCP, check) -> TLS.
    pass


def _name_allowed(host: str, allowed: list[str]) -> bool:
    name = host.lower().rstrip('.').strip('[]')
    return any(name == entry.strip().lower().rstrip('.') for entry in allowed)
