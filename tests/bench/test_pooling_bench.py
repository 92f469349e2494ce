"""``bridge-bench pooling`` runs the facade and the bare driver side by
side on a real SQLite file and prints both rates and their ratio, leaving
no pool behind."""

from __future__ import annotations

import re

from bridge.bench import cli


def test_pooling_bench_prints_ratios_against_the_bare_driver(capsys):
    assert cli.main(['pooling', '--count', '40', '--chunk', '10',
                     '--backends', 'sqlite']) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if 'ratio' in line]
    assert [line.split(':')[0].strip() for line in lines] == [
        'no pools', 'on a pool']
    for line in lines:
        ratios = [float(r) for r in re.findall(r'ratio (\d+\.\d+)', line)]
        assert len(ratios) == 2 and all(r > 0 for r in ratios)


def test_an_unknown_backend_is_refused(capsys):
    assert cli.main(['pooling', '--count', '10', '--backends', 'redis']) == 2
