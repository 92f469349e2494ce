"""``bridge-manage``: administration commands.

    bridge-manage [--config-file FILE] db sync

``db sync`` creates the tables, collections and indexes that are missing in
the storage named by ``[storage] url`` (idempotent; safe while services run).
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from oslo_config import cfg

from bridge import conf as bridge_conf
from bridge.api import wsgi
from bridge.cmd import api as api_cmd
from bridge.storage import errors as storage_errors


def db_sync(conf: cfg.ConfigOpts) -> int:
    try:
        url = api_cmd.prepare_storage(conf)
    except storage_errors.Unavailable as exc:
        print('Storage unavailable (%s): %s'
              % (api_cmd.redact_url(bridge_conf.storage_url(conf)), exc),
              file=sys.stderr)
        return 1
    print('Storage schema is up to date: %s' % url)
    return 0


def _add_commands(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser('db', help='Storage schema commands.')
    actions = db.add_subparsers(title='db commands', dest='action')
    actions.required = True
    sync = actions.add_parser(
        'sync', help='Create missing tables, collections and indexes.')
    sync.set_defaults(handler=db_sync)


COMMAND = cfg.SubCommandOpt('command', title='Commands',
                            help='Available commands',
                            handler=_add_commands)


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    conf = wsgi.load_conf(args, cli_opts=[COMMAND])
    handler: Callable[[cfg.ConfigOpts], int] = conf.command.handler
    return handler(conf)


if __name__ == '__main__':
    sys.exit(main())
