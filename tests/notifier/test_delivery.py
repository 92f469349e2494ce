"""The notifier delivering webhooks from SQLite storage to a real HTTP
receiver: completeness, order, signatures, retries, final failures,
filters, confirmation, graceful stop and lost leases."""

import json
import logging
import threading
import time

from bridge.notifier import formats, signing
from bridge.notifier.service import NotifierService
from bridge.storage import models
from tests.notifier.conftest import (EVENT, make_conf, post, subscribe,
                                     wait_until)


def seqs(requests):
    return [r.json['body']['seq'] for r in requests]


def test_every_message_reaches_every_subscriber_once_in_order_and_signed(
        receiver, store, project, sqlite_url, run_notifier):
    subs = [subscribe(store, project, 'q', receiver.url('/%d' % i))
            for i in range(3)]
    post(store, project, 'q', 10)
    run_notifier(make_conf(sqlite_url), store)
    post(store, project, 'q', 10, start=10)
    for i, sub in enumerate(subs):
        got = receiver.wait_for(20, '/%d' % i)
        assert seqs(got) == list(range(20))
        for request in got:
            assert signing.verify(sub.secret, request.body,
                                  request.headers['x-bridge-signature'])
            doc = request.json
            assert doc['Message_Type'] == 'Notification'
            assert doc['queue_name'] == 'q'
            assert doc['subscription_id'] == sub.id
            assert doc['ttl'] == 3600 and doc['body']['event_type'] == EVENT
            assert request.headers['content-type'] == 'application/json'
    ids = [r.json['message_id'] for r in receiver.received('/0')]
    assert len(set(ids)) == 20
    assert len(receiver.received()) == 60  # nothing twice


def test_a_5xx_answer_is_retried_until_delivered_in_order(
        receiver, store, project, sqlite_url, run_notifier):
    sub = subscribe(store, project, 'q', receiver.url('/a'))
    receiver.fail('/a', 3, 503)
    post(store, project, 'q', 5)
    run_notifier(make_conf(sqlite_url), store)
    assert seqs(receiver.wait_for(5, '/a')) == [0, 1, 2, 3, 4]
    assert seqs(receiver.received('/a')[:4]) == [0, 0, 0, 0]
    state = wait_until(lambda: (lambda s: s if s.last_success else None)(
        store.get_subscription(project, 'q', sub.id)))
    assert (state.failures, state.last_error) == (0, 'HTTP 503')


def test_a_receiver_slower_than_the_read_timeout_gets_the_message_again(
        receiver, store, project, sqlite_url, run_notifier):
    subscribe(store, project, 'q', receiver.url('/a'))
    receiver.slow('/a', 1, seconds=1.5)  # read_timeout is 0.5 s
    post(store, project, 'q', 3)
    run_notifier(make_conf(sqlite_url), store)
    assert seqs(receiver.wait_for(3, '/a')) == [0, 1, 2]
    assert seqs(receiver.received('/a'))[:2] == [0, 0]


def test_a_400_is_final_recorded_and_logged_and_delivery_moves_on(
        receiver, store, project, sqlite_url, run_notifier, caplog):
    caplog.set_level(logging.WARNING, logger='bridge.notifier')
    sub = subscribe(store, project, 'q', receiver.url('/a'))
    receiver.fail('/a', 1, 400)
    ids = post(store, project, 'q', 3)
    run_notifier(make_conf(sqlite_url), store)
    assert seqs(receiver.wait_for(2, '/a')) == [1, 2]
    assert seqs(receiver.received('/a')) == [0, 1, 2]  # no retry of 0
    state = store.get_subscription(project, 'q', sub.id)
    assert state.last_error == 'HTTP 400' and state.failures == 0
    [record] = [r for r in caplog.records if ids[0] in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert sub.id in record.getMessage() and 'HTTP 400' in record.getMessage()


def test_when_retries_run_out_the_message_is_given_up_and_logged(
        receiver, store, project, sqlite_url, run_notifier, caplog):
    caplog.set_level(logging.WARNING, logger='bridge.notifier')
    sub = subscribe(store, project, 'q', receiver.url('/a'),
                    _retry_policy={'max_retries': 2})
    receiver.fail('/a', 3, 500)
    ids = post(store, project, 'q', 2)
    run_notifier(make_conf(sqlite_url), store)
    assert seqs(receiver.wait_for(1, '/a')) == [1]
    assert seqs(receiver.received('/a')) == [0, 0, 0, 1]
    state = store.get_subscription(project, 'q', sub.id)
    assert state.last_error == 'gave up after 3 attempts: HTTP 500'
    [record] = [r for r in caplog.records if ids[0] in r.getMessage()]
    assert record.levelno == logging.ERROR


def test_retry_after_sets_the_time_of_the_next_attempt(
        receiver, store, project, sqlite_url, run_notifier):
    subscribe(store, project, 'q', receiver.url('/a'))
    receiver.fail('/a', 1, 429, retry_after='1')
    post(store, project, 'q', 1)
    run_notifier(make_conf(sqlite_url, max_retry_delay=5.0), store)
    receiver.wait_for(1, '/a')
    first, second = receiver.received('/a')
    assert second.received - first.received >= 0.95


def test_event_type_filters_pick_the_messages_a_subscriber_gets(
        receiver, store, project, sqlite_url, run_notifier):
    picky = subscribe(store, project, 'q', receiver.url('/picky'),
                      event_types=['compute.instance.*', 'image.delete'])
    subscribe(store, project, 'q', receiver.url('/all'))
    for i, event in enumerate(['compute.instance.create.end', 'volume.create',
                               'image.delete', 'compute.instance.delete.end',
                               'image.update']):
        post(store, project, 'q', 1, event_type=event, start=i)
    store.post_messages(project, 'q',
                        [models.NewMessage(body='not an object', ttl=60)])
    run_notifier(make_conf(sqlite_url), store)
    assert len(receiver.wait_for(6, '/all')) == 6
    got = receiver.wait_for(3, '/picky')
    assert seqs(got) == [0, 2, 3]
    # Filtered-out messages are handled too: the cursor reaches the end.
    wait_until(lambda: store.get_subscription(project, 'q', picky.id).cursor
               == store.queue_stats(project, 'q').newest.marker,
               what='the cursor to pass the filtered messages')
    time.sleep(0.2)
    assert len(receiver.received('/picky')) == 3


def test_an_unconfirmed_subscriber_gets_one_confirmation_request_only(
        receiver, store, project, sqlite_url, run_notifier):
    conf = make_conf(sqlite_url, require_confirmation=True,
                     public_endpoint='https://bridge.example.org/')
    sub = store.create_subscription(project, 'q', receiver.url('/a'),
                                    ttl=3600, options={}, secret='k',
                                    confirmed=False)
    post(store, project, 'q', 2)
    run_notifier(conf, store)
    [request] = receiver.wait_for(1, '/a')
    doc = request.json
    assert doc['Message_Type'] == 'SubscriptionConfirmation'
    assert doc['confirmation_url'] == (
        'https://bridge.example.org/v2/queues/q/subscriptions/%s/confirm'
        % sub.id)
    assert signing.verify('k', request.body,
                          request.headers['x-bridge-signature'])
    post(store, project, 'q', 2, start=2)
    time.sleep(0.3)
    assert len(receiver.received('/a')) == 1  # nothing before confirmation
    store.update_subscription(project, 'q', sub.id, confirmed=True)
    post(store, project, 'q', 1, start=4)
    assert seqs(receiver.wait_for(2, '/a')[1:]) == [4]


def test_a_new_address_must_be_confirmed_again(
        receiver, store, project, sqlite_url, run_notifier):
    conf = make_conf(sqlite_url, require_confirmation=True)
    sub = store.create_subscription(project, 'q', receiver.url('/old'),
                                    ttl=3600, options={}, secret='k',
                                    confirmed=True)
    run_notifier(conf, store)
    post(store, project, 'q', 1)
    assert seqs(receiver.wait_for(1, '/old')) == [0]
    store.update_subscription(project, 'q', sub.id,
                              subscriber=receiver.url('/new'))
    post(store, project, 'q', 1, start=1)
    assert receiver.wait_for(1, '/new'), 'no confirmation request sent'
    time.sleep(0.3)
    # Confirmation requests are delivered at least once, like messages; the
    # new address gets nothing else until it is confirmed.
    kinds = {r.json['Message_Type'] for r in receiver.received('/new')}
    assert kinds == {'SubscriptionConfirmation'}
    assert len(receiver.received('/old')) == 1


def test_a_subscription_unconfirmed_by_its_tenant_gets_nothing_until_confirmed(
        receiver, store, project, sqlite_url, run_notifier):
    sub = subscribe(store, project, 'q', receiver.url('/a'))
    store.update_subscription(project, 'q', sub.id, confirmed=False)
    run_notifier(make_conf(sqlite_url), store)  # no confirmation required
    post(store, project, 'q', 2)
    time.sleep(0.3)
    assert receiver.received('/a') == []
    store.update_subscription(project, 'q', sub.id, confirmed=True)
    post(store, project, 'q', 1, start=2)
    assert seqs(receiver.wait_for(1, '/a')) == [2]


def test_the_queue_retry_policy_applies_to_its_subscriptions(
        receiver, store, project, sqlite_url, run_notifier):
    store.create_queue(project, 'q', {'_retry_policy': {'max_retries': 0}})
    sub = subscribe(store, project, 'q', receiver.url('/a'))
    receiver.fail('/a', 1, 500)
    post(store, project, 'q', 2)
    run_notifier(make_conf(sqlite_url), store)
    assert seqs(receiver.wait_for(1, '/a')) == [1]
    assert seqs(receiver.received('/a')) == [0, 1]  # 0 tried once only
    assert store.get_subscription(project, 'q', sub.id).last_error == \
        'gave up after 1 attempt: HTTP 500'


def test_stop_finishes_the_message_in_flight_records_it_and_releases(
        receiver, store, project, sqlite_url):
    sub = subscribe(store, project, 'q', receiver.url('/a'))
    receiver.delay = 0.3
    post(store, project, 'q', 10)
    notifier = NotifierService(make_conf(sqlite_url), store)
    thread = threading.Thread(target=notifier.run)
    thread.start()
    receiver.wait_for(2, '/a', accepted=False)
    notifier.stop()
    thread.join(10)
    assert not thread.is_alive()
    got = receiver.received('/a')
    time.sleep(0.4)
    assert receiver.received('/a') == got  # nothing after the stop
    state = store.get_subscription(project, 'q', sub.id)
    newest = store.list_messages(project, 'q', limit=10, echo=True)
    assert state.cursor == newest.messages[len(got) - 1].marker
    # Released: another notifier can take it over at once.
    [taken] = store.lease_subscriptions('other', lease_seconds=5, limit=5)
    assert taken.id == sub.id


def test_a_run_stops_when_another_notifier_took_the_lease(
        receiver, store, project, sqlite_url):
    subscribe(store, project, 'q', receiver.url('/a'))
    post(store, project, 'q', 3)
    conf = make_conf(sqlite_url)
    [mine] = store.lease_subscriptions('me', lease_seconds=5, limit=1)
    # My lease expires (as if I had hung) and another notifier takes it.
    [theirs] = store.lease_subscriptions('them', lease_seconds=5, limit=1,
                                         now=time.time() + 10)
    notifier = NotifierService(conf, store, owner='me')
    summary = notifier.deliverer.run(mine)
    assert summary.lease_lost
    assert seqs(receiver.received('/a')) == [0]  # the one in flight only
    assert store.get_subscription(project, 'q', mine.id).cursor == mine.cursor
    notifier.webhooks.close()


def test_payload_is_zaqar_shaped_plus_ids():
    sub = models.Subscription(id='s', project='p', queue='q', subscriber='x',
                            ttl=1, options={}, created=0, secret='k',
                            confirmed=True, cursor=0)
    msg = models.Message(id='m', body={'a': 1}, ttl=60, created=0, marker=1)
    assert json.loads(formats.message_body(sub, msg)) == {
        'body': {'a': 1}, 'ttl': 60, 'queue_name': 'q',
        'Message_Type': 'Notification', 'message_id': 'm',
        'subscription_id': 's'}
