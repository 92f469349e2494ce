"""A webhook whose host did not resolve when it was subscribed (accepted,
as in Zaqar) is still held to the SSRF guard at delivery: while the name
does not resolve the message is retried and nothing is sent; once it
resolves to a forbidden address the message is given up on, and nothing
is ever sent there."""

import ipaddress

from oslo_config import cfg

from bridge import conf as bridge_conf
from bridge.api import subscription_validation
from bridge.notifier import subscriber
from tests.notifier.conftest import make_conf, post, wait_until

HOST = 'hook.bridge-test.invalid'  # never resolves (RFC 6761)


def api_limits() -> subscription_validation.SubscriptionLimits:
    conf = cfg.ConfigOpts()
    bridge_conf.register_opts(conf)
    conf([], project='bridge-test', default_config_files=[],
         default_config_dirs=[])
    return subscription_validation.SubscriptionLimits.from_conf(conf)


def test_an_unresolved_subscriber_is_retried_then_refused_when_internal(
        receiver, store, project, sqlite_url, run_notifier, monkeypatch):
    url = 'http://%s:%d/a' % (HOST, receiver.port)
    new = subscription_validation.new_subscription({'subscriber': url},
                                                   api_limits())
    sub = store.create_subscription(project, 'q', new.subscriber, ttl=3600,
                                    options={}, secret='k', confirmed=True)
    post(store, project, 'q', 1)
    run_notifier(make_conf(sqlite_url, allowed_subscriber_hosts=[],
                           max_retries=1000), store)

    def state(predicate):
        def check():
            current = store.get_subscription(project, 'q', sub.id)
            return current if predicate(current) else None
        return wait_until(check, what='subscription state')

    retrying = state(lambda s: s.failures >= 2)
    assert 'cannot resolve the host' in retrying.last_error
    assert retrying.cursor == sub.cursor  # the message is still due

    real_resolve = subscriber.resolve

    def resolve(host, port):
        if host == HOST:  # the name now points at the receiver (loopback)
            return [ipaddress.ip_address('127.0.0.1')]
        return real_resolve(host, port)
    monkeypatch.setattr(subscriber, 'resolve', resolve)

    given_up = state(lambda s: s.failures == 0 and s.last_error
                     and 'destination refused' in s.last_error)
    assert 'loopback' in given_up.last_error
    assert given_up.cursor > sub.cursor  # given up for good, not retried
    assert receiver.received() == []
