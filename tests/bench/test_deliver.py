"""bridge-bench deliver: a one-second run end to end (receiver process,
one bridge-notifier on SQLite, steady and burst phases) prints a table
with every delivery made and none twice."""

from bridge.bench import cli


def test_a_short_deliver_run_reports_rates_latencies_and_no_duplicates(
        capsys):
    code = cli.main(['deliver', '--duration', '1', '--rate', '100',
                     '--burst', '40', '--subscribers', '1,4',
                     '--notifiers', '1', '--threads', '4'])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = [line.split() for line in out.splitlines()
            if line.startswith('sqlite ') and len(line.split()) == 10]
    assert [row[1] for row in rows] == ['1', '4'], out
    for row in rows:
        assert float(row[3]) > 0          # steady deliveries/s
        assert float(row[5]) > 0          # p99 ms
        assert float(row[7]) > 0          # burst deliveries/s
        assert row[9] == '0'              # duplicates
    assert 'only' not in out              # nothing left undelivered
