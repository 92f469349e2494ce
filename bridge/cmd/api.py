"""``bridge-api``: serve the REST API with gunicorn.

    bridge-api [--config-file FILE] [--bind-host HOST] [--bind-port PORT]

With no configuration at all it listens on 127.0.0.1:8888 with
``auth_strategy = noauth`` and keeps messages in an SQLite file under
``[DEFAULT] state_path``. It creates missing tables/indexes at start (the
same as ``bridge-manage db sync``), then forks ``[api] workers`` processes,
each serving with ``[api] threads`` threads and its own storage connections.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Sequence

from gunicorn.app.base import BaseApplication
from oslo_config import cfg
from oslo_log import log

from bridge import conf as bridge_conf
from bridge import storage
from bridge.api import app
from bridge.api import wsgi
from bridge.storage import errors as storage_errors

LOG = log.getLogger(__name__)

CLI_OPTS = [
    cfg.HostAddressOpt('bind-host',
                       help='Address to listen on (overrides [api] '
                            'bind_host).'),
    cfg.PortOpt('bind-port',
                help='Port to listen on (overrides [api] bind_port).'),
]


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages."""
    return re.sub(r'(//[^/:@]*:)[^/@]*@', r'\1***@', url)


def prepare_storage(conf: cfg.ConfigOpts) -> str:
    """Create the state directory (embedded default) and the schema (of
    the registered pools too); return the (redacted) storage URL."""
    if not conf.storage.url:
        os.makedirs(conf.state_path, exist_ok=True)
    url = bridge_conf.storage_url(conf)
    store = storage.from_conf(conf)
    try:
        store.ensure_schema()
    finally:
        store.close()
    return redact_url(url)


class Server(BaseApplication):
    """gunicorn embedded: every worker builds its own app and storage."""

    def __init__(self, conf: cfg.ConfigOpts, options: dict[str, Any]) -> None:
        self._conf = conf
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in self.cfg.settings:  # settings vary across versions
                self.cfg.set(key, value)

    def load(self) -> Any:
        return app.make_wsgi_app(self._conf, storage.from_conf(self._conf))


def gunicorn_options(conf: cfg.ConfigOpts) -> dict[str, Any]:
    host = conf.bind_host or conf.api.bind_host
    port = conf.bind_port or conf.api.bind_port
    if ':' in host:
        host = '[%s]' % host
    threads = conf.api.threads
    return {
        'bind': '%s:%d' % (host, port),
        'workers': conf.api.workers,
        'threads': threads,
        'worker_connections': conf.api.worker_connections,
        # gthread also with one thread: unlike sync workers it keeps
        # client connections alive between requests.
        'worker_class': 'gthread',
        'proc_name': 'bridge-api',
        'timeout': 60,
        'graceful_timeout': 30,
        'keepalive': 5,
        'errorlog': '-',
        # gunicorn >= 24 opens a control socket at a fixed per-user path;
        # two servers would fight over it and bridge does not use it.
        'control_socket_disable': True,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    conf = wsgi.load_conf(args, cli_opts=CLI_OPTS)
    try:
        url = prepare_storage(conf)
    except storage_errors.Unavailable as exc:
        print('bridge-api: storage unavailable: %s' % exc, file=sys.stderr)
        return 1
    options = gunicorn_options(conf)
    LOG.info('bridge-api serving on http://%s (auth_strategy=%s, '
             'storage=%s, %d workers x %d threads)', options['bind'],
             conf.auth_strategy, url, options['workers'], options['threads'])
    Server(conf, options).run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
