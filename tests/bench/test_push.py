"""``bridge-bench push`` end to end on a small load: RabbitMQ, a real
bridge-listener and bridge-api; every event reaches the bus consumer, the
long poll and the WebSocket subscription, and the parked waiters are all
held and answered."""

from __future__ import annotations

import re

from bridge.bench import cli
from tests.listeners.conftest import RABBIT_URL


def test_push_reports_every_event_at_every_client_and_the_waiters(capsys):
    status = cli.main(['push', '--transport-url', RABBIT_URL, '--rate', '50',
                       '--duration', '1', '--waiters', '50'])
    out = capsys.readouterr().out
    assert status == 0, out
    for client in ('bus', 'long-poll', 'websocket'):
        line = next(x for x in out.splitlines() if x.startswith(client))
        assert re.search(r'received +50 of 50 +p50 +[0-9.]+ ms +p99', line), out
    assert re.search(r'held 50 of 50;.*; 50 answered within', out), out
