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
from bridge.notifier import service

LOG = log.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    conf = cfg.ConfigOpts()
    log.register_options(conf)
    bridge_conf.register_opts(conf)
    conf(sys.argv[1:] if argv is None else argv, project='bridge',
         prog='bridge-notifier')
    log.setup(conf, 'bridge')
    try:
        storage = bridge_storage.from_conf(conf)
    except ValueError as exc:  # [storage] url or [encryption] keys
        sys.exit('bridge-notifier: %s' % exc)
    storage.ensure_schema()
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
        storage.close()


if __name__ == '__main__':
    main()
