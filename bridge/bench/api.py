"""``bridge-bench api``: the Zaqar v2 post/claim/delete workload against
bridge-api and two references, measured in one run on one machine.

Workload (driven by wrk, lua/zaqar_workload.lua): ``--connections``
connections, each repeating 5 single-message posts, one claim of up to 5
messages and a DELETE with claim_id of every claimed message, over 4
queues. Targets (:mod:`.targets`): bridge-api on its SQLite default and on
PostgreSQL as it ships (granian), the no-op falcon app on granian's WSGI
interface at 1 and 2 workers (the faster is the round's ceiling) and Zaqar
23 on Redis under granian x4, its best configuration measured here; all on
127.0.0.1.

The machine's speed drifts, so the targets are measured in ``--rounds``
rounds: in each, every target is started (fresh state), warmed up,
measured for its share of ``--duration`` and stopped, one after another
(never two servers at once), in the canonical order in odd rounds and
the reverse order in even ones. bridge's ratios to the ceiling and to
Zaqar are taken within each round; the verdict is their median.

A target is FAILED when, in any round, any post, claim (an empty claim,
204, is counted but fine) or delete failed or timed out, or it could not
be measured. bridge's targets are at least 60% of the ceiling's rate and
at least 5 times Zaqar's (median over the rounds).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import tempfile
import uuid

from bridge import conf as bridge_conf
from bridge.bench import api_report
from bridge.bench import procs
from bridge.bench import targets as tg
from bridge.bench import wrk
from bridge.bench import zaqar_ref
from bridge.bench.api_report import Outcome, Round

QUEUES = 4
POSTS_PER_CYCLE = 5
CLAIM_LIMIT = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--duration', type=_positive_float, default=20.0,
                        help='Seconds each target is measured in all, split '
                             'over the rounds in whole seconds (default 20).')
    parser.add_argument('--rounds', type=_positive_int, default=3,
                        help='Rounds to split each target\'s measurement '
                             'into; ratios are taken within a round and the '
                             'median over the rounds is reported (default 3).')
    parser.add_argument('--warmup', type=_non_negative_float, default=3.0,
                        help='Seconds of unmeasured load after each start of '
                             'a target, so once per round (default 3; 0 to '
                             'skip).')
    parser.add_argument('--connections', type=_positive_int, default=32,
                        help='Concurrent connections (default 32).')
    parser.add_argument('--targets', type=_target_list, default=list(tg.ALL),
                        help='Comma-separated subset of: %s (default: all).'
                             % ', '.join(tg.ALL))
    parser.add_argument('--skip-zaqar', action='store_true',
                        help='Leave out the Zaqar reference.')
    parser.add_argument('--workers', type=_non_negative_int,
                        default=_api_default('workers'),
                        help='bridge-api worker processes ([api] workers; '
                             'default: its default, %(default)s, which '
                             'picks by storage).')
    parser.add_argument('--threads', type=_non_negative_int,
                        default=_api_default('threads'),
                        help='bridge-api threads per worker ([api] '
                             'threads; default: its default, %(default)s, '
                             'which picks by storage).')
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


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError('must not be negative')
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


def selected_targets(args: argparse.Namespace) -> list[str]:
    """The targets to measure, in measuring order."""
    return [t for t in args.targets if not (args.skip_zaqar and t == tg.ZAQAR)]


def round_durations(args: argparse.Namespace) -> list[int]:
    """Seconds measured in each round: ``--duration`` (rounded to whole
    seconds, which is what wrk measures) split as evenly as possible, the
    longer rounds first. Every target gets the same seconds in a round."""
    total = round(args.duration)
    if total < args.rounds:
        raise procs.BenchError(
            '--duration %gs cannot be split into %d rounds of at least 1s'
            % (args.duration, args.rounds))
    base, extra = divmod(total, args.rounds)
    return [base + 1] * extra + [base] * (args.rounds - extra)


def round_order(names: list[str], number: int) -> list[str]:
    """Measuring order in round ``number`` (from 1): canonical in odd
    rounds, reversed in even ones, so a steady drift of the machine's
    speed does not always favour the targets measured first."""
    return list(names) if number % 2 else list(reversed(names))


def measure(name: str, settings: tg.Settings, wrk_bin: str,
            args: argparse.Namespace, duration: float) -> Outcome:
    """Start one target, warm it up, measure it for ``duration`` s, stop
    it."""
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
            result = _load(wrk_bin, port, queues, duration, args.connections)
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


def report(rounds: list[Round], args: argparse.Namespace) -> list[str]:
    """The results table and bridge's median ratios, as lines of text."""
    durations = round_durations(args)
    header = [
        'bridge-bench api: %d connections, %ds per target in %d round%s (%s), '
        'each after a fresh start and %gs of warm-up'
        % (args.connections, sum(durations), len(durations),
           's' if len(durations) > 1 else '',
           ' + '.join('%ds' % d for d in durations), args.warmup),
        'each connection: %d posts, 1 claim (limit %d), deletes; %d queues; '
        'order: canonical in odd rounds, reversed in even ones'
        % (POSTS_PER_CYCLE, CLAIM_LIMIT, QUEUES),
        'bridge-api (granian, ASGI): %s workers x %s threads; no-op app: '
        'granian WSGI x1 and x2 (ceiling: the faster in each round); Zaqar: '
        'granian WSGI x%d' % (
            args.workers or 'auto (1 on SQLite, %d on PostgreSQL)'
            % bridge_conf.NETWORK_DATABASE_WORKERS,
            args.threads or 'auto (1 on SQLite, %d on PostgreSQL)'
            % bridge_conf.NETWORK_DATABASE_THREADS, tg.ZAQAR_WORKERS),
        'posts/claims/deletes count 2xx answers; empty = claims answered '
        '204 (nothing to claim; not a failure)']
    return api_report.report(rounds, header)


def _settings_json(args: argparse.Namespace) -> dict:
    return {'duration_s': args.duration, 'rounds': args.rounds,
            'round_durations_s': round_durations(args),
            'warmup_s': args.warmup, 'connections': args.connections,
            'workers': args.workers, 'threads': args.threads,
            'targets': selected_targets(args)}


def run(args: argparse.Namespace) -> int:
    """Measure every selected target in every round; 0 if none FAILED,
    1 otherwise."""
    names = selected_targets(args)
    if not names:
        print('no target selected')
        return 2
    durations = round_durations(args)
    wrk_bin = wrk.ensure_wrk()
    run_dir = tempfile.mkdtemp(prefix='bridge-bench-')
    settings = tg.Settings(run_dir=run_dir, workers=args.workers,
                           threads=args.threads,
                           postgresql_url=args.postgresql_url,
                           zaqar_venv=args.zaqar_venv,
                           redis_port=args.redis_port, redis_db=args.redis_db)
    rounds: list[Round] = []
    errors = False
    try:
        for number, duration in enumerate(durations, 1):
            rnd = Round(number, os.getloadavg()[0])
            rounds.append(rnd)
            print('round %d/%d: %ds per target (load average %.2f)'
                  % (number, len(durations), duration, rnd.load_average),
                  flush=True)
            # Each round starts every target from scratch (a new SQLite
            # file, as a run always did), in its own directory.
            round_settings = dataclasses.replace(
                settings, run_dir=os.path.join(run_dir, 'round-%d' % number))
            os.makedirs(round_settings.run_dir)
            for name in round_order(names, number):
                if any(r.outcomes.get(name) and r.outcomes[name].error
                       for r in rounds[:-1]):
                    continue  # could not be measured before: FAILED already
                print('  measuring %-18s (%s; load average %.2f) ...'
                      % (name, tg.DESCRIPTIONS[name], os.getloadavg()[0]),
                      flush=True)
                outcome = measure(name, round_settings, wrk_bin, args, duration)
                rnd.outcomes[name] = outcome
                errors = errors or bool(outcome.error)
    finally:
        if args.keep_run_dir or errors:
            print('servers\' configs and logs: %s' % run_dir)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    print('\n'.join(report(rounds, args)))
    if args.json:
        with open(args.json, 'w') as out:
            json.dump(api_report.as_json(rounds, _settings_json(args)), out,
                      indent=2)
    return 1 if any(api_report.failed(rounds, n) for n in names) else 0
