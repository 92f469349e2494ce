"""``bridge-bench api``: the Zaqar v2 post/claim/delete workload against
bridge-api and two references, measured in one run on one machine.

Workload (driven by wrk, lua/zaqar_workload.lua): ``--connections``
connections, each repeating 5 single-message posts, one claim of up to 5
messages and a DELETE with claim_id of every claimed message, over 4
queues. Targets: bridge-api on its SQLite default and on PostgreSQL, the
no-op falcon app (the ceiling) and Zaqar 23 on Redis; all under gunicorn
with the same workers and threads, all on 127.0.0.1.

A target's run is FAILED when any post, claim (an empty claim, 204, is
counted but fine) or delete failed or timed out. bridge's targets are at
least 60% of the ceiling's rate and at least 5 times Zaqar's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass

from bridge import conf as bridge_conf
from bridge.bench import procs
from bridge.bench import targets as tg
from bridge.bench import wrk
from bridge.bench import zaqar_ref

QUEUES = 4
POSTS_PER_CYCLE = 5
CLAIM_LIMIT = 5
CEILING_TARGET = 0.60
ZAQAR_TARGET = 5.0


@dataclass
class Outcome:
    """What one target gave: a wrk result, or why there is none."""

    target: str
    result: wrk.WrkResult | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.result is None or bool(self.result.failures)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--duration', type=_positive_float, default=20.0,
                        help='Seconds each target is measured (default 20).')
    parser.add_argument('--warmup', type=_non_negative_float, default=3.0,
                        help='Seconds of unmeasured load before each '
                             'measurement (default 3; 0 to skip).')
    parser.add_argument('--connections', type=_positive_int, default=32,
                        help='Concurrent connections (default 32).')
    parser.add_argument('--targets', type=_target_list, default=list(tg.ALL),
                        help='Comma-separated subset of: %s (default: all).'
                             % ', '.join(tg.ALL))
    parser.add_argument('--skip-zaqar', action='store_true',
                        help='Leave out the Zaqar reference.')
    parser.add_argument('--workers', type=_positive_int,
                        default=_api_default('workers'),
                        help='gunicorn worker processes of every target '
                             '(bridge-api: [api] workers; default: its '
                             'default, %(default)s).')
    parser.add_argument('--threads', type=_positive_int,
                        default=_api_default('threads'),
                        help='Threads per worker of every target '
                             '(bridge-api: [api] threads; default: its '
                             'default, %(default)s).')
    parser.add_argument('--postgresql-url',
                        default='postgresql://postgres@127.0.0.1:5432/bridge_bench',
                        help='Database of the bridge-postgresql target; '
                             'created if missing.')
    parser.add_argument('--zaqar-venv', default=zaqar_ref.default_venv(),
                        help='Virtualenv holding Zaqar, created on first use '
                             '(default: %(default)s).')
    parser.add_argument('--redis-port', type=_positive_int, default=6379,
                        help='Port of the Redis server on 127.0.0.1 that '
                             'Zaqar uses (default 6379).')
    parser.add_argument('--redis-db', type=int, default=13,
                        help='Redis database for Zaqar; FLUSHED before the '
                             'run (default 13).')
    parser.add_argument('--keep-run-dir', action='store_true',
                        help='Keep the temporary directory with the servers\' '
                             'configs and logs.')
    parser.add_argument('--json', metavar='PATH',
                        help='Also write the results as JSON to PATH.')
    parser.set_defaults(func=run)


def _api_default(name: str) -> int:
    """The default of bridge-api's ``[api] name``: bridge is measured as
    it runs out of the box, and the references get the same settings."""
    for opt in bridge_conf.api_opts:
        if opt.dest == name:
            return int(opt.default)
    raise KeyError(name)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError('must be at least 1')
    return value


def _positive_float(text: str) -> float:
    value = float(text.rstrip('s'))
    if value <= 0:
        raise argparse.ArgumentTypeError('must be positive')
    return value


def _non_negative_float(text: str) -> float:
    value = float(text.rstrip('s'))
    if value < 0:
        raise argparse.ArgumentTypeError('must not be negative')
    return value


def _target_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(',') if name.strip()]
    unknown = sorted(set(names) - set(tg.ALL))
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            'unknown target(s) %s; choose from %s'
            % (', '.join(unknown) or '(none)', ', '.join(tg.ALL)))
    return [name for name in tg.ALL if name in names]


def connections_per_worker(args: argparse.Namespace) -> int:
    """Each worker's share of the connections (see :mod:`.targets`)."""
    return -(-args.connections // args.workers)


def selected_targets(args: argparse.Namespace) -> list[str]:
    """The targets to measure, in measuring order."""
    return [t for t in args.targets if not (args.skip_zaqar and t == tg.ZAQAR)]


def measure(name: str, settings: tg.Settings, wrk_bin: str,
            args: argparse.Namespace) -> Outcome:
    """Start one target, warm it up, measure it, stop it."""
    port = procs.free_port()
    run_id = uuid.uuid4().hex[:8]
    queues = ['bench-%s-%d' % (run_id, n) for n in range(QUEUES)]
    try:
        server = tg.FACTORIES[name](settings, port)
        with procs.running(server, timeout=90.0):
            for queue in queues:
                _create_queue(port, queue)
            if args.warmup:
                _load(wrk_bin, port, queues, args.warmup, args.connections)
            result = _load(wrk_bin, port, queues, args.duration, args.connections)
            for queue in queues:
                _delete_queue(port, queue)
        return Outcome(name, result=result)
    except procs.BenchError as exc:
        return Outcome(name, error=str(exc))


def _load(wrk_bin: str, port: int, queues: list[str], duration: float,
          connections: int) -> wrk.WrkResult:
    return wrk.run(wrk_bin, port, queues, duration, connections,
                   project=procs.BENCH_PROJECT, posts=POSTS_PER_CYCLE,
                   claim_limit=CLAIM_LIMIT)


def _create_queue(port: int, queue: str) -> None:
    try:
        status, body = procs.http_call(port, 'PUT', '/v2/queues/' + queue, '{}')
    except OSError as exc:
        raise procs.BenchError('PUT queue %s: %s' % (queue, exc))
    if status not in (201, 204):
        raise procs.BenchError('PUT queue %s answered %d: %s'
                               % (queue, status, body[:300].decode('utf-8', 'replace')))


def _delete_queue(port: int, queue: str) -> None:
    """Best effort: a leftover queue only costs disk in the bench database."""
    try:
        procs.http_call(port, 'DELETE', '/v2/queues/' + queue, timeout=30.0)
    except OSError:
        pass


def report(outcomes: list[Outcome], args: argparse.Namespace) -> list[str]:
    """The results table and bridge's ratios, as lines of text."""
    lines = ['', 'bridge-bench api: %d connections, %gs per target (+%gs warm-up); '
             'each connection: %d posts, 1 claim (limit %d), deletes; %d queues'
             % (args.connections, args.duration, args.warmup, POSTS_PER_CYCLE,
                CLAIM_LIMIT, QUEUES),
             'every target: gunicorn gthread, %d workers x %d threads, at most '
             '%d connections per worker'
             % (args.workers, args.threads, connections_per_worker(args)),
             'posts/claims/deletes count 2xx answers; empty = claims answered '
             '204 (nothing to claim; not a failure)', '']
    head = ('%-18s %8s %7s %7s %7s %7s %6s %7s %14s %8s  %s'
            % ('target', 'req/s', 'p50 ms', 'p99 ms', 'posts', 'claims',
               'empty', 'deletes', 'failed p/c/d', 'sock err', 'status'))
    lines += [head, '-' * len(head)]
    by_name = {o.target: o for o in outcomes}
    for o in outcomes:
        if o.result is None:
            lines.append('%-18s %s' % (o.target, 'ERROR: ' + (o.error or '?').splitlines()[0]))
            continue
        r, c = o.result, o.result.counts
        failed = '%d/%d/%d' % (c['post_failed'], c['claim_failed'],
                               c['delete_failed'])
        lines.append('%-18s %8.0f %7.1f %7.1f %7d %7d %6d %7d %14s %8d  %s' % (
            o.target, r.rate, r.p50_ms, r.p99_ms, c['post_ok'],
            c['claim_ok'], c['claim_empty'], c['delete_ok'], failed,
            sum(r.socket_errors.values()), 'FAILED' if r.failures else 'ok'))
    lines.append('')
    for o in outcomes:
        if o.error:
            lines.append('%s: %s' % (o.target, o.error))
        elif o.result and o.result.failures:
            lines.append('%s FAILED: %s' % (o.target, '; '.join(o.result.failures)))
        if o.result and any(o.result.socket_errors.values()):
            lines.append('%s socket errors: %s' % (o.target, o.result.socket_errors))
    lines += _ratios(by_name)
    return lines


def _ratios(by_name: dict[str, Outcome]) -> list[str]:
    def rate(name: str) -> float | None:
        o = by_name.get(name)
        return o.result.rate if o and o.result and o.result.rate else None

    lines = []
    ceiling, zaqar = rate(tg.NOOP), rate(tg.ZAQAR)
    for name in tg.BRIDGE_TARGETS:
        own = rate(name)
        if own is None:
            continue
        parts = []
        if ceiling:
            share = own / ceiling
            parts.append('%.0f%% of the ceiling (target >= %.0f%%: %s)' % (
                share * 100, CEILING_TARGET * 100,
                'met' if share >= CEILING_TARGET else 'MISSED'))
        if zaqar:
            times = own / zaqar
            parts.append('%.1fx Zaqar (target >= %.0fx: %s)' % (
                times, ZAQAR_TARGET, 'met' if times >= ZAQAR_TARGET else 'MISSED'))
        if parts:
            lines.append('%s: %s' % (name, ', '.join(parts)))
    return lines


def _as_json(outcomes: list[Outcome]) -> dict:
    doc = {}
    for o in outcomes:
        entry: dict = {'description': tg.DESCRIPTIONS[o.target]}
        if o.result:
            r = o.result
            entry.update(rate=r.rate, requests=r.requests, duration_s=r.duration_s,
                         p50_ms=r.p50_ms, p90_ms=r.p90_ms, p99_ms=r.p99_ms,
                         max_ms=r.max_ms, counts=r.counts,
                         socket_errors=r.socket_errors, failures=r.failures)
        else:
            entry['error'] = o.error
        doc[o.target] = entry
    return doc


def run(args: argparse.Namespace) -> int:
    """Measure every selected target; 0 if none FAILED, 1 otherwise."""
    names = selected_targets(args)
    if not names:
        print('no target selected')
        return 2
    wrk_bin = wrk.ensure_wrk()
    run_dir = tempfile.mkdtemp(prefix='bridge-bench-')
    settings = tg.Settings(run_dir=run_dir, workers=args.workers,
                           threads=args.threads,
                           postgresql_url=args.postgresql_url,
                           zaqar_venv=args.zaqar_venv,
                           redis_port=args.redis_port, redis_db=args.redis_db,
                           worker_connections=connections_per_worker(args))
    outcomes: list[Outcome] = []
    try:
        for name in names:
            load = os.getloadavg()[0]
            print('measuring %-18s (%s; load average %.2f) ...'
                  % (name, tg.DESCRIPTIONS[name], load), flush=True)
            outcomes.append(measure(name, settings, wrk_bin, args))
    finally:
        if args.keep_run_dir or any(o.error for o in outcomes):
            print('servers\' configs and logs: %s' % run_dir)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    print('\n'.join(report(outcomes, args)))
    if args.json:
        with open(args.json, 'w') as out:
            json.dump(_as_json(outcomes), out, indent=2)
    return 1 if any(o.failed for o in outcomes) else 0
