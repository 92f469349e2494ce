"""``bridge-bench ingest`` on the test RabbitMQ vhost, with a few hundred
notifications: every target handles all of them (bridge as bridge-listener
runs it, with its store process, and in-process) and the table gives each
rate as a ratio of the no-op listener's. Rates themselves are not checked
here: speed is measured by the bench, not by tests."""

from __future__ import annotations

import re

from bridge.bench import cli
from tests.listeners.conftest import RABBIT_URL


def test_ingest_bench_reports_bridge_against_the_noop_listener(capsys):
    targets = ['noop', 'bridge-sqlite', 'bridge-sqlite-inprocess']
    assert cli.main(['ingest', '--count', '300', '--rounds', '1',
                     '--transport-url', RABBIT_URL,
                     '--targets', ','.join(targets)]) == 0
    out = capsys.readouterr().out
    table = out.split('vs noop', 1)[1].splitlines()
    rows = {line.split()[0]: line.split() for line in table
            if line.split() and line.split()[0] in targets}
    assert sorted(rows) == sorted(targets), out
    assert rows['noop'][2] == '100%'
    for target in targets:
        assert float(rows[target][1]) > 0
        assert re.fullmatch(r'\d+%', rows[target][2]), rows[target]
