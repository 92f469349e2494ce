"""bridge-listener: consume OpenStack notifications into tenant queues."""

from __future__ import annotations

import sys

from oslo_config import cfg
from oslo_log import log

from bridge import conf as bridge_conf
from bridge.listeners import service
from bridge.storage import codec


def main(argv: list[str] | None = None) -> None:
    conf = cfg.ConfigOpts()
    log.register_options(conf)
    bridge_conf.register_opts(conf)
    service.register_opts(conf)
    conf(sys.argv[1:] if argv is None else argv, project='bridge',
         prog='bridge-listener')
    log.setup(conf, 'bridge')
    try:
        codec.BodyCodec.from_conf(conf)
    except ValueError as exc:
        sys.exit('bridge-listener: %s' % exc)
    service.run(conf)


if __name__ == '__main__':
    main()
