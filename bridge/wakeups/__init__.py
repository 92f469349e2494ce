"""Wake-ups: "a message was stored in queue Q of project P", told to every
bridge-api process, so that long polls and WebSocket subscriptions answer
as soon as something arrives without polling storage.

One small interface (:mod:`bridge.wakeups.base`): a :class:`Publisher`
(called by whoever stores messages: bridge-api, bridge-listener) and a
:class:`Listener` (run on each bridge-api worker's event loop, feeding a
:class:`~bridge.wakeups.hub.Hub` of parked waiters). :func:`publisher` and
:func:`listener` pick the transport from the storage URL:

* PostgreSQL: ``NOTIFY`` on a channel of the database, ``LISTEN`` on one
  connection per API worker (:mod:`bridge.wakeups.postgres`); works across
  hosts.
* SQLite, MariaDB, MongoDB: a Unix datagram socket per API worker in one
  directory (``[wakeup] socket_dir``), to which a publisher sends one
  datagram per worker (:mod:`bridge.wakeups.unix`); works between the
  processes of one host.

A wake-up is a hint, never a message: a waiter woken for nothing re-runs its
request and finds nothing; a lost wake-up delays an answer to the end of
its wait, it loses nothing.
"""

from __future__ import annotations

import os

from oslo_config import cfg

from bridge import conf as bridge_conf
from bridge.wakeups.base import Key, Listener, Publisher


def _scheme(conf: cfg.ConfigOpts) -> str:
    url = bridge_conf.storage_url(conf)
    return url.split(':', 1)[0].split('+', 1)[0].lower()


def socket_dir(conf: cfg.ConfigOpts) -> str:
    """``[wakeup] socket_dir``, else ``$state_path/wakeups``."""
    return conf.wakeup.socket_dir or os.path.join(conf.state_path, 'wakeups')


def publisher(conf: cfg.ConfigOpts) -> Publisher:
    """The publisher for this configuration's storage."""
    if _scheme(conf) in ('postgresql', 'postgres'):
        from bridge.wakeups import postgres
        return postgres.PostgresPublisher(bridge_conf.storage_url(conf))
    from bridge.wakeups import unix
    return unix.UnixPublisher(socket_dir(conf))


def listener(conf: cfg.ConfigOpts) -> Listener:
    """The listener for this configuration's storage (one per API worker)."""
    if _scheme(conf) in ('postgresql', 'postgres'):
        from bridge.wakeups import postgres
        return postgres.PostgresListener(bridge_conf.storage_url(conf))
    from bridge.wakeups import unix
    return unix.UnixListener(socket_dir(conf))


__all__ = ['Key', 'Listener', 'Publisher', 'listener', 'publisher',
           'socket_dir']
