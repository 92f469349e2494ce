"""``bridge-bench``: benchmarks of bridge. One subcommand per benchmark;
each lives in its own module with ``add_arguments(parser)`` (which sets
``func``) and ``run(args) -> int``.

    bridge-bench api [--duration S] [--connections N] [--targets LIST] ...
    bridge-bench ingest [--count N] [--targets LIST] ...
    bridge-bench deliver [--rate N] [--duration S] [--subscribers LIST] ...
    bridge-bench pooling [--count N] [--chunk N] [--backends LIST] ...
    bridge-bench slow-clients [--header-clients N] [--body-clients N] ...
    bridge-bench push [--rate N] [--duration S] [--waiters N]
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from bridge.bench import api, deliver, ingest, pooling, push, slowclients
from bridge.bench.procs import BenchError

# name -> (module with add_arguments/run, one-line help)
SUBCOMMANDS = {
    'api': (api, 'Zaqar v2 post/claim/delete load against bridge-api, '
                 'a no-op falcon app and Zaqar.'),
    'ingest': (ingest, 'Notifications/s from RabbitMQ into tenant queues, '
                       'against a no-op oslo.messaging listener and a bare '
                       'kombu consumer.'),
    'deliver': (deliver, 'Webhook deliveries/s and post-to-receipt latency '
                         'through bridge-notifier, 1/10/100 subscribers, '
                         'against a no-op deliverer.'),
    'pooling': (pooling, 'Storage calls/s through the pooling facade (no '
                         'pools; queue on a pool) against the bare driver.'),
    'push': (push, 'From an event on RabbitMQ to a waiting client (long '
                   'poll, WebSocket subscription), p50/p99 against the '
                   'bus; waiters held and their memory.'),
    'slow-clients': (slowclients, 'Another tenant\'s latency while clients '
                                  'trickle headers and bodies to '
                                  'bridge-api.'),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='bridge-bench',
        description='Benchmarks of bridge against reference servers on this '
                    'machine (127.0.0.1 only).')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND',
                                       required=True)
    for name, (module, summary) in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=summary,
                                    description=module.__doc__,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
    return parser


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every started server is stopped.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print('interrupted; servers stopped', file=sys.stderr)
        return 130
    except BenchError as exc:
        print('bridge-bench: %s' % exc, file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
