"""``bridge-api``: serve the REST API.

    bridge-api [--config-file FILE] [--bind-host HOST] [--bind-port PORT]

With no configuration at all it listens on 127.0.0.1:8888 with
``auth_strategy = noauth`` and keeps messages in an SQLite file under
``[DEFAULT] state_path``. It creates missing tables/indexes at start (the
same as ``bridge-manage db sync``), then serves with granian
(:mod:`bridge.api.server`): ``[api] workers`` processes, each with its own
storage connections and ``[api] threads`` threads (by default chosen by
the storage). A busy port or an
unavailable storage ends it with one line on stderr and exit status 1;
SIGTERM ends it, after in-flight requests are answered, with status 0.
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

from oslo_config import cfg
from oslo_log import log

from bridge import conf as bridge_conf
from bridge import storage
from bridge.api import server
from bridge.api import wsgi
from bridge.cmd import common
from bridge.metrics import multiproc
from bridge.startup import StartupError
from bridge.startup import redact_url  # noqa: F401 - re-exported

LOG = log.getLogger(__name__)

CLI_OPTS = server.CLI_OPTS


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


def _fail(message: str) -> int:
    print('bridge-api: %s' % message, file=sys.stderr)
    return 1


def serve(args: list[str]) -> int:
    conf = wsgi.load_conf(args, cli_opts=CLI_OPTS)
    try:
        url = prepare_storage(conf)
    except ValueError as exc:  # [storage] url or [encryption] keys
        raise StartupError(str(exc), 'check [storage] url and [encryption] '
                           'in the configuration file.') from exc
    multiproc.prepare()  # before workers start: /metrics merges them all

    def listening(address: str) -> None:
        LOG.info('bridge-api serving on http://%s (auth_strategy=%s, '
                 'storage=%s, %d workers x %d threads)', address,
                 conf.auth_strategy, url, server.api_workers(conf),
                 server.api_threads(conf))

    try:
        server.serve(conf, args, listening)
    except server.AddressInUse as exc:
        return _fail('cannot listen: %s' % exc)
    except (OSError, RuntimeError) as exc:
        # granian reports a failed bind as RuntimeError("... (os error N)")
        # followed by a Rust backtrace: keep its first line.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ''
        if isinstance(exc, RuntimeError) and 'os error' not in first:
            raise
        return _fail('cannot listen on %s: %s' % (
            server.display_address(*server.bind_address(conf)),
            first or type(exc).__name__))
    except SystemExit as exc:
        # granian exits non-zero when a worker died.
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return common.run('bridge-api', serve, argv)


if __name__ == '__main__':
    sys.exit(main())
