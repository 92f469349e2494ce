"""The no-op deliverer (the baseline of bridge-bench deliver) against the
bench's webhook receiver: every delivery it is asked for arrives exactly
once and it reports a rate; its bodies are shaped like bridge-notifier's."""

import json
import time
import uuid

from bridge.bench import noop_deliverer
from bridge.bench.receiver import Receiver
from bridge.notifier import delivery
from bridge.storage import models


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


def test_a_noop_delivery_body_matches_the_notifiers_in_fields_and_size():
    sub_id = str(uuid.uuid4())
    ours = noop_deliverer.payload('deliver-noop-abc123', sub_id, 7)
    sub = models.Subscription(
        id=sub_id, project='bench', queue='deliver-burst-10-abc123',
        subscriber='http://127.0.0.1:1/q/0', ttl=3600, options={},
        created=0.0, secret='s', confirmed=True, cursor=0)
    msg = models.Message(id=str(uuid.uuid4()), ttl=3600, created=0.0, marker=1,
                       body={'event_type': 'bench.deliver', 'seq': 7,
                             'posted': time.time()})
    theirs = delivery.webhook_payload(sub, msg)
    assert list(json.loads(ours)) == list(json.loads(theirs))
    assert json.loads(ours)['body']['seq'] == 7
    assert abs(len(ours) - len(theirs)) <= 8, (ours, theirs)
