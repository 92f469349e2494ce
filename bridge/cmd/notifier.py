"""bridge-notifier: deliver queue messages to webhook and email
subscribers. Run as many as needed, on any hosts; they share the work."""

from __future__ import annotations

import signal
import sys
from typing import Any

from oslo_config import cfg
from oslo_log import log

from bridge import conf as bridge_conf
from bridge import storage as bridge_storage
from bridge import startup
from bridge.cmd import common
from bridge.metrics import sampler
from bridge.metrics import server as metrics_server
from bridge.notifier import service
from bridge.storage import errors as storage_errors

LOG = log.getLogger(__name__)


def start_metrics(conf: cfg.ConfigOpts, storage: Any) -> Any:
    """Serve the notifier's metrics and the sampled subscription
    backlogs on [notifier] metrics_port (None when 0)."""
    if not conf.notifier.metrics_port:
        return None
    backlogs = sampler.StorageSampler(
        storage, limit=conf.metrics.sample_limit,
        interval=conf.metrics.sample_interval, backlogs=True)
    return metrics_server.serve(conf.metrics.host,
                                conf.notifier.metrics_port, backlogs)


def deliver(args: list[str]) -> int:
    conf = cfg.ConfigOpts()
    log.register_options(conf)
    bridge_conf.register_opts(conf)
    conf(args, project='bridge', prog='bridge-notifier')
    log.setup(conf, 'bridge')
    url = bridge_conf.storage_url(conf)
    try:
        storage = bridge_storage.from_url(url, conf)
    except ValueError as exc:  # [storage] url or [encryption] keys
        raise startup.StartupError(str(exc), 'check [storage] url and [encryption] '
                           'in the configuration file.') from exc
    try:
        try:
            storage.ensure_schema()
        except storage_errors.Unavailable as exc:
            raise startup.storage_unavailable(url, exc)
        server = start_metrics(conf, storage)
        notifier = service.NotifierService(conf, storage)

        def on_signal(signum: int, frame: Any) -> None:
            LOG.info('Signal %d received; finishing deliveries in flight',
                     signum)
            notifier.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            notifier.run()
        finally:
            if server is not None:
                server.shutdown()
    finally:
        storage.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    return common.run('bridge-notifier', deliver, argv)


if __name__ == '__main__':
    sys.exit(main())
