"""bridge-api's HTTP server: granian (HTTP parsed in Rust) serving
:class:`bridge.api.asgi.WSGIBridge` around the WSGI application.

The main process checks that the address is free and forks the worker
processes (:func:`api_workers`); each builds its own application and storage
connections (:func:`worker_app`), listens on the address (granian binds
one socket per worker, with SO_REUSEPORT) and runs an event loop that reads
requests and runs the WSGI application (inline, or in a pool of threads:
:func:`api_threads`). On SIGTERM or SIGINT the workers stop accepting connections,
finish the requests they hold (at most ``[api] graceful_timeout`` seconds)
and exit.
"""

from __future__ import annotations

import errno
import functools
import socket
import threading
import time
from typing import Any, Callable, Sequence

from oslo_config import cfg
from oslo_log import log

from bridge import conf as bridge_conf
from bridge import storage
from bridge.api import app
from bridge.api import asgi

LOG = log.getLogger(__name__)

CLI_OPTS = [
    cfg.HostAddressOpt('bind-host',
                       help='Address to listen on (overrides [api] '
                            'bind_host).'),
    cfg.PortOpt('bind-port',
                help='Port to listen on (overrides [api] bind_port).'),
]

# granian's own log lines go through bridge's (oslo.log) handlers.
_GRANIAN_LOGGING = {
    'formatters': {}, 'handlers': {},
    'loggers': {'_granian': {'handlers': [], 'propagate': True},
                'granian.access': {'handlers': [], 'propagate': True}},
}


class AddressInUse(Exception):
    """Another process listens on the address."""


def bind_address(conf: cfg.ConfigOpts) -> tuple[str, int]:
    """(host, port) from the command line, else ``[api]``."""
    return (conf.bind_host or conf.api.bind_host,
            conf.bind_port or conf.api.bind_port)


def display_address(host: str, port: int) -> str:
    return '%s:%d' % ('[%s]' % host if ':' in host else host, port)


def check_free(host: str, port: int) -> None:
    """Raise AddressInUse if the address cannot be bound.

    granian binds with SO_REUSEPORT, which lets a second server share a
    port with the first silently; a plain bind here (no SO_REUSEPORT)
    fails when anything listens there."""
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise AddressInUse('%s is already in use'
                                   % display_address(host, port))
            raise


def _on_sqlite(conf: cfg.ConfigOpts) -> bool:
    return bridge_conf.storage_url(conf).startswith('sqlite')


def api_workers(conf: cfg.ConfigOpts) -> int:
    """``[api] workers``, with 0 resolved by the storage: 1 on SQLite (one
    writer), more on a network database."""
    if conf.api.workers:
        return conf.api.workers
    return 1 if _on_sqlite(conf) else bridge_conf.NETWORK_DATABASE_WORKERS


def api_threads(conf: cfg.ConfigOpts) -> int:
    """``[api] threads``, with 0 resolved by the storage: 1 on SQLite, a
    pool on a network database."""
    if conf.api.threads:
        return conf.api.threads
    return 1 if _on_sqlite(conf) else bridge_conf.NETWORK_DATABASE_THREADS


def worker_app(args: Sequence[str]) -> asgi.WSGIBridge:
    """The ASGI application of one worker process, from the same command
    line arguments as the main process."""
    from bridge.api import wsgi
    conf = wsgi.load_conf(args, cli_opts=CLI_OPTS)
    wsgi_app = app.make_wsgi_app(conf, storage.from_conf(conf))
    return asgi.WSGIBridge(wsgi_app, api_threads(conf),
                           conf.limits.max_request_body)


def build(conf: cfg.ConfigOpts, args: Sequence[str]) -> Any:
    """A granian server (not started) for ``conf``; raises AddressInUse."""
    from granian.constants import Interfaces
    from granian.constants import Loops
    from granian.log import LogLevels
    from granian.server import Server

    host, port = bind_address(conf)
    check_free(host, port)
    server = Server(
        'bridge.api.server:worker_app',
        address=host, port=port,
        interface=Interfaces.ASGI,
        workers=api_workers(conf),
        loop=Loops.auto,  # uvloop (a requirement) when it imports
        backpressure=conf.api.max_requests_per_worker,
        workers_kill_timeout=conf.api.graceful_timeout,
        # A worker that dies (OOM killer, a crash) is replaced, as an
        # operator expects of a pre-fork server; the others keep serving.
        respawn_failed_workers=True,
        log_level=(LogLevels.debug if getattr(conf, 'debug', False)
                   else LogLevels.warning),
        log_dictconfig=_GRANIAN_LOGGING,
        process_name='bridge-api',
        websockets=False,
    )
    return server


def _when_listening(host: str, port: int, callback: Callable[[], None],
                    timeout: float = 300.0) -> None:
    """Call ``callback`` (in a thread) once a connection to the address
    is accepted. On Linux granian's workers bind their own sockets
    (SO_REUSEPORT) after they have loaded the application, so the main
    process cannot know otherwise."""
    def probe() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((host, port), timeout=1.0):
                    callback()
                    return
            except OSError:
                time.sleep(0.02)
    threading.Thread(target=probe, name='bridge-api-ready',
                     daemon=True).start()


def serve(conf: cfg.ConfigOpts, args: Sequence[str],
          on_listening: Callable[[str], None]) -> None:
    """Serve until SIGTERM/SIGINT. ``on_listening`` is called with the
    address once a worker accepts connections."""
    server = build(conf, args)
    host, port = bind_address(conf)
    address = display_address(host, port)
    server.on_startup(lambda: _when_listening(
        host, port, lambda: on_listening(address)))
    # A picklable loader: the workers parse the same arguments.
    loader = functools.partial(worker_app, list(args))
    server.serve(target_loader=loader, wrap_loader=False)
