"""bridge-bench: argument parsing, result reading and verdicts, and one
second of the real wrk workload script against the no-op app (this proves
the Lua script parses, keeps its post/claim/delete cycle and reports)."""

import json
import tempfile

import pytest

from bridge import conf as bridge_conf
from bridge.bench import api
from bridge.bench import api_report
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
    assert args.rounds == 3
    assert args.connections == 32
    # Every target runs with bridge-api's own [api] defaults.
    assert (args.workers, args.threads) == (_api_default('workers'),
                                            _api_default('threads'))
    assert api.selected_targets(args) == [tg.NOOP_1, tg.NOOP_2, tg.ZAQAR,
                                          tg.BRIDGE_SQLITE,
                                          tg.BRIDGE_POSTGRESQL]
    assert args.postgresql_url == 'postgresql://postgres@127.0.0.1:5432/bridge_bench'
    assert (api.QUEUES, api.POSTS_PER_CYCLE, api.CLAIM_LIMIT) == (4, 5, 5)


def test_targets_subset_is_measured_in_canonical_order_and_skip_zaqar_drops_it():
    args = _parse('--targets', 'bridge-sqlite,zaqar,noop-1w', '--skip-zaqar',
                  '--duration', '5s')
    assert api.selected_targets(args) == [tg.NOOP_1, tg.BRIDGE_SQLITE]
    assert args.duration == 5.0


@pytest.mark.parametrize('argv', [['--targets', 'nosuch'], ['--targets', ','],
                                  ['--connections', '0'], ['--duration', '-1'],
                                  ['--rounds', '0']])
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


def _at(rate, **counts):
    """A fabricated 2-second wrk result at ``rate`` req/s."""
    ok = wrk.parse_output(_result_line(**counts))
    return wrk.WrkResult(**{**ok.__dict__, 'requests': int(rate * 2)})


def _rounds(*per_round):
    """Rounds from {target: rate or Outcome} dicts, in that order."""
    return [api_report.Round(number, 1.0 + number / 10, {
        name: value if isinstance(value, api_report.Outcome)
        else api_report.Outcome(name, _at(value)) for name, value in rates.items()})
        for number, rates in enumerate(per_round, 1)]


def test_report_states_ratios_against_ceiling_and_zaqar_and_p99():
    rounds = _rounds({tg.NOOP_1: 10000, tg.NOOP_2: 8000, tg.ZAQAR: 400,
                      tg.BRIDGE_SQLITE: 3000, tg.BRIDGE_POSTGRESQL: 1000})
    text = '\n'.join(api.report(rounds, _parse('--rounds', '1')))
    assert ('bridge-sqlite: 30% of the ceiling (round 30%; target >= 30%: '
            'met), 7.5x Zaqar (round 7.5x; target >= 6x: met), p99 7.0 ms '
            '(target <= 30 ms: met)') in text
    assert ('bridge-postgresql: 10% of the ceiling (round 10%; target >= '
            '20%: MISSED), 2.5x Zaqar (round 2.5x; target >= 4x: MISSED)'
            ) in text


def test_the_ceiling_of_a_round_is_its_fastest_noop_target():
    rounds = _rounds({tg.NOOP_1: 9000, tg.NOOP_2: 12000,
                      tg.BRIDGE_SQLITE: 3000},
                     {tg.NOOP_1: 11000, tg.NOOP_2: 10000,
                      tg.BRIDGE_SQLITE: 3300})
    assert api_report.rates(rounds, api_report.CEILING) == [12000, 11000]
    assert api_report.ratios(rounds, tg.BRIDGE_SQLITE,
                             api_report.CEILING) == [0.25, 0.3]


# The machine is ~25% faster in round 2 and ~25% slower in round 3.
DRIFTING = ({tg.NOOP_1: 8000, tg.ZAQAR: 800, tg.BRIDGE_SQLITE: 2320},
            {tg.NOOP_1: 10000, tg.ZAQAR: 1220, tg.BRIDGE_SQLITE: 3050},
            {tg.NOOP_1: 6000, tg.ZAQAR: 600, tg.BRIDGE_SQLITE: 1980})


def test_verdict_is_the_median_of_ratios_taken_within_each_round():
    rounds = _rounds(*DRIFTING)
    ceiling = api_report.ratios(rounds, tg.BRIDGE_SQLITE, api_report.CEILING)
    assert [round(r, 3) for r in ceiling] == [0.29, 0.305, 0.33]
    assert api_report.median(ceiling) == pytest.approx(0.305)
    # Not the ratio of the median rates (2320 / 8000 = 29%: MISSED).
    text = '\n'.join(api.report(rounds, _parse()))
    assert ('bridge-sqlite: 30% of the ceiling (rounds 29%, 30%, 33%; '
            'target >= 30%: met), 2.9x Zaqar (rounds 2.9x, 2.5x, 3.3x; '
            'target >= 6x: MISSED)') in text


def test_median_of_an_even_number_of_rounds_is_the_mean_of_the_middle_two():
    assert api_report.median([0.5, 0.7]) == pytest.approx(0.6)
    assert api_report.median([None, 0.7, None]) == 0.7
    assert api_report.median([None]) is None


def test_table_lists_each_rounds_rate_the_median_and_summed_counts():
    rounds = _rounds(*DRIFTING)
    row = next(line for line in api.report(rounds, _parse())
               if line.startswith(tg.BRIDGE_SQLITE))
    # round 1..3, median, p50, p99, then counts summed over 3 rounds.
    assert row.split()[1:10] == ['2320', '3050', '1980', '2320', '1.5', '7.0',
                                 '150', '27', '3']
    assert row.endswith('  ok')
    assert api_report.latency_round(rounds, tg.BRIDGE_SQLITE).number == 1


def test_load_average_of_every_round_is_in_the_header():
    text = '\n'.join(api.report(_rounds(*DRIFTING), _parse()))
    assert ('load average (1 min) at the start of each round: '
            '1: 1.10, 2: 1.20, 3: 1.30') in text
    assert '20s per target in 3 rounds (7s + 7s + 6s)' in text


def test_a_failure_in_one_round_makes_the_target_failed_overall():
    broken = api_report.Outcome(tg.BRIDGE_SQLITE, _at(3050, delete_failed=2))
    rounds = _rounds(DRIFTING[0], {**DRIFTING[1], tg.BRIDGE_SQLITE: broken},
                     DRIFTING[2])
    assert api_report.failed(rounds, tg.BRIDGE_SQLITE)
    assert api_report.failed_rounds(rounds, tg.BRIDGE_SQLITE) == [2]
    assert not api_report.failed(rounds, tg.NOOP_1)
    text = '\n'.join(api.report(rounds, _parse()))
    assert 'FAILED (round 2)' in text
    assert 'bridge-sqlite (round 2) FAILED: 2 delete failed' in text
    doc = api_report.as_json(rounds, {})
    assert doc['targets'][tg.BRIDGE_SQLITE]['failed'] is True
    assert doc['targets'][tg.NOOP_1]['failed'] is False


def test_a_round_without_the_ceiling_is_left_out_of_the_median_ratio():
    down = api_report.Outcome(tg.NOOP_1, error='noop did not answer')
    rounds = _rounds(DRIFTING[0], {**DRIFTING[1], tg.NOOP_1: down},
                     DRIFTING[2])
    ceiling = api_report.ratios(rounds, tg.BRIDGE_SQLITE, api_report.CEILING)
    assert ceiling[1] is None
    assert api_report.median(ceiling) == pytest.approx((0.29 + 0.33) / 2)
    assert api_report.failed(rounds, tg.NOOP_1)
    text = '\n'.join(api.report(rounds, _parse()))
    assert '(rounds 29%, -, 33%; target >= 30%: met)' in text


def test_json_holds_every_round_and_the_median_ratios():
    rounds = _rounds(*DRIFTING)
    doc = api_report.as_json(rounds, {'rounds': 3})
    assert [r['round'] for r in doc['rounds']] == [1, 2, 3]
    assert doc['rounds'][1]['targets'][tg.NOOP_1]['rate'] == 10000
    assert doc['rounds'][2]['load_average'] == 1.3
    assert doc['targets'][tg.BRIDGE_SQLITE]['rates'] == [2320, 3050, 1980]
    assert doc['targets'][tg.BRIDGE_SQLITE]['counts']['post_ok'] == 150
    ceiling = doc['ratios'][tg.BRIDGE_SQLITE]['ceiling']
    assert ceiling['median'] == pytest.approx(0.305) and ceiling['met']
    assert doc['ratios'][tg.BRIDGE_SQLITE]['p99_ms'] == {
        'value': 7.0, 'target': 30.0, 'met': True}
    assert doc['ratios'][tg.BRIDGE_SQLITE]['zaqar']['met'] is False
    json.dumps(doc)


def test_duration_is_split_into_whole_second_rounds_summing_to_it():
    assert api.round_durations(_parse()) == [7, 7, 6]
    assert api.round_durations(_parse('--rounds', '2', '--duration', '6')) == [3, 3]
    assert api.round_durations(_parse('--rounds', '1')) == [20]
    with pytest.raises(procs.BenchError):
        api.round_durations(_parse('--rounds', '3', '--duration', '2'))


def test_rounds_run_one_server_at_a_time_in_alternating_order(
        monkeypatch, capsys, tmp_path):
    """Every target is measured once per round for that round's share of
    --duration; a target that could not be measured is not retried."""
    calls = []

    def fake_measure(name, settings, wrk_bin, args, duration):
        calls.append((name, duration))
        if name == tg.BRIDGE_POSTGRESQL:
            return api_report.Outcome(name, error='PostgreSQL is down')
        return api_report.Outcome(name, _at(1000))

    monkeypatch.setattr(api, 'measure', fake_measure)
    monkeypatch.setattr(api.wrk, 'ensure_wrk', lambda: 'wrk')
    monkeypatch.setattr(api.tempfile, 'mkdtemp', lambda prefix: str(tmp_path))
    args = _parse('--skip-zaqar', '--targets',
                  'noop-1w,bridge-sqlite,bridge-postgresql', '--rounds', '3',
                  '--duration', '8')
    assert api.run(args) == 1  # bridge-postgresql FAILED
    assert calls == [(tg.NOOP_1, 3), (tg.BRIDGE_SQLITE, 3),
                     (tg.BRIDGE_POSTGRESQL, 3),
                     (tg.BRIDGE_SQLITE, 3), (tg.NOOP_1, 3),
                     (tg.NOOP_1, 2), (tg.BRIDGE_SQLITE, 2)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'round-1', 'round-2', 'round-3']  # a fresh directory per round
    out = capsys.readouterr().out
    assert 'bridge-sqlite: 100% of the ceiling (rounds 100%, 100%, 100%' in out


def test_workload_script_runs_full_cycles_against_the_noop_app():
    try:
        wrk_bin = wrk.ensure_wrk(install=False)
    except procs.BenchError as exc:
        pytest.fail('%s (the benchmark test needs Debian\'s wrk)' % exc)
    with tempfile.TemporaryDirectory() as run_dir:
        settings = tg.Settings(run_dir=run_dir, workers=1, threads=2,
                               postgresql_url='', zaqar_venv='')
        port = procs.free_port()
        with procs.running(tg.noop(settings, port, 1), timeout=30):
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


def test_targets_run_on_granian_with_their_configurations(
        tmp_path, monkeypatch):
    """bridge-api with the --workers/--threads given; the no-op app on
    granian's WSGI interface at 1 and 2 workers; Zaqar on granian x4."""
    args = _parse('--workers', '3', '--threads', '2')
    settings = tg.Settings(run_dir=str(tmp_path), workers=args.workers,
                           threads=args.threads, postgresql_url='',
                           zaqar_venv=str(tmp_path))
    monkeypatch.setattr(tg.zaqar_ref, 'ensure_venv', lambda venv: None)
    monkeypatch.setattr(tg.zaqar_ref, 'flush_redis_db', lambda *a: None)
    for name, workers in ((tg.NOOP_1, 1), (tg.NOOP_2, 2),
                          (tg.ZAQAR, tg.ZAQAR_WORKERS)):
        argv = ' '.join(tg.FACTORIES[name](settings, 1).argv)
        assert '--interface wsgi --workers %d ' % workers in argv
        assert 'granian' in argv
    tg.bridge_sqlite(settings, 3)
    conf = (tmp_path / tg.BRIDGE_SQLITE / 'bridge.conf').read_text()
    assert '[api]\nworkers = 3\nthreads = 2\n' in conf


def _slow_args(*argv):
    return cli.build_parser().parse_args(['slow-clients', *argv])


def test_slow_clients_verdict_needs_every_answer_within_the_goal(capsys):
    from bridge.bench import slowclients
    fast = slowclients.Result(baseline=[0.001] * 3,
                              under_load=[0.002, 0.150, 0.003])
    assert slowclients.report(fast, _slow_args(), 1.0) == 0
    assert 'during 3 answered, 150.0 ms worst' in capsys.readouterr().out
    slow = slowclients.Result(baseline=[0.001], under_load=[0.002, 0.250])
    assert slowclients.report(slow, _slow_args(), 1.0) == 1
    lost = slowclients.Result(baseline=[0.001], under_load=[0.002, None])
    assert slowclients.report(lost, _slow_args('--goal-ms', '1000'), 1.0) == 1
    assert 'unanswered' in capsys.readouterr().out
