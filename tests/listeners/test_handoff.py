"""The store process (bridge.listeners.handoff): a listener process hands
its batches to a forked process that translates and stores them, and acks
only what that process stored. Real processes, real signals, SQLite and a
real RabbitMQ vhost."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from bridge import emitter, translation
from bridge.listeners import endpoint as bridge_endpoint
from bridge.listeners import handoff, service
from tests.listeners.conftest import as_listener_message, make_conf
from tests.packaging.test_signals import write_rules


def _owned(samples: list[dict], count: int) -> list[dict]:
    """``count`` listener messages of events with an owner, each with a
    fresh message id."""
    owned = [s for s in samples if s['expected_project']]
    return [as_listener_message(owned[i % len(owned)], str(uuid.uuid4()))
            for i in range(count)]


def _projects(samples: list[dict]) -> list[str]:
    return sorted({s['expected_project'] for s in samples
                   if s['expected_project']})


def _stored_ids(store, projects: list[str]) -> list[str]:
    """The notification ids stored in every queue of ``projects``, one
    entry per stored message."""
    ids = []
    for owner in projects:
        for name, _ in store.list_queues(owner, limit=1000):
            marker = None
            while True:
                page = store.list_messages(owner, name, marker=marker,
                                           limit=100, echo=True,
                                           include_claimed=True)
                if not page.messages:
                    break
                ids += [m.body.get('id') for m in page.messages]
                marker = page.next_marker
    return ids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open('/proc/%d/stat' % pid) as f:
        return f.read().rsplit(')', 1)[1].split()[0] != 'Z'


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def handed(sqlite_url):
    conf = make_conf(sqlite_url, requeue_delay=0.0)
    assert conf.listener.store_in_subprocess  # the default
    endpoint, close = service.service_endpoint(conf)
    yield endpoint
    close()


@pytest.mark.parametrize('subprocess_', [True, False],
                         ids=['store-process', 'in-process'])
def test_a_batch_is_answered_once_it_is_stored(sqlite_url, store, samples,
                                               subprocess_):
    conf = make_conf(sqlite_url, store_in_subprocess=subprocess_)
    endpoint, close = service.service_endpoint(conf)
    batch = _owned(samples, 30)
    try:
        assert endpoint.info(batch) is None
        assert endpoint.counters.snapshot()['stored'] == 30
    finally:
        close()
    assert sorted(_stored_ids(store, _projects(samples))) == sorted(
        m['metadata']['message_id'] for m in batch)
    assert isinstance(endpoint, handoff.HandoffEndpoint) == subprocess_


def test_the_store_process_is_a_process_of_its_own(handed):
    assert handed.pid is not None and handed.pid != os.getpid()
    assert _alive(handed.pid)


def test_a_killed_store_process_requeues_its_batch_and_is_replaced(
        handed, store, samples):
    batch = _owned(samples, 20)
    first = handed.pid
    os.kill(first, signal.SIGKILL)
    assert _wait_gone(first, 10)

    assert handed.info(batch) == bridge_endpoint.REQUEUE
    assert handed.counters.snapshot()['requeued'] == 20
    assert handed.pid not in (None, first)
    # The bus redelivers the batch: stored now, once.
    assert handed.info(batch) is None
    assert handed.info(batch) is None
    assert sorted(_stored_ids(store, _projects(samples))) == sorted(
        m['metadata']['message_id'] for m in batch)


def test_the_store_process_ignores_sigterm_sent_to_the_whole_unit(
        handed, store, samples):
    pid = handed.pid
    os.kill(pid, signal.SIGTERM)
    os.kill(pid, signal.SIGHUP)
    time.sleep(0.3)
    assert _alive(pid)
    assert handed.info(_owned(samples, 5)) is None
    assert handed.pid == pid


def test_new_rules_reach_the_store_process(handed, samples, store,
                                          tmp_path):
    rules_file = tmp_path / 'rules.yaml'
    write_rules(rules_file, 'renamed-{service}')
    handed.use_rules(translation.load_rules(str(rules_file)))
    message = _owned(samples, 1)
    assert handed.info(message) is None
    owner = message[0]['ctxt'].get('project_id')
    stored = [(p, name) for p in _projects(samples)
              for name, _ in store.list_queues(p, limit=100)]
    assert stored and all(name.startswith('renamed-')
                          for _, name in stored), (owner, stored)


def test_the_store_process_exits_when_its_listener_is_killed(
        sqlite_url, tmp_path):
    script = tmp_path / 'listener.py'
    script.write_text(textwrap.dedent('''
        import sys, time
        sys.path.insert(0, %r)
        from tests.listeners.conftest import make_conf
        from bridge.listeners import service
        endpoint, close = service.service_endpoint(make_conf(%r))
        print(endpoint.pid, flush=True)
        time.sleep(120)
    ''' % (os.getcwd(), sqlite_url)))
    proc = subprocess.Popen([sys.executable, str(script)],
                            stdout=subprocess.PIPE, text=True)
    try:
        store_pid = int(proc.stdout.readline())
        assert _alive(store_pid)
        proc.kill()
        proc.wait(10)
        assert _wait_gone(store_pid, 10), 'the store process outlived it'
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _dead_letter_ids(store, conf) -> list[str]:
    """The notification ids in the operator dead-letter queue."""
    ids = []
    for message in store.list_messages(
            conf.listener.dead_letter_project,
            conf.listener.dead_letter_queue, limit=100, echo=True,
            include_claimed=True).messages:
        note = message.body.get('notification') or {}
        ids.append(note.get('message_id')
                   or (note.get('message') or {}).get('id'))
    return ids


def test_nothing_is_lost_when_the_store_process_dies_mid_stream(
        bus, sqlite_url, samples, store):
    """Over RabbitMQ: the store process is killed twice while
    notifications stream in; every one is still stored exactly once (in
    its owner's queue, or, should it fail there, in the dead-letter
    queue), and bridge counts none as lost."""
    owned = [s for s in samples if s['expected_project']]
    exchanges = sorted({s['exchange'] for s in owned})
    conf = make_conf(sqlite_url, topics=[bus['topic']], pool=bus['pool'],
                     exchanges=exchanges, requeue_delay=0.05,
                     batch_size=20)
    bridge = service.ListenerService(conf)
    bridge.start()
    sent = []
    try:
        with emitter.Emitter(bus['url']) as out:
            for i in range(400):
                sample = dict(owned[i % len(owned)], topic=bus['topic'],
                              message_id=str(uuid.uuid4()))
                out.publish(sample)
                sent.append(sample['message_id'])
                if i in (100, 250):
                    os.kill(bridge.endpoint.pid, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while True:
            stored = _stored_ids(store, _projects(samples))
            dead = _dead_letter_ids(store, conf)
            if len(set(stored) | set(dead)) >= len(sent):
                break
            assert time.monotonic() < deadline, (
                '%d of %d stored; counters %s' % (
                    len(set(stored) | set(dead)), len(sent),
                    bridge.endpoint.counters.snapshot()))
            time.sleep(0.2)
    finally:
        bridge.stop()
    assert sorted(stored + dead) == sorted(sent)  # each once
    counters = bridge.endpoint.counters.snapshot()
    assert counters['requeued'] > 0 and counters['lost'] == 0


def test_a_store_process_that_cannot_open_storage_requeues_without_a_traceback(
        tmp_path, samples, capfd):
    blocked = tmp_path / 'not-a-directory'
    blocked.write_text('')
    conf = make_conf('sqlite:///%s/bridge.sqlite' % blocked,
                     requeue_delay=0.0)
    # Its log line on stderr, as bridge-listener's logging setup has it.
    to_stderr = logging.StreamHandler(sys.stderr)
    handoff.LOG.logger.addHandler(to_stderr)
    try:
        endpoint, close = service.service_endpoint(conf)
        try:
            assert endpoint.info(_owned(samples, 3)) == \
                bridge_endpoint.REQUEUE
            assert endpoint.info(_owned(samples, 3)) == \
                bridge_endpoint.REQUEUE
            assert endpoint.counters.snapshot()['requeued'] == 6
        finally:
            close()
    finally:
        handoff.LOG.logger.removeHandler(to_stderr)
    err = capfd.readouterr().err
    assert 'The store process cannot start' in err
    assert 'Traceback' not in err
