"""bridge-bench: argument parsing, result reading and verdicts, and one
second of the real wrk workload script against the no-op app (this proves
the Lua script parses, keeps its post/claim/delete cycle and reports)."""

import json
import tempfile

import pytest

from bridge import conf as bridge_conf
from bridge.bench import api
from bridge.bench import cli
from bridge.bench import procs
from bridge.bench import targets as tg
from bridge.bench import wrk


def _api_default(name):
    return next(opt.default for opt in bridge_conf.api_opts
                if opt.dest == name)


def _parse(*argv):
    return cli.build_parser().parse_args(['api', *argv])


def test_api_defaults_match_the_issue_workload():
    args = _parse()
    assert args.duration == 20.0
    assert args.connections == 32
    # Every target runs with bridge-api's own [api] defaults.
    assert (args.workers, args.threads) == (_api_default('workers'),
                                            _api_default('threads'))
    assert api.selected_targets(args) == [tg.NOOP, tg.ZAQAR, tg.BRIDGE_SQLITE,
                                          tg.BRIDGE_POSTGRESQL]
    assert args.postgresql_url == 'postgresql://postgres@127.0.0.1:5432/bridge_bench'
    assert (api.QUEUES, api.POSTS_PER_CYCLE, api.CLAIM_LIMIT) == (4, 5, 5)


def test_targets_subset_is_measured_in_canonical_order_and_skip_zaqar_drops_it():
    args = _parse('--targets', 'bridge-sqlite,zaqar,noop', '--skip-zaqar',
                  '--duration', '5s')
    assert api.selected_targets(args) == [tg.NOOP, tg.BRIDGE_SQLITE]
    assert args.duration == 5.0


@pytest.mark.parametrize('argv', [['--targets', 'nosuch'], ['--targets', ','],
                                  ['--connections', '0'], ['--duration', '-1']])
def test_bad_arguments_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        _parse(*argv)
    assert exc.value.code == 2


def test_a_command_is_required():
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args([])


def _result_line(**counts):
    base = dict(post_ok=50, post_failed=0, claim_ok=9, claim_empty=1,
                claim_failed=0, claimed_messages=45, delete_ok=45,
                delete_failed=0)
    base.update(counts)
    doc = {'duration_us': 2_000_000, 'requests': 104, 'bytes': 1,
           'socket_errors': {'connect': 0, 'read': 0, 'write': 0, 'timeout': 0},
           'status_errors': 0,
           'latency_us': {'mean': 1.0, 'max': 9000, 'p50': 1500, 'p90': 3000,
                          'p99': 7000},
           'counts': base, 'first_failure': {}}
    return 'Running 2s test\n' + wrk.RESULT_MARK + json.dumps(doc) + '\n'


def test_wrk_result_line_gives_rate_and_latency_in_ms():
    result = wrk.parse_output(_result_line())
    assert result.rate == 52.0
    assert (result.p50_ms, result.p99_ms) == (1.5, 7.0)
    assert result.counts['claim_empty'] == 1
    assert result.failures == []


def test_failed_claim_or_delete_fails_the_run_but_an_empty_claim_does_not():
    assert wrk.parse_output(_result_line(claim_empty=7)).failures == []
    assert wrk.parse_output(_result_line(claim_failed=1)).failures
    assert wrk.parse_output(_result_line(delete_failed=2)).failures


def test_output_without_result_line_is_an_error():
    with pytest.raises(ValueError):
        wrk.parse_output('wrk: script error\n')


def test_report_states_ratios_against_ceiling_and_zaqar():
    ok = wrk.parse_output(_result_line())

    def at(rate):
        return wrk.WrkResult(**{**ok.__dict__, 'requests': int(rate * 2)})

    outcomes = [api.Outcome(tg.NOOP, at(4000)), api.Outcome(tg.ZAQAR, at(400)),
                api.Outcome(tg.BRIDGE_SQLITE, at(3000)),
                api.Outcome(tg.BRIDGE_POSTGRESQL, at(1000))]
    text = '\n'.join(api.report(outcomes, _parse()))
    assert 'bridge-sqlite: 75% of the ceiling (target >= 60%: met), 7.5x Zaqar (target >= 5x: met)' in text
    assert 'bridge-postgresql: 25% of the ceiling (target >= 60%: MISSED), 2.5x Zaqar (target >= 5x: MISSED)' in text


def test_workload_script_runs_full_cycles_against_the_noop_app():
    try:
        wrk_bin = wrk.ensure_wrk(install=False)
    except procs.BenchError as exc:
        pytest.fail('%s (the benchmark test needs Debian\'s wrk)' % exc)
    with tempfile.TemporaryDirectory() as run_dir:
        settings = tg.Settings(run_dir=run_dir, workers=1, threads=2,
                               postgresql_url='', zaqar_venv='')
        port = procs.free_port()
        with procs.running(tg.noop(settings, port), timeout=30):
            result = wrk.run(wrk_bin, port, ['q0', 'q1'], duration=1,
                             connections=4)
    counts = result.counts
    assert result.failures == []
    assert counts['claim_ok'] > 0
    # Every claim took CLAIM_LIMIT messages (the no-op app always has them),
    # so a connection posts 5 for each claim and deletes what it claimed.
    assert counts['claimed_messages'] == 5 * counts['claim_ok']
    assert counts['post_ok'] >= 5 * counts['claim_ok']
    assert 0 < counts['delete_ok'] <= counts['claimed_messages']
    assert result.rate > 0 and result.p99_ms >= result.p50_ms > 0


def test_every_target_gets_the_same_workers_threads_and_connection_cap(
        tmp_path, monkeypatch):
    """The only difference between targets is the application; each worker
    takes its share of the connections (32 over 3 workers: 11)."""
    args = _parse('--workers', '3', '--threads', '2')
    assert api.connections_per_worker(args) == 11
    settings = tg.Settings(run_dir=str(tmp_path), workers=3, threads=2,
                           postgresql_url='', zaqar_venv=str(tmp_path),
                           worker_connections=11)
    monkeypatch.setattr(tg.zaqar_ref, 'ensure_venv', lambda venv: None)
    monkeypatch.setattr(tg.zaqar_ref, 'flush_redis_db', lambda *a: None)
    for server in (tg.noop(settings, 1), tg.zaqar(settings, 2)):
        argv = ' '.join(server.argv)
        assert '--workers 3' in argv and '--threads 2' in argv
        assert '--worker-connections 11' in argv
    tg.bridge_sqlite(settings, 3)
    conf = (tmp_path / tg.BRIDGE_SQLITE / 'bridge.conf').read_text()
    assert 'workers = 3\nthreads = 2\nworker_connections = 11\n' in conf
