"""The no-op deliverer (the baseline of bridge-bench deliver) against the
bench's webhook receiver: every delivery it is asked for arrives exactly
once and it reports a rate."""

from bridge.bench import noop_deliverer
from bridge.bench.receiver import Receiver


def test_the_noop_deliverer_delivers_exactly_the_count_asked_for_and_reports_a_rate():
    with Receiver() as receiver:
        baseline = noop_deliverer.measure(receiver, processes=2, threads=3,
                                          deliveries=301)
        assert receiver.take()['latencies'] == []   # nothing arrived after
    assert (baseline.processes, baseline.threads) == (2, 3)
    assert baseline.expected == 301
    assert baseline.delivered == 301                # counted by the receiver
    assert baseline.duplicates == 0
    assert baseline.rate > 0
