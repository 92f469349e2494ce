"""bridge-bench deliver: a one-second run end to end (receiver process,
the no-op deliverer baseline, one bridge-notifier on SQLite, steady and
burst phases) prints a table with every delivery made and none twice, the
baseline's rate, and each burst rate as a share of it."""

import re

from bridge.bench import cli


def _short_run(capsys):
    code = cli.main(['deliver', '--duration', '1', '--rate', '100',
                     '--burst', '40', '--subscribers', '1,4',
                     '--notifiers', '1', '--threads', '4'])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_a_short_deliver_run_reports_rates_latencies_no_duplicates_and_the_baseline(
        capsys):
    out = _short_run(capsys)
    rows = [line.split() for line in out.splitlines()
            if line.startswith('sqlite ') and len(line.split()) == 10]
    assert [row[1] for row in rows] == ['1', '4'], out
    for row in rows:
        assert float(row[3]) > 0          # steady deliveries/s
        assert float(row[5]) > 0          # p99 ms
        assert float(row[7]) > 0          # burst deliveries/s
        assert row[9] == '0'              # duplicates
    assert 'only' not in out              # nothing left undelivered

    # The baseline: measured once, 1 x 4 threads, at least 3000 deliveries,
    # all of them received.
    baseline = re.findall(
        r'^no-op deliverer: +(\d+) deliveries/s +\(1 x 4 threads, '
        r'(\d+) deliveries, no storage\)$', out, re.M)
    assert len(baseline) == 1, out
    rate, deliveries = float(baseline[0][0]), int(baseline[0][1])
    assert rate > 0 and deliveries >= 3000, out
    assert 'delivered)' not in out, out

    # One ratio line per burst, against that same baseline rate.
    ratios = re.findall(
        r'^sqlite at (\d+) subscribers: burst (\d+)/s = (\d+)% of the '
        r'no-op deliverer \((\d+)/s\)$', out, re.M)
    assert [r[0] for r in ratios] == ['1', '4'], out
    for _, burst, pct, base in ratios:
        assert float(base) == rate
        assert abs(int(pct) - 100 * float(burst) / rate) <= 1.5  # rounding
