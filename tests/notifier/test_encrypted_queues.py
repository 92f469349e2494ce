"""Subscribers of a queue encrypted at rest receive the bodies as posted;
a key the notifier lacks is one clear ERROR line, not a traceback."""

from __future__ import annotations

import logging

from bridge.storage.codec import BodyCodec
from tests.notifier.conftest import (make_conf, post, subscribe,
                                     wait_until)

KEYS = {'k1': b'k' * 32}


def seqs(requests):
    return [r.json['body']['seq'] for r in requests]


def test_webhooks_receive_the_opened_bodies_of_an_encrypted_queue(
        receiver, store, project, sqlite_url, run_notifier):
    store.codec = BodyCodec(KEYS)
    store.create_queue(project, 'q', {'_enable_encrypt_messages': True})
    subscribe(store, project, 'q', receiver.url('/a'))
    post(store, project, 'q', 3)
    run_notifier(make_conf(sqlite_url), store)
    assert seqs(receiver.wait_for(3, '/a')) == [0, 1, 2]


def test_a_missing_key_is_logged_once_per_attempt_without_traceback(
        receiver, store, project, sqlite_url, run_notifier, caplog):
    caplog.set_level(logging.ERROR, logger='bridge.notifier')
    store.codec = BodyCodec(KEYS)
    store.create_queue(project, 'q', {'_enable_encrypt_messages': True})
    sub = subscribe(store, project, 'q', receiver.url('/a'))
    post(store, project, 'q', 1)
    store.codec = BodyCodec({'k2': b'2' * 32})
    run_notifier(make_conf(sqlite_url), store)
    record = wait_until(lambda: next(
        (r for r in caplog.records if sub.id in r.getMessage()), None),
        what='the error record')
    assert record.levelno == logging.ERROR and record.exc_info is None
    assert "key 'k1'" in record.getMessage()
    assert receiver.received('/a') == []
