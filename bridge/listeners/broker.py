"""A start-up check that RabbitMQ answers, before the listener starts.

oslo.messaging retries a broker that cannot be reached forever, logging a
line every few seconds, so a wrong ``transport_url`` would look like a
listener that runs and receives nothing. :func:`check` opens (and closes)
one AMQP connection per bus, trying each host of its URL in turn, with
``[listener] broker_check_timeout``; a bus none of whose hosts accepts the
connection and login is a :class:`~bridge.startup.StartupError` naming the
URL (password hidden). Transports other than RabbitMQ are not checked.
Once running, the listener rides out broker restarts as before.
"""

from __future__ import annotations

from typing import Any

import kombu
import oslo_messaging
from oslo_config import cfg

from bridge.startup import StartupError, redact_url

RABBIT = ('rabbit',)
DEFAULT_HOST = ('localhost', 5672, 'guest', 'guest')


def _shown(url: str | None) -> str:
    return redact_url(url) if url else '(default)'


def _ssl(conf: cfg.ConfigOpts) -> bool:
    try:
        return bool(conf.oslo_messaging_rabbit.ssl)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return False


def _try(host: tuple[str, int, str, str], vhost: str, timeout: float,
         ssl: bool) -> str | None:
    """None when a connection and login succeed, else why not."""
    hostname, port, user, password = host
    conn = kombu.Connection(hostname=hostname, port=port, userid=user,
                            password=password, virtual_host=vhost,
                            connect_timeout=timeout, ssl=ssl,
                            transport='pyamqp')
    try:
        conn.connect()
    except Exception as exc:  # noqa: BLE001 - every failure is reported
        return '%s:%d: %s' % (hostname, port, str(exc) or type(exc).__name__)
    finally:
        conn.release()
    return None


def check_url(conf: cfg.ConfigOpts, url: str | None, timeout: float,
              option: str) -> None:
    try:
        parsed: Any = oslo_messaging.TransportURL.parse(conf, url)
    except oslo_messaging.InvalidTransportURL as exc:
        raise StartupError('invalid transport URL %s: %s' % (_shown(url), exc),
                           'check %s.' % option)
    if parsed.transport not in RABBIT:
        return
    hosts = [(h.hostname or 'localhost', h.port or 5672,
              h.username or 'guest', h.password or 'guest')
             for h in parsed.hosts] or [DEFAULT_HOST]
    reasons = []
    for host in hosts:
        reason = _try(host, parsed.virtual_host or '/', timeout, _ssl(conf))
        if reason is None:
            return
        reasons.append(reason)
    raise StartupError(
        'RabbitMQ unreachable at %s (%s)' % (_shown(url), '; '.join(reasons)),
        'check %s (host, port, user, password, virtual host) and that '
        'RabbitMQ runs and accepts connections from this host.' % option)


def check(conf: cfg.ConfigOpts) -> None:
    """Every bus of the listener answers, or StartupError."""
    timeout = conf.listener.broker_check_timeout
    check_url(conf, conf.transport_url, timeout, '[DEFAULT] transport_url')
    for url in conf.listener.extra_transport_urls:
        check_url(conf, url, timeout, '[listener] extra_transport_urls')
