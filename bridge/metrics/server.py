"""The ``/metrics`` HTTP endpoint of bridge-listener and bridge-notifier
(``[listener] metrics_port``, ``[notifier] metrics_port``; 0: none)."""

from __future__ import annotations

import errno
from typing import Any

from oslo_log import log
from prometheus_client import exposition
from prometheus_client.registry import Collector

from bridge.metrics import multiproc
from bridge.startup import StartupError

LOG = log.getLogger(__name__)


class _Fresh:
    """A registry built anew for each scrape (multi-process files come
    and go with the workers)."""

    def __init__(self, extra: tuple[Collector, ...]) -> None:
        self._extra = extra

    def collect(self) -> Any:
        return multiproc.registry(*self._extra).collect()


def serve(host: str, port: int, *extra: Collector) -> Any:
    """Serve this process's (or its workers') metrics and ``extra``
    collectors on ``host:port`` from a daemon thread; return the server
    (``shutdown()`` stops it). A port in use is a :class:`StartupError`."""
    try:
        server, _thread = exposition.start_http_server(
            port, addr=host, registry=_Fresh(extra))  # type: ignore[arg-type]
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                'metrics port %s:%d is already in use' % (host, port),
                'stop the other process, or set a free metrics_port (0 '
                'turns the metrics endpoint off).')
        raise StartupError('cannot serve metrics on %s:%d: %s'
                           % (host, port, exc.strerror or exc),
                           'check [metrics] host and the metrics_port.')
    LOG.info('Serving metrics on http://%s:%d/metrics', host, port)
    return server
