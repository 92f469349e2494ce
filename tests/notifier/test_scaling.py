"""Several notifiers over one storage: they share the work without ever
sending a subscription's messages at the same time, and a notifier killed
with SIGKILL mid-delivery loses nothing (its in-flight message may be sent
again, nothing else)."""

import os
import signal
import subprocess
import sys
import time

from bridge import storage as bridge_storage
from tests.notifier.conftest import make_conf, post, subscribe, wait_until

NOTIFIER = os.path.join(os.path.dirname(sys.executable), 'bridge-notifier')


def seqs(requests):
    return [r.json['body']['seq'] for r in requests]


def test_two_notifiers_share_the_work_and_never_overlap_on_a_subscription(
        receiver, store, project, sqlite_url, run_notifier):
    receiver.delay = 0.005
    paths = ['/%d' % i for i in range(6)]
    for path in paths:
        subscribe(store, project, 'q', receiver.url(path))
    conf = make_conf(sqlite_url, threads=2)
    other = bridge_storage.from_url(sqlite_url, conf)
    try:
        first = run_notifier(conf, store)
        second = run_notifier(conf, other)
        for batch in range(6):
            post(store, project, 'q', 5, start=5 * batch)
            time.sleep(0.05)
        for path in paths:
            assert seqs(receiver.wait_for(30, path)) == list(range(30))
        assert len(receiver.received()) == 6 * 30  # nothing twice
        assert max(receiver.max_in_flight[p] for p in paths) == 1
        first.stop()
        second.stop()
        delivered = [n.service.counters['delivered'] for n in (first, second)]
        assert min(delivered) > 0 and sum(delivered) == 6 * 30
    finally:
        other.close()


def _write_config(tmp_path, sqlite_url):
    path = tmp_path / 'notifier.conf'
    path.write_text(
        '[DEFAULT]\n'
        'log_file = %s\n'
        '[storage]\n'
        'url = %s\n'
        '[notifier]\n'
        'allowed_subscriber_hosts = 127.0.0.1,localhost\n'
        'lease_seconds = 1\n'
        'poll_interval = 0.02\n'
        'connect_timeout = 0.3\n'
        'read_timeout = 0.5\n'
        'min_retry_delay = 0.05\n'
        'max_retry_delay = 0.5\n'
        'threads = 4\n' % (tmp_path / 'notifier.log', sqlite_url))
    return str(path)


def test_sigkill_mid_delivery_loses_nothing_and_repeats_only_the_in_flight(
        receiver, store, project, sqlite_url, tmp_path):
    count, paths = 40, ['/a', '/b', '/c']
    for path in paths:
        subscribe(store, project, 'q', receiver.url(path))
    post(store, project, 'q', count)
    receiver.delay = 0.03  # every delivery is in flight for a while
    config = _write_config(tmp_path, sqlite_url)

    def start():
        return subprocess.Popen([NOTIFIER, '--config-file', config],
                                stdin=subprocess.DEVNULL)

    kills = 0
    proc = start()
    try:
        for target in (10, 45):
            wait_until(lambda target=target: len(receiver.received()) >= target,
                       timeout=30, what='%d deliveries' % target)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
            proc = start()
        for path in paths:
            wait_until(lambda path=path: set(seqs(receiver.accepted(path)))
                       == set(range(count)), timeout=30,
                       what='every message at %s' % path)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    duplicates = 0
    for path in paths:
        got = seqs(receiver.received(path))
        # Every message, in order; a message only repeats right after
        # itself (the one in flight when the notifier died).
        deduped = [s for i, s in enumerate(got) if i == 0 or s != got[i - 1]]
        assert deduped == list(range(count)), path
        repeats = len(got) - count
        assert repeats <= kills, (path, got)
        duplicates += repeats
    print('SIGKILL test: %d kills, %d duplicate deliveries over %d '
          'subscribers' % (kills, duplicates, len(paths)))
    assert proc.returncode == 0  # the last one stopped cleanly on SIGTERM
